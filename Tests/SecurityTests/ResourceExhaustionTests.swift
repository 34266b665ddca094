import Dashboard
import Foundation
import HTTPServer
import JSON
import RewindTestSupport
import Synchronization
import Testing

@testable import API

/// Issue 10, points 1–6: nothing a client sends may take the process down. Each test drives the
/// real server over loopback sockets.
@Suite("Security: resource exhaustion", .serialized)
struct ResourceExhaustionTests {
    // MARK: 1. Memory of a job

    @Test func aSpecWhoseBufferWouldExhaustMemoryIsRefusedNamingTheFieldsAndNothingIsQueued() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)

        let refused = try session.postJSON("/v1/jobs", SecuritySpecs.memoryBomb)
        #expect(refused.status == 422)
        #expect(refused.slug == "over-memory-budget")
        let fields = refused.json["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields.contains("/hyperparameters/momentum") && fields.contains("/training/iterations"))
        #expect((refused.json["estimated_bytes"]?.doubleValue ?? 0) > 100e9)
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.isEmpty == true)
        // An ordinary spec still fits the default budget.
        _ = try session.submit(SecuritySpecs.small())
    }

    @Test func aRunningJobPastTheBudgetFailsResourceExhaustedOnceAndIsNotRetried() throws {
        // Admission lets it in (as a job whose learned momentum later falls would be); the
        // worker's check before each meta-iteration stops it before it allocates.
        var configuration = TestService.defaultAPIConfiguration
        configuration.jobMemoryBudget = 1 << 40
        let service = try TestService(api: configuration) { _ in
        } jobs: {
            $0.jobMemoryBudget = 1 << 20
        }
        defer { service.stop() }
        let session = SecuritySession(port: service.port)

        let id = try session.submit(SecuritySpecs.small())
        let job = try session.waitForStatus(id, "failed")
        #expect(job["error"]?["code"]?.stringValue == "resource_exhausted")
        #expect(job["attempt"]?.intValue == 1)
        #expect(try session.get("/healthz").status == 200)
    }

    // MARK: 2. Large responses

    @Test func listingsAreSummariesAndHistoryPagesAreCutByBytes() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.historyPageBytes = 1  // every page holds exactly one item
        let service = try TestService(api: configuration)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        let id = try session.submit(SecuritySpecs.small())
        try session.waitForStatus(id, "succeeded")

        let listed = try session.get("/v1/jobs").json["jobs"]?[0]
        #expect(listed?["id"]?.stringValue == id && listed?["spec"] == nil)
        #expect(try session.get("/v1/jobs?view=full").json["jobs"]?[0]?["spec"]?["dataset"] != nil)
        #expect(try session.get("/v1/jobs?view=everything").status == 422)

        var items: [JSONValue] = []
        var after = -1
        for _ in 0..<10 {
            let page = try session.get("/v1/jobs/\(id)/history?after=\(after)&limit=1000").json
            let pageItems = page["items"]?.arrayValue ?? []
            #expect(pageItems.count == 1)
            items += pageItems
            guard let next = page["next_after"]?.intValue else { break }
            after = next
        }
        #expect(items.compactMap { $0["meta_iteration"]?.intValue } == [0, 1, 2, 3])
    }

    @Test func jobsWithMegabyteSpecsLeaveTheListingSmallAndTheFullViewServable() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.jsonBodyLimit = 2 << 20
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        // A per-iteration learning-rate table of 100,000 rows: a legal spec of about 1.1 MB.
        let table = "[" + (0..<100_000).map { "[0.0\(100_000 + $0)]" }.joined(separator: ",") + "]"
        for index in 0..<3 {
            _ = try session.submit(
                #"{"name":"big \#(index)","dataset":{"name":"digits"},"model":{"hidden":[2]},"training":{"iterations":100000},"#
                    + #""hyperparameters":{"learning_rate":{"init":\#(table),"schedule":"per_iteration","per_block":false}},"#
                    + #""meta":{"iterations":1}}"#)
        }
        let summaries = try session.get("/v1/jobs?limit=200")
        #expect(summaries.status == 200 && summaries.json["jobs"]?.arrayValue?.count == 3)
        #expect(summaries.body.count < 16 << 10)
        // The specs on request (the server-level test above shows any size arrives whole).
        let full = try session.request("GET", "/v1/jobs?limit=200&view=full", timeout: .seconds(60))
        #expect(full.status == 200 && full.body.count > 3 << 20)
        #expect(full.json["jobs"]?.arrayValue?.count == 3)
    }

    @Test func aCompleteResponseLargerThanTheOutboundLimitIsDeliveredWhole() throws {
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 4 << 20)
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.maxOutboundBytes = 64 << 10
        let server = HTTPServer(configuration: configuration) { _ in HTTPResponse(body: body) }
        let port = try server.start()
        defer { server.stop(gracePeriod: .seconds(1)) }
        let response = try HTTPTestClient(port: port).request("GET", "/large")
        #expect(response.status == 200 && response.body.count == body.count)
    }

    // MARK: 3. Plots

    @Test func aWideDataSetsPlotIsDownsampledAndRenderedOncePerMetaIteration() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.datasetBodyLimit = 8 << 20
        let service = try TestService(api: configuration)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)

        let features = 10_000
        var csv = ""
        for row in 0..<24 {
            csv += (0..<features).map { String(($0 + row) % 7) }.joined(separator: ",") + ",\(row % 2)\n"
        }
        let upload = try session.request(
            "POST", "/v1/datasets?name=wide", headers: [("Content-Type", "text/csv")], body: Array(csv.utf8))
        try #require(upload.status == 201, "upload answered \(upload.status): \(upload.text)")
        let datasetID = try #require(upload.json["id"]?.stringValue)
        let id = try session.submit(
            #"{"dataset":{"id":"\#(datasetID)"},"split":{"train":16,"validation":8},"model":{"hidden":[2]},"#
                + #""training":{"iterations":2,"batch_size":4},"hyperparameters":{"training_data":{"learn":true}},"#
                + #""meta":{"iterations":1}}"#)
        try session.waitForStatus(id, "succeeded")

        let first = try session.get("/v1/jobs/\(id)/plots/training_data.svg")
        #expect(first.status == 200)
        // 16 images of 10,000 pixels would be 160,000 cells; each is cut to at most 32 × 32.
        let cells = first.text.components(separatedBy: "<rect").count - 1
        #expect(cells > 16 && cells <= 16 * 32 * 32 + 64)
        let version = "2/succeeded"
        #expect(service.api.plotCache.get(jobID: id, name: "training_data", version: version) == first.text)
        #expect(try session.get("/v1/jobs/\(id)/plots/training_data.svg").body == first.body)
    }

    @Test func plotsDrawnFromSlimmedItemsAreTheSameAsFromWholeOnes() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        let id = try session.submit(
            #"{"dataset":{"name":"digits"},"split":{"train":200,"validation":100},"model":{"hidden":[8]},"#
                + #""training":{"iterations":10,"batch_size":20},"meta":{"iterations":12}}"#)
        try session.waitForStatus(id, "succeeded")
        let items = try session.get("/v1/jobs/\(id)/history?limit=1000").json["items"]?.arrayValue ?? []
        let spec = try session.get("/v1/jobs/\(id)").json["spec"] ?? .null
        #expect(items.count == 13)
        for name in [
            "loss", "error", "learning_curve", "learning_rate", "momentum", "l2", "init_scale", "hypergradient_norm",
        ] {
            let served = try session.get("/v1/jobs/\(id)/plots/\(name).svg").text
            #expect(served == JobPlots.render(name: name, spec: spec, items: items), "\(name)")
        }
    }

    // MARK: 4. Event streams

    @Test func twoHundredOpenStreamsCostNoThreadEachAndHealthStillAnswers() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.maxEventStreamsPerClient = 1000
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        let id = try session.submit(SecuritySpecs.endless)  // stays queued: its streams stay open

        let threadsBefore = Self.threadCount()
        var streams: [HTTPTestClient] = []
        defer { streams.forEach { $0.close() } }
        for _ in 0..<200 {
            let client = try HTTPTestClient(port: service.port)
            try client.send("GET /v1/jobs/\(id)/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
            streams.append(client)
        }
        for client in streams { #expect(try client.readHead().status == 200) }
        let added = Self.threadCount() - threadsBefore
        #expect(added < 40, "200 streams added \(added) threads")

        // A generous bound that a stalled server (14 s in the issue) would break.
        let started = ContinuousClock.now
        let health = try HTTPTestClient(port: service.port, timeout: .seconds(3)).request("GET", "/healthz")
        #expect(health.status == 200)
        print("200 open streams: +\(added) threads, /healthz in \(ContinuousClock.now - started)")
        #expect(try session.get("/v1/jobs/\(id)").status == 200)
    }

    @Test func streamsAreCappedPerClientWith429AndInTotalWith503() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.maxEventStreamsPerClient = 2
        configuration.maxEventStreams = 3
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        let id = try session.submit(SecuritySpecs.endless)

        var open: [HTTPTestClient] = []
        defer { open.forEach { $0.close() } }
        func stream(from host: String) throws -> HTTPTestClient {
            let client = try HTTPTestClient(port: service.port, source: host)
            try client.send("GET /v1/jobs/\(id)/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
            open.append(client)
            return client
        }
        #expect(try stream(from: "127.0.0.1").readHead().status == 200)
        #expect(try stream(from: "127.0.0.1").readHead().status == 200)
        let perClient = try stream(from: "127.0.0.1").readResponse()
        #expect(perClient.status == 429 && perClient.header("Retry-After") != nil)
        #expect(try stream(from: "127.0.0.2").readHead().status == 200)
        #expect(try stream(from: "127.0.0.3").readResponse().status == 503)
        // Closing a stream frees its slot.
        open[0].close()
        #expect(eventually { (try? stream(from: "127.0.0.3").readHead().status) == 200 })
    }

    // MARK: 5. Uploads

    @Test func uploadsAreCappedInFlightAndByAStorageQuotaAndARefusedOneStoresNothing() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.maxConcurrentUploads = 1
        configuration.datasetStorageQuota = 4_000
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        func upload(_ name: String, rows: Int) throws -> HTTPTestResponse {
            let csv = (0..<rows).map { "\($0 % 5),\(($0 * 3) % 7),\($0 % 2)" }.joined(separator: "\n")
            return try session.request(
                "POST", "/v1/datasets?name=\(name)", headers: [("Content-Type", "text/csv")], body: Array(csv.utf8))
        }

        // Another upload is being parsed: the next one waits its turn.
        service.api.uploadsInFlight.add(1, ordering: .relaxed)
        let busy = try upload("busy", rows: 10)
        #expect(busy.status == 503 && busy.header("Retry-After") != nil)
        service.api.uploadsInFlight.subtract(1, ordering: .relaxed)
        #expect(try upload("first", rows: 100).status == 201)  // 100 × 20 + 16 bytes stored

        let over = try upload("second", rows: 150)
        #expect(over.status == 507 && over.slug == "storage-quota-exceeded")
        #expect(
            try session.get("/v1/datasets").json["datasets"]?.arrayValue?.filter { $0["builtin"] == false }.count == 1)
    }

    // MARK: 6. Slow clients

    @Test func aBodyTricklingInPastTheTotalDeadlineGets408() throws {
        let service = try TestService(startsWorkers: false) { server in
            server.bodyTimeout = .seconds(1)
            server.headerReadTimeout = .seconds(5)
        }
        defer { service.stop() }
        let client = try HTTPTestClient(port: service.port, timeout: .seconds(10))
        defer { client.close() }
        try client.send(
            "POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
        )
        // One byte every 200 ms never goes silent for 5 s, but takes 40 s in all.
        let started = ContinuousClock.now
        var answer: HTTPTestResponse?
        for _ in 0..<50 where answer == nil {
            try? client.send("{")
            usleep(200_000)
            if ContinuousClock.now - started > .seconds(1) { answer = try? client.readResponse() }
        }
        #expect(answer?.status == 408)
    }

    @Test func oneClientCannotHoldMoreThanItsShareOfConnections() throws {
        let service = try TestService(startsWorkers: false) { $0.maxConnectionsPerClient = 3 }
        defer { service.stop() }
        let held = try (0..<3).map { _ in try HTTPTestClient(port: service.port) }
        defer { held.forEach { $0.close() } }
        #expect(try held[0].request("GET", "/healthz").status == 200)  // all three are registered
        let refused = try HTTPTestClient(port: service.port).readResponse()
        #expect(refused.status == 429)
        // Another address is still served.
        #expect(try HTTPTestClient(port: service.port, source: "127.0.0.2").request("GET", "/healthz").status == 200)
    }

    static func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }
}

/// Polls `condition` until it holds or `timeout` passes; the deadline only bounds a failure.
func eventually(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(10_000)
    }
    return try condition()
}
