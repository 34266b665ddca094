import Digest
import Foundation
import HTTPServer
import JSON
import Jobs
import Storage
import Synchronization
import Tuning

/// `POST /v1/datasets`: a CSV or a NumPy `.npz` archive parsed and validated once, at upload, sent
/// raw (`text/csv`, `curl --data-binary @file.csv`; `application/x-npz`) or as a form
/// (`multipart/form-data`, `curl -F file=@file.csv`, a file named `*.npz`).
///
/// Names are unique (for now across the service; per owner once data sets have owners), so that a
/// spec can name an upload like a built-in. The same bytes again answer the stored data set (200)
/// whatever name they come with; another content under a taken name is a 409.
extension RewindAPI {
    func uploadDataset(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let request = context.request
        try requireDeclaredLength(request)
        let boundary = request.headers["Content-Type"].flatMap(MultipartForm.boundary(contentType:))
        // A raw body is named in the query; a form may name it in a field or by its file name.
        if boundary == nil || request.query("name") != nil { try Self.checkDatasetName(request.query("name")) }
        let declaredShape = try Self.declaredShape(request.query("shape"))
        _ = try Self.isArchive(request, filename: nil)  // a bad ?format= is refused before any byte is read
        // Bound how many parse at once; each parse's working memory comes from the node's budget.
        guard uploadsInFlight.add(1, ordering: .relaxed).newValue <= configuration.maxConcurrentUploads else {
            uploadsInFlight.subtract(1, ordering: .relaxed)
            throw Self.unavailable(
                "too-many-uploads", "Too many uploads at once",
                "\(configuration.maxConcurrentUploads) data sets are being parsed; retry shortly")
        }
        defer { uploadsInFlight.subtract(1, ordering: .relaxed) }
        guard let working = configuration.memoryBudget.reserve(Self.uploadWorkingBytes, waitingAtMost: 2) else {
            throw Self.unavailable(
                "memory-exhausted", "The server is short of memory",
                "no memory to parse the data set now; retry shortly")
        }
        defer { working.release() }

        let now = clock()
        let id = TimeOrderedID.make(nowMs: now)
        let owner = context.credential.owner
        let quotaLeft = configuration.datasetStorageQuota - (try storedDatasetBytes(owner: owner))
        // Until the data set row is committed its chunks are invisible; any failure drops them.
        var committed = false
        defer { if !committed { try? store.discardDatasetChunks(id: id) } }
        let intake = DatasetIntake(store: store, id: id, quotaLeft: quotaLeft, chunkBytes: Self.datasetChunkBytes)
        let received: (name: String?, filename: String?)
        do {
            received =
                try boundary.map {
                    try receiveForm(request, boundary: $0, into: intake, credential: context.credential)
                }
                ?? receiveRaw(request, into: intake)
        } catch {
            throw uploadProblem(error, intake: intake, quotaLeft: quotaLeft)
        }
        let parsed: DatasetIntake.Parsed
        do {
            parsed = try intake.finish()
        } catch {
            throw uploadProblem(error, intake: intake, quotaLeft: quotaLeft)
        }
        let name = try Self.checkDatasetName(received.name)
        let counts =
            parsed.labelCounts + Array(repeating: 0, count: max(0, parsed.info.classes - parsed.labelCounts.count))
        if let missing = counts.firstIndex(of: 0) {
            let present = counts.indices.filter { counts[$0] > 0 }.map(String.init).joined(separator: ", ")
            let message =
                "class labels must be 0..K-1 with every class present: the labels are \(present), class \(missing) has no rows"
            throw APIError(
                status: 422, slug: "invalid-dataset", title: "The data set's labels are not 0..K-1", detail: message,
                errors: [SpecError(field: "/body", message: message)])
        }
        let shape = try Self.imageShape(declaredShape, features: parsed.info.features) ?? parsed.imageShape
        let new = NewDataset(
            id: id, name: name, rows: parsed.info.rows, features: parsed.info.features,
            classes: parsed.info.classes, sha256: parsed.sha256, content: [], owner: owner,
            profile: parsed.profile.json().serializedString(), shape: shape)
        // Check and commit under one lock: two uploads of one name cannot both pass the check.
        let outcome = try uploadNames.withLock { _ throws(APIError) -> InsertDatasetOutcome in
            let taken = try storage { try store.listDatasets(owner: new.owner) }.first {
                $0.name == name && $0.sha256 != new.sha256
            }
            if let taken {
                throw .conflict(
                    "dataset-name-taken",
                    "a data set named \(name) already exists (\(taken.id)) with other content; delete it or choose another name"
                )
            }
            return try storage { try store.commitChunkedDataset(new, chunkedBytes: parsed.encodedBytes, nowMs: now) }
        }
        committed = true
        var headers = HTTPHeaders()
        let record: DatasetRecord, status: HTTPStatus
        switch outcome {
        case .created(let created): (record, status) = (created, .created)
        case .existing(let existing): (record, status) = (existing, .ok)
        }
        headers.set("Location", "/v1/datasets/\(record.id)")
        guard case .object(var resource) = Self.datasetResource(record) else {
            preconditionFailure("a resource is an object")
        }
        resource["class_counts"] = JSONValue(counts.map(Double.init))
        // What the upload turned out to hold: the header row (if any), labels, order and ranges.
        resource["detected"] = record.profile.flatMap { try? JSONValue.parse($0) } ?? parsed.profile.json()
        return .json(.object(resource), status: status, headers: headers)
    }

    /// The working memory of one upload's parse, drawn from the node's budget: the chunk being
    /// built, the chunks waiting to be written and the engine's copy of the one being written.
    static let uploadWorkingBytes = 4 * datasetChunkBytes + (1 << 20)
    /// Rows are stored in chunks of about this many bytes.
    static let datasetChunkBytes = 1 << 20
    /// The body is hashed and parsed this many bytes at a time, so that the chunks one slice
    /// produces (up to 4× it, for one-digit values) stay within the working memory.
    static let uploadSliceBytes = 256 << 10

    /// A raw body: the file itself, named by `?name=`.
    private func receiveRaw(_ request: HTTPRequest, into intake: DatasetIntake) throws -> (String?, String?) {
        intake.start(archive: try Self.isArchive(request, filename: nil))
        try Self.readBody(request) { try intake.feed($0) }
        return (request.query("name"), nil)
    }

    /// A form, read as it arrives: its file part (the first with a file name, or named `file`)
    /// goes to `intake`; a `name` and a `csrf_token` field are kept; other parts are skipped.
    /// Returns the name to store the file under (`?name=`, the field, or the file name without
    /// its extension) and the file name.
    private func receiveForm(
        _ request: HTTPRequest, boundary: String, into intake: DatasetIntake, credential: Credential
    ) throws -> (String?, String?) {
        enum Role { case file, nameField, tokenField, skipped }
        var scanner = try MultipartScanner(boundary: boundary)
        var role = Role.skipped
        var filename: String?
        var nameField: [UInt8] = []
        var token: [UInt8] = []
        try Self.readBody(request) { piece in
            try scanner.feed(piece) { event throws in
                switch event {
                case .partStarted(let name, let file):
                    if !intake.started, file != nil || name == "file" {
                        role = .file
                        filename = file
                        intake.start(archive: try Self.isArchive(request, filename: file))
                    } else if file == nil, name == "name" {
                        role = .nameField
                    } else if file == nil, name == "csrf_token" {
                        role = .tokenField
                    } else {
                        role = .skipped
                    }
                case .data(let bytes):
                    switch role {
                    case .file: try intake.feed(bytes)
                    // Fields are small; past 4 KiB a name is refused anyway.
                    case .nameField: if nameField.count < 4096 { nameField.append(contentsOf: bytes) }
                    case .tokenField: if token.count < 4096 { token.append(contentsOf: bytes) }
                    case .skipped: break
                    }
                case .partEnded:
                    role = .skipped
                }
            }
        }
        try scanner.finish()
        guard intake.started else {
            throw APIError(
                status: 422, slug: "invalid-dataset", title: "The form has no file",
                detail: "send the CSV as a file part, e.g. curl -F file=@data.csv",
                errors: [SpecError(field: "/body", message: "no file part")])
        }
        try checkFormToken(token.isEmpty ? nil : String(decoding: token, as: UTF8.self), request, credential)
        // A form's empty name field (left blank in a browser) means "use the file name".
        let field = String(decoding: nameField, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let stem = filename.map { name -> String in
            let base = name.split(separator: "/").last.map(String.init) ?? name
            guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return base }
            return String(base[..<dot])
        }
        return (request.query("name") ?? (field.isEmpty ? nil : field) ?? stem, filename)
    }

    /// Hands the body to `piece` as it arrives (a streamed body), or a slice at a time.
    static func readBody(_ request: HTTPRequest, _ piece: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        if let stream = request.bodyStream {
            while let bytes = try stream.read() { try bytes.withUnsafeBufferPointer { try piece($0) } }
            return
        }
        try request.body.withUnsafeBufferPointer { body in
            var offset = 0
            while offset < body.count {
                let end = min(body.count, offset + uploadSliceBytes)
                try piece(UnsafeBufferPointer(rebasing: body[offset..<end]))
                offset = end
            }
        }
    }

    /// The name to store an upload under, checked: 1 to 200 characters, not a built-in's.
    @discardableResult
    static func checkDatasetName(_ name: String?) throws(APIError) -> String {
        guard let name, !name.isEmpty, name.count <= maximumDatasetNameLength else {
            throw .invalidQuery(
                "name", "is required: 1 to \(maximumDatasetNameLength) characters (or a file name in the form)")
        }
        guard !BuiltinDatasets.names.contains(name) else {
            throw .conflict("dataset-name-taken", "\(name) is a built-in data set; choose another name")
        }
        return name
    }

    /// The problem an upload's failure is answered with: 422 for a file that does not parse (CSV:
    /// its line and column), 400 for a broken form, 507 past the quota, the body's own failure
    /// (408, 400, 413, 503) when it did not arrive whole, 503 when storage failed.
    private func uploadProblem(_ error: any Error, intake: DatasetIntake, quotaLeft: Int) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as DatasetParseError:
            var message = "line \(error.line), column \(error.column): \(error.message)"
            if !intake.sawLineEnd {
                // `curl -d @file` strips newlines, leaving one line: say how to send a file.
                message +=
                    " (the body is a single line: send the file with curl --data-binary @FILE or -F file=@FILE; -d strips newlines)"
            }
            return APIError(
                ProblemDetails(
                    status: 422, slug: "invalid-dataset", title: "The data set does not parse", detail: message,
                    errors: [SpecError(field: "/body", message: message)],
                    extensions: ["line": .number(Double(error.line)), "column": .number(Double(error.column))]))
        case let error as NPZParseError:
            return APIError(
                status: 422, slug: "invalid-dataset", title: "The .npz archive is refused",
                detail: ".npz: \(error.message)", errors: [SpecError(field: "/body", message: error.message)])
        case let error as MultipartForm.Malformed:
            return APIError(
                status: 400, slug: "malformed-multipart", title: "The form does not parse", detail: error.message)
        case is DatasetIntake.QuotaExceeded:
            return quotaExceeded(stored: configuration.datasetStorageQuota - quotaLeft, adding: intake.stored)
        case let failure as RequestBodyStream.Failure:
            if failure.reason == .serverStopping {
                return Self.unavailable("server-stopping", "The server is stopping", failure.detail)
            }
            let slug = failure.reason == .timedOut ? "body-timeout" : "incomplete-body"
            return APIError(
                status: failure.status.code, slug: slug, title: "The body did not arrive whole", detail: failure.detail)
        default:
            log("storage error", ["error": "\(error)"])
            return .storageUnavailable
        }
    }

    /// Whether the body is a NumPy `.npz` archive: `Content-Type: application/x-npz`,
    /// `?format=npz`, or a form's file named `*.npz`; `?format=csv` is the default.
    static func isArchive(_ request: HTTPRequest, filename: String?) throws(APIError) -> Bool {
        switch request.query("format") {
        case "npz"?: return true
        case "csv"?: return false
        case let other?: throw .invalidQuery("format", "must be csv or npz, not \(other)")
        case nil:
            let mediaType = request.headers["Content-Type"]?.split(separator: ";").first
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            return mediaType == "application/x-npz" || filename?.lowercased().hasSuffix(".npz") == true
        }
    }

    /// `?shape=28,28,1` (an image's height, width and channels) or `?shape=784` (a table's
    /// features), or nil when absent; 422 naming `shape` when it is not one of those.
    static func declaredShape(_ text: String?) throws(APIError) -> [Int]? {
        guard let text else { return nil }
        let sizes = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard sizes.count == 1 || sizes.count == 3, sizes.allSatisfy({ ($0 ?? 0) > 0 && $0! <= 1 << 20 }) else {
            throw .invalidQuery(
                "shape", "must be height,width,channels (e.g. 28,28,1) or the feature count: positive integers")
        }
        return sizes.map { $0! }
    }

    /// The image shape to store, `[height, width, channels]`, or nil for a table; 422 naming
    /// `shape` when the declared one does not hold exactly `features` values.
    static func imageShape(_ declared: [Int]?, features: Int) throws(APIError) -> [Int]? {
        guard let declared else { return nil }
        let product = declared.reduce(1, *)  // at most 2^60: each size is at most 2^20
        guard product == features else {
            throw .invalidQuery(
                "shape",
                "\(declared.map(String.init).joined(separator: "×")) = \(product) values, but each row has \(features) features"
            )
        }
        return declared.count == 3 ? declared : nil
    }

    /// 503 with `Retry-After`.
    static func unavailable(_ slug: String, _ title: String, _ detail: String) -> APIError {
        var headers = HTTPHeaders()
        headers.set("Retry-After", "2")
        return APIError(ProblemDetails(status: 503, slug: slug, title: title, detail: detail), headers: headers)
    }
}

extension RewindAPI {
    /// A data set resource with the rows per class (`class_counts`) and what the upload held
    /// (`detected`: as recorded at upload; for a data set stored before that was recorded, read
    /// from its rows, less the header, which only the upload saw).
    func withClassCounts(_ resource: JSONValue, id: String, profile: String? = nil) -> JSONValue {
        guard case .object(var object) = resource,
            let dataset = StoreDatasetResolver(store: store).dataset(.uploaded(id: id))
        else { return resource }
        object["class_counts"] = JSONValue(dataset.labelCounts.map(Double.init))
        if let recorded = profile.flatMap({ try? JSONValue.parse($0) }) {
            object["detected"] = recorded
        } else if case .object(var detected) = DatasetProfile(dataset: dataset).json() {
            detected["header"] = nil
            detected["has_header"] = nil
            object["detected"] = .object(detected)
        }
        return .object(object)
    }
}

/// Serialises the name check and the insert of uploads in this process.
private let uploadNames = Mutex<Void>(())
