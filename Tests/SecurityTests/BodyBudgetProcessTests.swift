import Foundation
import RewindTestSupport
import Synchronization
import Testing

/// Issue 15's rows 1 and 3 against the real `rewind serve` under an address-space limit: bodies
/// are refused from their head before any byte is read, charged to the node's memory budget as
/// they arrive, and uploads are parsed into stored chunks, so the process stays up.
@Suite("Security: request bodies under the node's memory budget (real binary)", .serialized)
struct BodyBudgetProcessTests {
    static let limits = [MemoryLimitProcessTests.addressSpace]
    static let environment = ["MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"]

    /// Row 1: 25 connections without a key each announce 64 MiB on `POST /v1/datasets` and send
    /// 2 MiB. Every one is answered 401 from its head; the server stays up and healthy.
    @Test func unauthenticatedConnectionsAnnouncingHugeBodiesGet401AndTheServerStaysUp() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-body-budget-auth")
        let server = try ServerProcess(
            database: directory.file("rewind.sqlite"),
            environment: Self.environment.merging(["REWIND_API_KEYS": "the-key"]) { $1 },
            prlimit: Self.limits)
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }

        let statuses = Mutex<[Int]>([])
        let port = server.port
        let part = [UInt8](repeating: UInt8(ascii: "1"), count: 2 << 20)
        DispatchQueue.concurrentPerform(iterations: 25) { _ in
            var status = -1
            if let client = try? HTTPTestClient(port: port, timeout: .seconds(30)) {
                defer { client.close() }
                let head =
                    "POST /v1/datasets?name=big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
                    + "Content-Length: \(64 << 20)\r\n\r\n"
                // The server may stop reading once it has refused the head: a failed send is fine.
                try? client.send(Array(head.utf8) + part)
                status = (try? client.readResponse().status) ?? -1
            }
            statuses.withLock { $0.append(status) }
        }
        let answered = statuses.withLock { $0 }
        print("row 1: peak RSS \(MemoryLimitProcessTests.status(server.pid, "VmHWM") >> 20) MiB")
        #expect(answered.count == 25 && answered.allSatisfy { $0 == 401 }, "statuses: \(answered)")
        #expect(try SecuritySession(port: server.port).get("/healthz").status == 200)
        #expect(server.waitForExit(timeout: .milliseconds(1)) == nil, "the server exited:\n\(server.log)")
    }

    /// Row 1's second half: `Expect: 100-continue` without a key gets 401, never `100 Continue`.
    @Test func anUnauthenticatedExpectContinueGets401NotContinue() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-body-budget-continue")
        let server = try ServerProcess(
            database: directory.file("rewind.sqlite"),
            environment: Self.environment.merging(["REWIND_API_KEYS": "the-key"]) { $1 },
            prlimit: Self.limits)
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }
        let client = try HTTPTestClient(port: server.port, timeout: .seconds(10))
        defer { client.close() }
        try client.send(
            "POST /v1/datasets?name=x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n"
                + "Expect: 100-continue\r\n\r\n")
        let answer = try client.readResponse()
        #expect(answer.status == 401, "answered \(answer.status): \(answer.text)")

        // With the key, the same head is answered 100 Continue before the body is sent.
        let keyed = try HTTPTestClient(port: server.port, timeout: .seconds(10))
        defer { keyed.close() }
        let body = Array("a,b,label\n1,2,0\n3,4,1\n".utf8)
        try keyed.send(
            "POST /v1/datasets?name=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer the-key\r\nContent-Type: text/csv\r\n"
                + "Content-Length: \(body.count)\r\nExpect: 100-continue\r\n\r\n")
        #expect(try keyed.readHead().status == 100)
        try keyed.send(body)
        #expect(try keyed.readResponse().status == 201)
    }

    /// An upload bigger than the whole budget (but within the route's limit) streams into storage:
    /// it holds its pipe and its parse's working memory, a few MiB whatever its size, never the
    /// body. (Before uploads streamed, such a body was refused 503 as it outgrew the budget; a
    /// body received whole still is, `HeadScreenAndBudgetTests`.)
    @Test func anUploadLargerThanTheWholeMemoryBudgetStreamsIntoStorage() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-body-budget-503")
        let server = try ServerProcess(
            database: directory.file("rewind.sqlite"), arguments: ["--memory-budget-mb", "16"],
            environment: Self.environment, prlimit: Self.limits)
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }
        let session = SecuritySession(port: server.port)
        let csv = Self.oneDigitCSV(bytes: 24 << 20, seed: 1)
        let answer = try session.request(
            "POST", "/v1/datasets?name=big", headers: [("Content-Type", "text/csv")], body: csv, timeout: .seconds(300))
        #expect(answer.status == 201, "answered \(answer.status): \(answer.text)")
        let metrics = try session.get("/metrics").text
        #expect(metrics.contains("rewind_memory_budget_bytes \(16 << 20)"), "\(metrics)")
        #expect(metrics.contains("rewind_memory_budget_in_use_bytes 0\n"), "\(metrics)")
        #expect(try session.get("/healthz").status == 200)
    }

    /// Row 3 on SQLite: five concurrent 60 MB one-digit CSV uploads.
    @Test func fiveConcurrentSixtyMegabyteUploadsLeaveTheSQLiteServerUp() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-body-budget-sqlite")
        let server = try ServerProcess(
            database: directory.file("rewind.sqlite"), environment: Self.environment, prlimit: Self.limits)
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }
        try Self.uploadFiveConcurrently(to: server)
    }

    /// Row 3 on PostgreSQL (where a NULL from malloc used to crash the process in `send`).
    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func fiveConcurrentSixtyMegabyteUploadsLeaveThePostgresServerUp() throws {
        let cluster = try PostgresCluster()
        let directory = try TemporaryDirectory(prefix: "rewind-body-budget-pg")
        let server = try ServerProcess(
            database: cluster.url(), logDirectory: directory.path, environment: Self.environment, prlimit: Self.limits)
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }
        try Self.uploadFiveConcurrently(to: server)
    }

    /// Each upload answers 201/200, or 503 with `Retry-After`; the server stays up, and the
    /// stored data sets load (a job trains on one).
    static func uploadFiveConcurrently(to server: ServerProcess) throws {
        let bodies = (0..<5).map { oneDigitCSV(bytes: 60_000_000, seed: UInt64($0) + 10) }
        let answers = Mutex<[(Int, String?, String)]>([])
        let port = server.port
        DispatchQueue.concurrentPerform(iterations: 5) { index in
            let session = SecuritySession(port: port)
            let answer = try? session.request(
                "POST", "/v1/datasets?name=digits-\(index)", headers: [("Content-Type", "text/csv")],
                body: bodies[index],
                timeout: .seconds(1200))
            answers.withLock {
                $0.append(
                    (answer?.status ?? -1, answer?.header("Retry-After"), answer?.text.prefix(200).description ?? ""))
            }
        }
        let all = answers.withLock { $0 }
        print(
            "row 3: peak RSS \(MemoryLimitProcessTests.status(server.pid, "VmHWM") >> 20) MiB, answered \(all.map(\.0))"
        )
        for (status, retryAfter, text) in all {
            #expect([200, 201].contains(status) || (status == 503 && retryAfter != nil), "answered \(status): \(text)")
        }
        #expect(all.contains { $0.0 == 201 }, "no upload was stored: \(all.map(\.0))")
        let session = SecuritySession(port: server.port)
        #expect(try session.get("/healthz").status == 200)
        #expect(server.waitForExit(timeout: .milliseconds(1)) == nil, "the server exited:\n\(server.log)")
    }

    /// About `bytes` of one-digit values: 40 features and a label in 0...2 per row (the worst
    /// case for the stored form: 8 bytes stored per 2 bytes sent; 60 MB stays under the row limit).
    static func oneDigitCSV(bytes: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 32)
        var row = 0
        while out.count < bytes {
            for _ in 0..<40 {
                out.append(UInt8(ascii: "0") + UInt8(generator.next() % 10))
                out.append(UInt8(ascii: ","))
            }
            out.append(UInt8(ascii: "0") + UInt8(row % 3))
            out.append(UInt8(ascii: "\n"))
            row += 1
        }
        return out
    }
}
