import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

/// Several real `rewind` processes on one throw-away PostgreSQL: API-only nodes (`serve
/// --workers 0`) and worker-only nodes (`worker`), with short leases so that a dead node's jobs
/// come back within seconds.
final class Fleet {
    let cluster: PostgresCluster
    let directory: TemporaryDirectory
    private(set) var apiNodes: [ServerProcess] = []
    private(set) var workers: [ServerProcess] = []
    /// A store of the test's own on the same database, to look at leases and events directly.
    let store: PostgresStore

    /// Leases of 1.5 s renewed every 100 ms, reaped every 300 ms; an idle worker polls once a
    /// second, so a wake-up within that second came from a notification.
    static let timing = [
        "--lease-duration", "1.5", "--heartbeat-interval", "0.1", "--reaper-interval", "0.3", "--idle-poll-ms", "1000",
    ]

    init(extraListen: (address: String, clients: String)? = nil) throws {
        cluster = try PostgresCluster(extraListen: extraListen)
        directory = try TemporaryDirectory(prefix: "rewind-fleet")
        store = try PostgresStore(url: cluster.url(), nowMs: 0)
    }

    deinit {
        for node in workers + apiNodes { node.kill(SIGKILL) }
        try? store.close()
        cluster.stop()
    }

    var url: String { cluster.url() }

    @discardableResult
    func addAPINode() throws -> ServerProcess {
        let node = try ServerProcess(
            database: url, logDirectory: directory.path, arguments: ["--workers", "0"] + Self.timing)
        apiNodes.append(node)
        return node
    }

    @discardableResult
    func addWorker(database: String? = nil, launcher: [String] = [], arguments: [String] = []) throws -> ServerProcess {
        let node = try ServerProcess(
            database: database ?? url, logDirectory: directory.path, arguments: Self.timing + arguments,
            environment: ["OPENBLAS_NUM_THREADS": "1"], command: "worker", launcher: launcher)
        workers.append(node)
        return node
    }

    /// The worker process whose lease `jobID` holds now (lease owners are `NODE/PID-MS/N`).
    func worker(running jobID: String) throws -> ServerProcess? {
        guard let owner = try store.job(id: jobID)?.leaseOwner else { return nil }
        let parts = owner.split(separator: "/")
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2].split(separator: "-")[0]) else { return nil }
        return workers.first { $0.pid == pid }
    }

    /// Waits until `jobID` is running with at least `items` committed (on a worker `accepted`
    /// takes), then answers its worker.
    func waitUntilRunning(
        _ jobID: String, items: Int = 1, by accepted: (ServerProcess) -> Bool = { _ in true },
        timeout: Duration = .seconds(60)
    ) throws -> ServerProcess {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let record = try store.job(id: jobID), record.status == .running, record.progressDone >= items,
                let worker = try worker(running: jobID), accepted(worker)
            {
                return worker
            }
            usleep(5_000)
        }
        throw ServerProcessError("job \(jobID) did not run with \(items) items within \(timeout)")
    }

    /// How often the job's recorded transitions reached `status`.
    func transitions(of jobID: String, to status: String) throws -> Int {
        try store.events(jobID: jobID, afterSeq: 0, limit: 1000).filter { event in
            event.kind == "status" && (try? JSONValue.parse(event.dataJSON))?["status"]?.stringValue == status
        }.count
    }
}

/// `rewind run SPEC` of the real binary: the history an uninterrupted local run prints.
enum LocalRun {
    static func history(of spec: String) throws -> [JSONValue] {
        let directory = try TemporaryDirectory(prefix: "rewind-local-run")
        let specPath = directory.file("spec.json")
        try spec.write(toFile: specPath, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try ServerProcess.executableURL()
        process.arguments = ["run", "--quiet", specPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "1"
        process.environment = environment
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "rewind run exited \(process.terminationStatus)")
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }
}

/// Item by item, every value but the timing and the fingerprint (metadata of the node, not a
/// result), numbers compared by their bits.
func expectHistory(
    _ actual: [JSONValue], equals expected: [JSONValue], _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        actual.count == expected.count, "\(label): \(actual.count) items, expected \(expected.count)",
        sourceLocation: sourceLocation)
    for (index, (got, want)) in zip(actual, expected).enumerated() {
        let difference = JSONDifference.first(
            between: got.removing("seconds").removing("numeric_fingerprint"),
            and: want.removing("seconds").removing("numeric_fingerprint"))
        #expect(
            difference == nil, "\(label) item \(index) differs at \(difference ?? "")", sourceLocation: sourceLocation)
    }
}
