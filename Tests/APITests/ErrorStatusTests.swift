import API
import JSON
import RewindTestSupport
import Testing

/// Every error status of docs/api.md, each answered as problem+json over a real socket.
@Suite("Error statuses as problem+json")
struct ErrorStatusTests {
    @Test func unparseableJSONAnswers400() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        try session.post("/v1/jobs", json: #"{"dataset": {"name": "digits"}"#).expectProblem(400)
        try session.post("/v1/jobs", json: "not json at all").expectProblem(400)
        try session.post("/v1/jobs", json: TestSpecs.small, headers: [("Idempotency-Key", "")]).expectProblem(400)
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.isEmpty == true)
    }

    @Test func invalidSpecAnswers422NamingEveryBadFieldAsAJSONPointer() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let spec =
            #"{"dataset":{"name":"digits"},"training":{"iterations":0,"batch_size":20},"#
            + #""model":{"activation":"cubic"},"meta":{"optimizer":"newton"}}"#
        let response = try session.post("/v1/jobs", json: spec)
        response.expectProblem(422)
        let fields = Set(response.problemFields)
        #expect(
            fields.isSuperset(of: ["/training/iterations", "/model/activation", "/meta/optimizer"]), "\(response.text)")
        for error in response.json["errors"]?.arrayValue ?? [] {
            #expect(error["field"]?.stringValue?.hasPrefix("/") == true)
            #expect(error["message"]?.stringValue?.isEmpty == false)
        }
        let missing = try session.post("/v1/jobs", json: "{}")
        missing.expectProblem(422)
        #expect(missing.problemFields.contains("/dataset"), "\(missing.text)")
    }

    @Test func missingOrWrongAPIKeyAnswers401WhileOperationsStayOpen() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.apiKeys = ["alpha-key", "beta-key"]
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }

        let anonymous = APISession(service)
        let missing = try anonymous.get("/v1/jobs")
        missing.expectProblem(401)
        #expect(missing.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        try anonymous.post("/v1/jobs", json: TestSpecs.small).expectProblem(401)
        try APISession(service, apiKey: "gamma-key").get("/v1/jobs").expectProblem(401)
        try anonymous.get("/v1/jobs", headers: [("Authorization", "Basic YWxwaGEta2V5")]).expectProblem(401)

        #expect(try APISession(service, apiKey: "alpha-key").get("/v1/jobs").status == 200)
        #expect(try APISession(service, apiKey: "beta-key").submit(TestSpecs.small).isEmpty == false)
        #expect(try anonymous.get("/healthz").status == 200)
        #expect(try anonymous.get("/metrics").status == 200)
        // Nothing was created by the refused submission.
        #expect(try APISession(service, apiKey: "beta-key").get("/v1/jobs").json["jobs"]?.arrayValue?.count == 1)
    }

    @Test func unknownPathsAndIdsAnswer404() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        try session.get("/v2/jobs").expectProblem(404)
        try session.get("/v1/jobs/0123456789/extra/segments").expectProblem(404)
        try session.get("/v1/jobs/no-such-job").expectProblem(404)
        try session.get("/v1/jobs/no-such-job/history").expectProblem(404)
        try session.get("/v1/jobs/no-such-job/result").expectProblem(404)
        try session.delete("/v1/jobs/no-such-job").expectProblem(404)
    }

    @Test func wrongMethodAnswers405WithAllow() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let put = try session.request("PUT", "/v1/jobs", body: Array(TestSpecs.small.utf8))
        put.expectProblem(405)
        let allowed = Set(
            put.header("Allow")?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? [])
        #expect(allowed == ["GET", "POST"])
        let getCancel = try session.get("/v1/jobs/some-id/cancel")
        getCancel.expectProblem(405)
        #expect(getCancel.header("Allow") == "POST")
        try session.request("DELETE", "/healthz").expectProblem(405)
    }

    @Test func postWithoutADeclaredLengthAnswers411() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let client = try service.client()
        try client.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\r\n")
        try client.readResponse().expectProblem(411)
        let upload = try service.client()
        try upload.send("POST /v1/datasets?name=x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try upload.readResponse().expectProblem(411)
        // A chunked body declares its length as it goes and is accepted.
        let chunked = try service.client()
        let body = TestSpecs.small
        try chunked.send(
            "POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n")
        #expect(try chunked.readResponse().status == 202)
    }

    @Test func declaredBodyOverTheLimitAnswers413BeforeTheBodyIsSent() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let client = try service.client()
        let length = TestService.defaultAPIConfiguration.jsonBodyLimit + 1
        try client.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(length)\r\n\r\n")
        // No body byte was sent: the answer can only come from the head.
        try client.readResponse().expectProblem(413)
    }

    @Test func headOver16KiBAnswers431() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let client = try service.client()
        let filler = String(repeating: "a", count: 17 * 1024)
        try client.send("GET /v1/jobs HTTP/1.1\r\nHost: localhost\r\nX-Filler: \(filler)\r\n\r\n")
        try client.readResponse().expectProblem(431)
    }

    @Test func fullQueueAnswers429WithRetryAfterButStillReplaysIdempotentSubmissions() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.maxQueuedJobs = 2
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let first = try session.submit(TestSpecs.small(name: "one"), idempotencyKey: "key-one")
        _ = try session.submit(TestSpecs.small(name: "two"))

        let refused = try session.post("/v1/jobs", json: TestSpecs.small(name: "three"))
        refused.expectProblem(429)
        let retryAfter = try #require(refused.header("Retry-After").flatMap { Int($0) })
        #expect(retryAfter > 0)

        let replay = try session.post(
            "/v1/jobs", json: TestSpecs.small(name: "one"), headers: [("Idempotency-Key", "key-one")])
        #expect(replay.status == 200)
        #expect(replay.json["id"]?.stringValue == first)

        // Room again once a queued job leaves the queue.
        #expect(try session.post("/v1/jobs/\(first)/cancel", json: "").status == 202)
        #expect(try session.post("/v1/jobs", json: TestSpecs.small(name: "three")).status == 202)
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.count == 3)
    }

    @Test func readinessAnswers503OnceShutdownBegins() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let ready = try session.get("/readyz")
        #expect(ready.status == 200)
        #expect(ready.json["status"]?.stringValue == "ready")

        service.api.beginShutdown()
        let draining = try session.get("/readyz")
        draining.expectProblem(503)
        #expect(draining.json["checks"]?["shutting_down"]?.boolValue == true)
        // Liveness is unaffected: the process is still alive while it drains.
        #expect(try session.get("/healthz").status == 200)
        // A draining instance takes no new work, and says when to come back.
        let refused = try session.post("/v1/jobs", json: TestSpecs.small)
        refused.expectProblem(503)
        #expect(refused.header("Retry-After") != nil)
    }

    @Test func readinessAnswers503WhileTheWorkersAreStopped() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let response = try APISession(service).get("/readyz")
        response.expectProblem(503)
        #expect(response.json["checks"]?["workers"]?.stringValue == "stopped")
    }

    @Test func reusedIdempotencyKeyWithAnotherBodyAnswers422() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small(name: "original"), idempotencyKey: "shared")
        let other = try session.post(
            "/v1/jobs", json: TestSpecs.small(name: "different"), headers: [("Idempotency-Key", "shared")])
        other.expectProblem(422)
        #expect(other.json["detail"]?.stringValue?.contains(id) == true)
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.count == 1)
    }
}
