import Foundation
import RewindTestSupport
import Storage

/// `rewind serve` on a fresh SQLite database (or a given PostgreSQL one) under the memory tests' 2 GiB address-space limit,
/// with a session to it; `stop()` (SIGTERM) when done.
struct LimitedServer {
    let directory: TemporaryDirectory
    let server: ServerProcess
    let session: SecuritySession
    /// The SQLite file's path, or the PostgreSQL URL.
    let database: String

    /// `prepare` gets the database (the SQLite file's path, or `database` when given: a
    /// PostgreSQL URL) before the server starts, to write rows into it.
    init(
        prefix: String, workers: Int, arguments: [String] = [], directory existing: TemporaryDirectory? = nil,
        database: String? = nil, prepare: (String) throws -> Void = { _ in }
    ) throws {
        directory = try existing ?? TemporaryDirectory(prefix: prefix)
        let database = database ?? directory.file("rewind.sqlite")
        self.database = database
        try prepare(database)
        server = try ServerProcess(
            database: database, logDirectory: database.hasPrefix("postgres") ? directory.path : nil,
            arguments: ["--workers", "\(workers)"] + arguments,
            environment: ["MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"],
            prlimit: [MemoryLimitProcessTests.addressSpace])
        session = SecuritySession(port: server.port)
    }

    func stop() {
        server.kill(SIGTERM)
        _ = server.waitForExit(timeout: .seconds(20))
    }

    /// Resets the process's peak (VmHWM) to its resident memory now, and returns that.
    func resetPeak() throws -> Int {
        try "5".write(toFile: "/proc/\(server.pid)/clear_refs", atomically: false, encoding: .utf8)
        return MemoryLimitProcessTests.status(server.pid, "VmRSS")
    }

    /// The process's peak resident memory since the last reset.
    var peak: Int { MemoryLimitProcessTests.status(server.pid, "VmHWM") }

    /// Uploads `csv` as a data set named `name`; its id.
    func upload(_ csv: String, name: String) throws -> String {
        let response = try session.request(
            "POST", "/v1/datasets?name=\(name)", headers: [("Content-Type", "text/csv")], body: Array(csv.utf8),
            timeout: .seconds(120))
        guard response.status == 201, let id = response.json["id"]?.stringValue else {
            throw ServerProcessError("upload answered \(response.status): \(response.text)")
        }
        return id
    }
}

/// The database a test server runs on, opened as another process would: the SQLite file at
/// `database`, or the PostgreSQL database its `postgres://` URL names.
func openStore(_ database: String, nowMs: Int64 = 0) throws -> any Store {
    database.hasPrefix("postgres")
        ? try PostgresStore(url: database, poolSize: 1, nowMs: nowMs)
        : try SQLiteStore(path: database, nowMs: nowMs)
}
