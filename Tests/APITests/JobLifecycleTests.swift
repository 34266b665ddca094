import JSON
import RewindTestSupport
import Testing

/// A job from submission to result over real sockets: the resource, progress, history, result.
@Suite("Job lifecycle over HTTP")
struct JobLifecycleTests {
    @Test func submittedJobAnswers202WithLocationAndAQueuedResourceWithDefaultsFilledIn() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)

        let response = try session.post("/v1/jobs", json: TestSpecs.small)
        #expect(response.status == 202)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        let job = response.json
        let id = try #require(job["id"]?.stringValue)
        #expect(response.header("Location") == "/v1/jobs/\(id)")
        #expect(job["name"]?.stringValue == "small")
        #expect(job["status"]?.stringValue == "queued")
        #expect(job["created_at"]?.stringValue?.hasSuffix("Z") == true)
        #expect(job["started_at"] == .null)
        #expect(job["finished_at"] == .null)
        #expect(job["latest"] == .null)
        #expect(job["best"] == .null)
        #expect(job["error"] == .null)
        #expect(job["progress"]?["done"]?.intValue == 0)
        #expect(job["progress"]?["total"]?.intValue == 4)
        #expect(job["progress"]?["fraction"]?.doubleValue == 0)
        // Defaults the submission left out are filled in.
        #expect(job["spec"]?["meta"]?["optimizer"]?.stringValue == "adam")
        #expect(job["spec"]?["model"]?["activation"]?.stringValue == "tanh")
        #expect(job["spec"]?["hyperparameters"]?["learning_rate"] != nil)

        // The Location answers the same resource.
        let fetched = try session.get("/v1/jobs/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.json["id"]?.stringValue == id)
        #expect(fetched.json["spec"] == job["spec"])
    }

    @Test func jobRunsToSuccessWithMonotoneProgressAndAFullHistory() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)

        var fractions: [Double] = []
        let done = try session.waitForJob(id, "a terminal status") { job in
            if let fraction = job["progress"]?["fraction"]?.doubleValue { fractions.append(fraction) }
            return ["succeeded", "failed", "cancelled"].contains(job["status"]?.stringValue ?? "")
        }
        #expect(done["status"]?.stringValue == "succeeded", "\(done.serializedString())")
        #expect(fractions.allSatisfy { (0...1).contains($0) }, "\(fractions)")
        #expect(zip(fractions, fractions.dropFirst()).allSatisfy { $0 <= $1 }, "fraction went backwards: \(fractions)")
        #expect(done["progress"]?["done"]?.intValue == 4)
        #expect(done["progress"]?["total"]?.intValue == 4)
        #expect(done["progress"]?["fraction"]?.doubleValue == 1)
        #expect(done["started_at"]?.stringValue != nil)
        #expect(done["finished_at"]?.stringValue != nil)
        #expect(done["latest"]?["meta_iteration"]?.intValue == 3)
        #expect(done["best"]?["validation_loss"]?.doubleValue != nil)
        #expect(done["error"] == .null)

        let items = try session.history(id)
        #expect(items.map { $0["meta_iteration"]?.intValue } == [0, 1, 2, 3])
        for item in items.dropLast() {
            #expect(item["hypergradient"]?["learning_rate"]?.arrayValue != nil)
        }
        #expect(items.last?["hypergradient"] == .null)
        for item in items {
            #expect(item["hyperparameters"]?["momentum"]?.arrayValue != nil)
            #expect(item["training_loss"]?.doubleValue != nil)
            #expect((0...1).contains(item["validation_error"]?.doubleValue ?? -1))
            #expect(item["seconds"]?.doubleValue != nil)
        }
        // The hypergradient moved the hyperparameters between meta-iterations.
        #expect(items[0]["hyperparameters"] != items[1]["hyperparameters"])
        #expect(done["latest"]?["validation_loss"] == items[3]["validation_loss"])
    }

    @Test func progressFractionMovesInsideAMetaIterationAndNeverGoesBackwards() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.endless)
        var samples: [(done: Int, fraction: Double)] = []
        try session.waitForJob(id, timeout: .seconds(30), "two committed items") { job in
            let done = job["progress"]?["done"]?.intValue ?? 0
            samples.append((done, job["progress"]?["fraction"]?.doubleValue ?? -1))
            return done >= 2
        }
        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)

        let total = 501.0
        let fractions = samples.map(\.fraction)
        #expect(fractions.allSatisfy { (0...1).contains($0) }, "\(fractions)")
        #expect(zip(fractions, fractions.dropFirst()).allSatisfy { $0 <= $1 }, "fraction went backwards: \(fractions)")
        // Heartbeats report inner steps: some sample lies strictly between two committed items.
        #expect(
            samples.contains { $0.fraction > Double($0.done) / total && $0.fraction < Double($0.done + 1) / total },
            "\(samples)")
        try session.waitForStatus(id, "cancelled", timeout: .seconds(5))
    }

    @Test func historyPagesWithAfterLimitAndNextAfter() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")

        let first = try session.get("/v1/jobs/\(id)/history?limit=2")
        #expect(first.status == 200)
        #expect(first.json["items"]?.arrayValue?.map { $0["meta_iteration"]?.intValue } == [0, 1])
        #expect(first.json["next_after"]?.intValue == 1)

        let second = try session.get("/v1/jobs/\(id)/history?after=1&limit=2")
        #expect(second.json["items"]?.arrayValue?.map { $0["meta_iteration"]?.intValue } == [2, 3])
        #expect(second.json["next_after"] == .null)

        let past = try session.get("/v1/jobs/\(id)/history?after=3")
        #expect(past.json["items"]?.arrayValue?.isEmpty == true)
        #expect(past.json["next_after"] == .null)

        let whole = try session.get("/v1/jobs/\(id)/history")
        #expect(whole.json["items"]?.arrayValue?.count == 4)
        #expect(whole.json["items"]?[2] == second.json["items"]?[0])

        try session.get("/v1/jobs/\(id)/history?limit=0").expectProblem(422)
        try session.get("/v1/jobs/\(id)/history?limit=1001").expectProblem(422)
        try session.get("/v1/jobs/\(id)/history?after=x").expectProblem(422)
    }

    @Test func resultAnswers409UntilSuccessThenTheBestAndFinalItems() throws {
        let queued = try TestService(startsWorkers: false)
        defer { queued.stop() }
        let waiting = try APISession(queued).submit(TestSpecs.small)
        try APISession(queued).get("/v1/jobs/\(waiting)/result").expectProblem(409)

        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        let job = try session.waitForStatus(id, "succeeded")
        let result = try session.get("/v1/jobs/\(id)/result")
        #expect(result.status == 200)
        let items = try session.history(id)
        #expect(result.json["final"] == items.last)
        let best = try #require(job["best"]?["meta_iteration"]?.intValue)
        #expect(result.json["best"] == items[best])
        let lowest = items.compactMap { $0["validation_loss"]?.doubleValue }.min()
        #expect(result.json["best"]?["validation_loss"]?.doubleValue == lowest)
    }

    @Test func listingIsNewestFirstFiltersByStatusAndPages() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        var ids: [String] = []
        for index in 0..<5 { ids.append(try session.submit(TestSpecs.small(name: "job \(index)"))) }
        #expect(try session.post("/v1/jobs/\(ids[0])/cancel", json: "").status == 202)

        let all = try session.get("/v1/jobs")
        #expect(all.status == 200)
        #expect(all.json["jobs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ids.reversed())
        #expect(all.json["next_page_token"] == .null)

        var paged: [String] = []
        var target = "/v1/jobs?limit=2"
        for _ in 0..<10 {
            let page = try session.get(target)
            #expect(page.status == 200)
            paged += page.json["jobs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            guard let token = page.json["next_page_token"]?.stringValue else { break }
            target = "/v1/jobs?limit=2&page_token=\(token)"
        }
        #expect(paged == ids.reversed())

        let queued = try session.get("/v1/jobs?status=queued")
        #expect(queued.json["jobs"]?.arrayValue?.count == 4)
        let cancelled = try session.get("/v1/jobs?status=cancelled")
        #expect(cancelled.json["jobs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids[0]])

        let badStatus = try session.get("/v1/jobs?status=sleeping")
        badStatus.expectProblem(422)
        #expect(badStatus.problemFields == ["?status"])
        try session.get("/v1/jobs?limit=201").expectProblem(422)
        try session.get("/v1/jobs?limit=0").expectProblem(422)
        try session.get("/v1/jobs?page_token=not-a-token").expectProblem(422)
    }
}
