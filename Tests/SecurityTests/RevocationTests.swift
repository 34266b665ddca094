import Digest
import Foundation
import RewindTestSupport
import Storage
import Synchronization
import Testing

/// Issue 15, point 6 (rows 5, 6 and 9 of its table) and point 8 (row 8), against the real
/// `rewind serve` under an address-space limit, keys managed with the real `rewind keys`, on
/// SQLite and PostgreSQL: revocation bites at once, owners are key ids, and one key cannot fill
/// the queue for everyone.
@Suite("Security: revocation and fair queues, real binary", .serialized)
struct RevocationTests {
    static let engines: [StoreEngine] = PostgresCluster.isAvailable ? [.sqlite, .postgresql] : [.sqlite]
    static let admin = "seeded-admin-key"

    /// A real `rewind serve` with the seeded admin key, no workers (jobs stay queued), on a fresh
    /// database of `engine`; `database` is what `rewind keys --database` takes.
    final class Node {
        let server: ServerProcess
        let database: String
        let directory: TemporaryDirectory
        private let postgresDatabase: String?

        init(_ engine: StoreEngine, arguments: [String] = []) throws {
            directory = try TemporaryDirectory(prefix: "rewind-revocation")
            switch engine {
            case .sqlite:
                postgresDatabase = nil
                database = directory.file("rewind.sqlite")
            case .postgresql:
                let cluster = try #require(PostgresCluster.shared)
                let name = try cluster.createDatabase()
                postgresDatabase = name
                database = cluster.url(database: name)
            }
            server = try ServerProcess(
                database: database, logDirectory: directory.path, arguments: ["--workers", "0"] + arguments,
                environment: [
                    "REWIND_API_KEYS": RevocationTests.admin, "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1",
                ],
                prlimit: [MemoryLimitProcessTests.addressSpace])
        }

        var port: Int { server.port }

        /// The server's database, opened as another process would.
        func openStore() throws -> Store { try SecurityTests.openStore(database) }

        /// `rewind keys ARGUMENTS --database DATABASE`, which must succeed; its stdout, trimmed.
        @discardableResult
        func keys(_ arguments: [String]) throws -> String {
            let run = try CommandLineRun.rewind(["keys"] + arguments + ["--database", database])
            try #require(run.status == 0, "rewind keys \(arguments): \(run.stderr)")
            return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        deinit {
            server.kill(SIGTERM)
            _ = server.waitForExit(timeout: .seconds(20))
            if let postgresDatabase { PostgresCluster.shared?.dropDatabase(postgresDatabase) }
        }
    }

    @Test(arguments: engines)
    func noSessionSignedInWhileAKeyIsRevokedOutlivesTheRevocation(_ engine: StoreEngine) throws {
        let node = try Node(engine)
        let browser = SecuritySession(port: node.port)
        let csrf = try #require(BrowserDefenceTests.csrfToken(in: browser.get("/").text))
        for round in 0..<4 {
            let name = "carol\(round)"
            let key = try node.keys(["create", name])
            let body = Array("key=\(key)&csrf_token=\(csrf)".utf8)
            let revoked = Atomic<Bool>(false), stop = Atomic<Bool>(false)
            // Every session cookie answered, and whether its sign-in began after `rewind keys revoke` returned.
            let sessions = Mutex<[(cookie: String, afterRevocation: Bool)]>([])
            let loop = DispatchGroup()
            DispatchQueue.global().async(group: loop) {
                while !stop.load(ordering: .acquiring) {
                    let after = revoked.load(ordering: .acquiring)
                    guard
                        let answer = try? browser.request(
                            "POST", "/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                            body: body)
                    else { continue }
                    if answer.status == 303, let cookie = answer.header("Set-Cookie")?.split(separator: ";").first {
                        sessions.withLock { $0.append((String(cookie), after)) }
                    }
                }
            }
            // Revoke once the loop has signed in at least once, then let it run a little longer.
            let deadline = ContinuousClock.now + .seconds(30)
            while sessions.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { usleep(5_000) }
            try node.keys(["revoke", name])
            revoked.store(true, ordering: .releasing)
            let attemptsAfter = ContinuousClock.now + .milliseconds(300)
            while ContinuousClock.now < attemptsAfter { usleep(10_000) }
            stop.store(true, ordering: .releasing)
            loop.wait()

            let all = sessions.withLock { $0 }
            #expect(!all.isEmpty, "round \(round): no sign-in succeeded before the revocation")
            #expect(
                !all.contains { $0.afterRevocation }, "round \(round): a sign-in after the revocation got a session")
            // Asked of the database the server reads (over HTTP the failed sign-ins after the
            // revocation have emptied this address's authentication bucket: 429 proves nothing).
            let store = try node.openStore()
            defer { try? store.close() }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for session in all {
                let token = String(session.cookie.dropFirst("rewind_session=".count))
                #expect(
                    try store.session(tokenSHA256: SHA256.hex(of: Array(token.utf8)), nowMs: now) == nil,
                    "round \(round): a session of the revoked key is still valid")
            }
        }
    }

    @Test(arguments: engines)
    func anOpenEventStreamEndsWithinTwoSecondsOfItsKeysRevocationOrItsSessionsLogout(_ engine: StoreEngine) throws {
        let node = try Node(engine)
        let aliceKey = try node.keys(["create", "alice"])
        let bobKey = try node.keys(["create", "bob"])
        let alice = SecuritySession(port: node.port, apiKey: aliceKey)
        let bob = SecuritySession(port: node.port, apiKey: bobKey)
        let aliceJob = try alice.submit(SecuritySpecs.small(name: "alice's"))
        let bobJob = try bob.submit(SecuritySpecs.small(name: "bob's"))
        let browser = SecuritySession(port: node.port)
        let (cookie, _) = try browser.signIn(key: bobKey)

        // Three streams of queued jobs, which stay open: alice's by key, bob's by key and by session.
        let byKey = try Self.openStream(
            node.port, "/v1/jobs/\(aliceJob)/events", [("Authorization", "Bearer \(aliceKey)")])
        let bobByKey = try Self.openStream(
            node.port, "/v1/jobs/\(bobJob)/events", [("Authorization", "Bearer \(bobKey)")])
        let bySession = try Self.openStream(node.port, "/v1/jobs/\(bobJob)/events", [cookie])

        try node.keys(["revoke", "alice"])
        let revocation = try #require(Self.secondsUntilEnd(byKey, limit: 10))
        print("\(engine): the stream ended \(revocation) s after `rewind keys revoke` returned")
        #expect(revocation < 2)

        let page = try browser.get("/", headers: [cookie])
        let csrf = try #require(BrowserDefenceTests.csrfToken(in: page.text))
        let out = try browser.request(
            "POST", "/logout", headers: [cookie, ("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("csrf_token=\(csrf)".utf8))
        #expect(out.status == 303)
        let logout = try #require(Self.secondsUntilEnd(bySession, limit: 10))
        print("\(engine): the stream ended \(logout) s after POST /logout returned")
        #expect(logout < 2)
        // The key itself still holds: its stream stays open through several checks.
        #expect(Self.secondsUntilEnd(bobByKey, limit: 1.5) == nil)
        #expect(try bob.get("/v1/jobs/\(bobJob)").status == 200)
    }

    @Test(arguments: engines)
    func aKeyCreatedAgainUnderARevokedKeysNameInheritsNothing(_ engine: StoreEngine) throws {
        let node = try Node(engine)
        let first = SecuritySession(port: node.port, apiKey: try node.keys(["create", "carolX"]))
        let idempotent = [("Idempotency-Key", "nightly")]
        let job = try #require(
            try first.postJSON("/v1/jobs", SecuritySpecs.small(name: "old"), headers: idempotent).json["id"]?
                .stringValue)
        let upload = try first.request(
            "POST", "/v1/datasets?name=old", headers: [("Content-Type", "text/csv")], body: TenantTests.csv)
        #expect(upload.status == 201)
        let dataset = try #require(upload.json["id"]?.stringValue)

        try node.keys(["revoke", "carolX"])
        let second = SecuritySession(port: node.port, apiKey: try node.keys(["create", "carolX"]))
        #expect(try second.get("/v1/jobs").json["jobs"]?.arrayValue?.isEmpty == true)
        #expect(try second.get("/v1/jobs/\(job)").status == 404)
        #expect(try second.get("/v1/datasets/\(dataset)").status == 404)
        #expect(try !second.get("/v1/datasets").text.contains(dataset))
        // The old key's Idempotency-Key is not the new key's: the same request makes a new job.
        let again = try second.postJSON("/v1/jobs", SecuritySpecs.small(name: "old"), headers: idempotent)
        #expect(again.status == 202 && again.json["id"]?.stringValue != job)
        // The admin still sees the old key's job.
        #expect(try SecuritySession(port: node.port, apiKey: Self.admin).get("/v1/jobs/\(job)").status == 200)
    }

    @Test(arguments: engines)
    func oneKeysHundredAndOneJobsLeaveTheQueueOpenToOthersAndTheAdmin(_ engine: StoreEngine) throws {
        let node = try Node(engine, arguments: ["--max-queued-per-key", "20", "--submission-burst", "1000"])
        let a = SecuritySession(port: node.port, apiKey: try node.keys(["create", "tenant-a"]))
        let b = SecuritySession(port: node.port, apiKey: try node.keys(["create", "tenant-b"]))
        let admin = SecuritySession(port: node.port, apiKey: Self.admin)
        var accepted = 0
        var refusals: [HTTPTestResponse] = []
        for index in 0..<101 {
            let answer = try a.postJSON(
                "/v1/jobs", SecuritySpecs.endless.replacingOccurrences(of: "endless", with: "a\(index)"))
            if answer.status == 202 { accepted += 1 } else { refusals.append(answer) }
        }
        #expect(accepted == 20)
        #expect(refusals.count == 81 && refusals.allSatisfy { $0.status == 429 && $0.slug == "key-job-limit" })
        let detail = refusals.first?.json["detail"]?.stringValue ?? ""
        #expect(detail.contains("20") && detail.contains("--max-queued-per-key"), "\(detail)")
        #expect(refusals.first?.header("Retry-After") != nil)
        #expect(try b.postJSON("/v1/jobs", SecuritySpecs.endless).status == 202)
        #expect(try admin.postJSON("/v1/jobs", SecuritySpecs.endless).status == 202)
        // Cancelling one of A's jobs frees one place for A.
        let mine = try #require(try a.get("/v1/jobs?limit=1").json["jobs"]?.arrayValue?.first?["id"]?.stringValue)
        #expect(try a.request("POST", "/v1/jobs/\(mine)/cancel").status == 202)
        #expect(try a.postJSON("/v1/jobs", SecuritySpecs.endless).status == 202)
        #expect(try a.postJSON("/v1/jobs", SecuritySpecs.endless).status == 429)
        // Nor does retrying the cancelled job get past the limit.
        let retried = try a.request("POST", "/v1/jobs/\(mine)/retry")
        #expect(retried.status == 429 && retried.slug == "key-job-limit", "\(retried.status) \(retried.text)")
        #expect(try a.get("/v1/jobs/\(mine)").json["status"]?.stringValue == "cancelled")
    }

    /// A client that sent `GET target` and read the head (200, an event stream).
    static func openStream(_ port: Int, _ target: String, _ headers: [(String, String)]) throws -> HTTPTestClient {
        let client = try HTTPTestClient(port: port, timeout: .milliseconds(250))
        var head = "GET \(target) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try client.send(head + "\r\n")
        var response: HTTPTestResponse?
        let deadline = ContinuousClock.now + .seconds(10)
        while response == nil, ContinuousClock.now < deadline { response = try? client.readHead() }
        let status = try #require(response).status
        try #require(status == 200, "GET \(target) answered \(status)")
        return client
    }

    /// Reads the stream until it ends: the seconds that took, or nil if it is still open after `limit`.
    static func secondsUntilEnd(_ client: HTTPTestClient, limit: Double) -> Double? {
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(limit * 1000))
        while ContinuousClock.now < deadline {
            do {
                guard try client.readChunk() != nil else { break }
            } catch let error as HTTPTestClientError where error.description.contains("timed out") {
                continue
            } catch {
                break  // closed by the server
            }
        }
        guard ContinuousClock.now < deadline else { return nil }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
