import Digest
import HTTPServer
import JSON
import Jobs
import Storage
import Tuning

/// `/v1/jobs`: submit, list, read, cancel, delete; history and result.
extension RewindAPI {
    static let maximumIdempotencyKeyLength = 200

    func createJob(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let request = context.request
        try requireDeclaredLength(request)
        let key = request.headers["Idempotency-Key"]
        if let key, key.isEmpty || key.count > Self.maximumIdempotencyKeyLength {
            throw APIError(
                status: 400, slug: "invalid-idempotency-key", title: "Invalid Idempotency-Key",
                detail: "the Idempotency-Key header must be 1 to \(Self.maximumIdempotencyKeyLength) characters")
        }
        guard !isShuttingDown else {
            var headers = HTTPHeaders()
            headers.set("Retry-After", "30")
            throw APIError(
                ProblemDetails(
                    status: 503, slug: "shutting-down", title: "The service is shutting down",
                    detail: "this instance is draining and accepts no new jobs; retry shortly"),
                headers: headers)
        }
        let credential = context.credential
        let submission = try prepareSubmission(request.body, credential)
        // Admission control: a spec whose run cannot fit the job memory budget never queues.
        if let error = submission.run.memoryProblem(budget: configuration.jobMemoryBudget) {
            throw APIError(ProblemDetails(error))
        }
        let specJSON = submission.run.canonicalSpec
        let uploadedDataset = submission.dataset.uploadID
        let now = clock()
        let job = NewJob(
            id: TimeOrderedID.make(nowMs: now), name: submission.run.name, specJSON: specJSON,
            datasetID: uploadedDataset,
            progressTotal: submission.run.totalItems, owner: credential.owner,
            // Admins and single-user mode (no keys) are exempt: the cap keeps tenants apart.
            maxActiveForOwner: credential.visibleOwner == nil ? nil : configuration.maxJobsPerKey,
            // Kept, so that the queued job's GET shows what its 202 did.
            warningsJSON: submission.run.dataWarnings.isEmpty
                ? nil : JSONValue.array(submission.run.dataWarnings.map { $0.json() }).serializedString())
        let outcome = try storage {
            try store.insertJob(
                job, idempotency: key.map { ($0, SHA256.hex(of: Array(specJSON.utf8))) },
                maxQueued: configuration.maxQueuedJobs, nowMs: now)
        }
        switch outcome {
        case .created(let record):
            runner.jobQueued()
            var headers = HTTPHeaders()
            headers.set("Location", "/v1/jobs/\(record.id)")
            return .json(jobResource(record), status: .accepted, headers: headers)
        case .replayed(let record):
            var headers = HTTPHeaders()
            headers.set("Location", "/v1/jobs/\(record.id)")
            return .json(jobResource(record), status: .ok, headers: headers)
        case .keyConflict(let existing):
            throw APIError(
                status: 422, slug: "idempotency-key-reused", title: "Idempotency-Key reused with another body",
                detail: "this Idempotency-Key was used for job \(existing) with a different spec")
        case .queueFull(let queued):
            throw queueFull(queued: queued)
        case .ownerLimitReached(let active):
            throw keyJobLimit(active: active)
        case .datasetNotFound:
            // Deleted since it was resolved above.
            throw APIError(ProblemDetails.invalidSpec([DatasetReference.notFound(submission.dataset.reference)]))
        }
    }

    func listJobs(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let request = context.request
        var status: JobStatus?
        if let text = request.query("status") {
            guard let parsed = JobStatus(rawValue: text) else {
                throw .invalidQuery(
                    "status", "must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = parsed
        }
        let limit = try integerQuery(request, "limit", default: 50, range: 1...200)
        let view = try jobView(request)
        let page = try storage {
            try store.listJobs(
                status: status, owner: context.credential.visibleOwner, limit: limit,
                pageToken: request.query("page_token"))
        }
        var jobs: [JSONValue] = []
        for record in page.jobs { jobs.append(jobResource(record, view: view)) }
        return .json(["jobs": .array(jobs), "next_page_token": page.nextPageToken.map(JSONValue.string) ?? .null])
    }

    func getJob(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        .json(jobResource(try existingJob(context[capture: "id"], context)))
    }

    func jobHistory(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        _ = try existingJob(id, context)
        let after = try integerQuery(context.request, "after", default: -1, range: -1...Int(Int32.max))
        let limit = try integerQuery(context.request, "limit", default: 100, range: 1...1000)
        // Items are stored serialised: splice them in rather than parse and re-serialise. A page
        // ends at `limit` items or before the item that would take it past `historyPageBytes`,
        // whichever comes first (one item at least, however large), decided from the items'
        // sizes before any item is read; its bytes are held from the node's budget first.
        let outlines = try historyOutlines(jobID: id, after: after, limit: limit + 1)
        var page: [HistoryOutline] = []
        var bytes = 0
        for outline in outlines.prefix(limit) {
            if !page.isEmpty && bytes + outline.itemBytes + 1 > configuration.historyPageBytes { break }
            page.append(outline)
            bytes += outline.itemBytes + 1
        }
        let more = outlines.count > page.count
        let reservation = try reservePageMemory(Self.pageWorkingBytes + bytes)
        defer { reservation.release() }
        var body: [UInt8] = []
        body.reserveCapacity(bytes + 64)
        body += Array(#"{"items":["#.utf8)
        var count = 0
        try forEachHistoryRow(jobID: id, page, reservation: reservation, held: { Self.pageWorkingBytes + bytes }) {
            row throws(APIError) -> Bool in
            if count > 0 { body.append(UInt8(ascii: ",")) }
            body += row.itemJSON.utf8
            count += 1
            return true
        }
        let next = more ? page.last.map { "\($0.metaIteration)" } ?? "null" : "null"
        body += Array(#"],"next_after":\#(next)}"#.utf8)
        return .rawJSON(body)
    }

    /// The best and final items of a succeeded job; for a failed or cancelled job with history,
    /// its best so far and the last item written, marked `"partial": true`.
    func jobResult(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let record = try existingJob(context[capture: "id"], context)
        func metaIteration(_ stored: String?) -> Int? {
            stored.flatMap { try? JSONValue.parse($0)["meta_iteration"]?.intValue }
        }
        let partial = record.status == .failed || record.status == .cancelled
        // A job that `meta.patience` stopped early ends before item total − 1.
        let lastIteration = partial ? metaIteration(record.latestJSON) : record.progressDone - 1
        guard record.status == .succeeded || partial, let lastIteration else {
            let detail =
                partial
                ? "job \(record.id) is \(record.status.rawValue) before its first history item; there is no result"
                : "job \(record.id) is \(record.status.rawValue); a result exists once it succeeded (or failed or was cancelled after its first item)"
            throw .conflict("job-not-succeeded", detail)
        }
        // Read just the two items answered (a distillation job's items each carry its data set),
        // their bytes held from the node's budget before they are read.
        let bestIteration = metaIteration(record.bestJSON) ?? lastIteration
        var bytes = 0
        for iteration in [bestIteration, lastIteration] {
            guard
                let outline = try storage({
                    try store.historyOutline(jobID: record.id, after: iteration - 1, limit: 1)
                }).first(where: { $0.metaIteration == iteration })
            else { throw .storageUnavailable }
            bytes += outline.itemBytes
        }
        let reservation = try reservePageMemory(Self.pageWorkingBytes + 2 * bytes)
        defer { reservation.release() }
        func item(_ metaIteration: Int) throws(APIError) -> HistoryRow? {
            try storage { try store.history(jobID: record.id, after: metaIteration - 1, limit: 1) }
                .first { $0.metaIteration == metaIteration }
        }
        guard let final = try item(lastIteration), let best = try item(bestIteration) else { throw .storageUnavailable }
        let body = #"{"best":\#(best.itemJSON),"final":\#(final.itemJSON),"partial":\#(partial)}"#
        return .rawJSON(Array(body.utf8))
    }

    func cancelJob(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        _ = try existingJob(id, context)
        let outcome = try storage { try store.requestCancel(jobID: JobID(id), nowMs: clock()) }
        switch outcome {
        case .cancelled(let record), .alreadyCancelled(let record):
            runner.events.publish(jobID: id, .status(record.status.rawValue))
            return .json(jobResource(record), status: .accepted)
        case .cancelRequested(let record):
            runner.cancel(jobID: id)
            return .json(jobResource(record), status: .accepted)
        case .finished(let record):
            throw .conflict(
                "job-finished",
                "job \(id) already \(record.status.rawValue); only queued or running jobs can be cancelled")
        case .notFound:
            throw .notFound("no job \(id)")
        }
    }

    /// Queues a failed or cancelled job again; it resumes from its last checkpoint.
    func retryJob(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        let job = try existingJob(id, context)
        // A retry queues the job again: it counts against its owner's limit like a submission
        // (read before the retry's transaction, so concurrent retries may pass it by a few).
        if context.credential.visibleOwner != nil {
            let cap = configuration.maxJobsPerKey
            let active = try storage {
                try store.listJobs(status: .queued, owner: job.owner, limit: cap).jobs.count
                    + store.listJobs(status: .running, owner: job.owner, limit: cap).jobs.count
            }
            if active >= cap { throw keyJobLimit(active: active) }
        }
        let outcome = try storage {
            try store.retryJob(jobID: JobID(id), maxQueued: configuration.maxQueuedJobs, nowMs: clock())
        }
        switch outcome {
        case .requeued(let record):
            runner.events.publish(jobID: id, .status(record.status.rawValue))
            runner.jobQueued()
            return .json(jobResource(record), status: .accepted)
        case .notRetryable(let status):
            throw .conflict(
                "job-not-retryable", "job \(id) is \(status.rawValue); only failed or cancelled jobs can be retried")
        case .queueFull(let queued):
            throw queueFull(queued: queued)
        case .notFound:
            throw .notFound("no job \(id)")
        }
    }

    func deleteJob(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        _ = try existingJob(id, context)
        switch try storage({ try store.deleteJob(jobID: JobID(id)) }) {
        case .deleted:
            return HTTPResponse(status: .noContent)
        case .notTerminal(let status):
            throw .conflict("job-not-finished", "job \(id) is \(status.rawValue); cancel it first")
        case .notFound:
            throw .notFound("no job \(id)")
        }
    }

    // MARK: Helpers

    /// The job `id` if the caller may see it: another principal's job is 404, exactly as a
    /// missing one (403 would confirm that the id exists). A job's owner never changes, so the
    /// check also covers the cancel, retry or delete that follows it.
    func existingJob(_ id: String, _ context: RouteContext) throws(APIError) -> JobRecord {
        guard let record = try storage({ try store.job(id: id) }), context.credential.sees(record.owner) else {
            throw .notFound("no job \(id)")
        }
        return record
    }

    func integerQuery(
        _ request: HTTPRequest, _ name: String, default value: Int, range: ClosedRange<Int>
    ) throws(APIError) -> Int {
        guard let text = request.query(name) else { return value }
        guard let parsed = Int(text), range.contains(parsed) else {
            throw .invalidQuery(name, "must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return parsed
    }

    /// How much of a job a listing shows: a summary (no spec) unless `?view=full`.
    enum JobView: String {
        case summary, full
    }

    func jobView(_ request: HTTPRequest) throws(APIError) -> JobView {
        guard let text = request.query("view") else { return .summary }
        guard let view = JobView(rawValue: text) else { throw .invalidQuery("view", "must be summary or full") }
        return view
    }

    /// The job resource of docs/api.md; `.summary` leaves out the spec (which can be megabytes), so a
    /// listing of many jobs stays small.
    /// `warnings` are the submission's (what the data and spec gave reason to doubt, stored with
    /// the job) until the job's first item carries its own.
    func jobResource(_ record: JobRecord, view: JobView = .full) -> JSONValue {
        func stored(_ text: String?) -> JSONValue {
            guard let text, let value = try? JSONValue.parse(text) else { return .null }
            return value
        }
        let fraction = record.status == .succeeded ? 1 : min(1, max(0, record.progressFraction))
        var error: JSONValue = .null
        if let code = record.errorCode {
            error = ["code": .string(code), "message": .string(record.errorMessage ?? code)]
        }
        var object = JSONObject()
        object["id"] = .string(record.id)
        object["name"] = .string(record.name)
        object["status"] = .string(record.status.rawValue)
        object["created_at"] = .string(Timestamp.rfc3339(record.createdMs))
        object["started_at"] = record.startedMs.map { .string(Timestamp.rfc3339($0)) } ?? .null
        object["finished_at"] = record.finishedMs.map { .string(Timestamp.rfc3339($0)) } ?? .null
        if view == .full { object["spec"] = stored(record.specJSON) }
        object["dataset"] = namingDataset(Self.datasetMember(ofSpec: record.specJSON))
        object["progress"] = [
            "done": .number(Double(record.progressDone)), "total": .number(Double(record.progressTotal)),
            "fraction": .number(fraction),
        ]
        // The worker keeps the job's current warnings with its latest item; they belong to the job.
        var latest = stored(record.latestJSON)
        var warningsJSON = stored(record.warningsJSON)
        if case .null = warningsJSON { warningsJSON = .array([]) }
        if case .object(var member) = latest, let current = member["warnings"] {
            warningsJSON = current
            member["warnings"] = nil
            latest = .object(member)
        }
        object["latest"] = latest
        object["best"] = stored(record.bestJSON)
        object["error"] = error
        object["stopped_early"] = .bool(record.status == .succeeded && record.progressDone < record.progressTotal)
        object["cancel_requested"] = .bool(record.cancelRequested)
        object["attempt"] = .number(Double(record.attempt))
        object["warnings"] = warningsJSON
        return .object(object)
    }
}

extension RewindAPI {
    /// The `"dataset"` member of a stored spec, read from the spec's first 4 KiB without parsing the
    /// rest (a listing's summaries leave out specs that may carry megabytes of `init` arrays). The
    /// stored spec is written by this service with `dataset` second, after `name`.
    static func datasetMember(ofSpec specJSON: String) -> JSONValue {
        let head = specJSON.utf8.prefix(4096)
        let key = Array(#""dataset":"#.utf8)
        guard let start = head.firstRange(of: key)?.upperBound else { return .null }
        var depth = 0, inString = false, escaped = false
        var index = start
        while index < head.endIndex {
            let byte = head[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") {
                depth += 1
            } else if byte == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 {
                    return (try? JSONValue.parse(String(decoding: head[start...index], as: UTF8.self))) ?? .null
                }
            } else if depth == 0, byte != UInt8(ascii: " ") {
                return .null
            }
            head.formIndex(after: &index)
        }
        return .null
    }
}

extension RewindAPI {
    /// 429 with `Retry-After`: a non-admin key's queued and running jobs are at its limit.
    func keyJobLimit(active: Int) -> APIError {
        Self.tryLater(
            slug: "key-job-limit", title: "Too many jobs for this key",
            detail: "this key has \(active) jobs queued or running, its limit (--max-queued-per-key, "
                + "\(configuration.maxJobsPerKey)); retry when one has finished or cancel one")
    }

    /// 429 with `Retry-After`: the queue limit, which counts every node's queued jobs.
    func queueFull(queued: Int) -> APIError {
        Self.tryLater(
            slug: "queue-full", title: "Too many queued jobs",
            detail: "\(queued) jobs are queued (the limit is \(configuration.maxQueuedJobs)); retry later")
    }

    /// A 429 problem asking the client to come back in 30 seconds.
    private static func tryLater(slug: String, title: String, detail: String) -> APIError {
        var headers = HTTPHeaders()
        headers.set("Retry-After", "30")
        return APIError(ProblemDetails(status: 429, slug: slug, title: title, detail: detail), headers: headers)
    }
}
