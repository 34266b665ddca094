import Foundation
import Jobs
import Storage
import Tuning

/// One round of `bench-queue`: `jobs` queued at once, `workers` worker processes started
/// beforehand, timed from the submission to the last job's success.
struct QueueBenchRound {
    let database: String
    let jobs: Int
    let workers: Int
    let idlePollMs: Int
    let spec: String

    struct Result {
        var jobsPerSecond: Double
        /// Mean time of the history items' computation per job.
        var trainingMsPerJob: Double
        /// Worker time per job not spent training: (workers × wall time − training) / jobs.
        var overheadMsPerJob: Double
    }

    func run() throws -> Result {
        let store = try StoreLocation(database).open(nowMs: JobRunner.wallClock())
        defer { try? store.close() }
        try Self.deleteAllJobs(store)
        let processes = try (0..<workers).map { _ in try WorkerChild(database: database, idlePollMs: idlePollMs) }
        defer { processes.forEach { $0.stop() } }

        guard
            case .success(let tuning) = JobRequest.prepare(
                specBytes: Array(spec.utf8), datasets: BuiltinDatasetResolver())
        else {
            throw QueueBenchError("the benchmark's spec does not validate")
        }
        let specJSON = tuning.spec.json().serializedString()
        let notifier = store.makeNotifier()
        defer { notifier.close() }
        let started = ContinuousClock.now
        for _ in 0..<jobs {
            let new = NewJob(
                id: TimeOrderedID.make(nowMs: JobRunner.wallClock()), name: "queue-bench", specJSON: specJSON,
                progressTotal: tuning.totalItems)
            _ = try store.insertJob(new, idempotency: nil, maxQueued: jobs + 1, nowMs: JobRunner.wallClock())
            notifier.send(.jobQueued)
        }
        while try store.jobCounts()[.succeeded, default: 0] < jobs {
            let failed = try store.jobCounts()[.failed, default: 0]
            guard failed == 0 else { throw QueueBenchError("\(failed) benchmark jobs failed") }
            guard ContinuousClock.now - started < .seconds(600) else {
                throw QueueBenchError("the round took over 10 minutes")
            }
            usleep(2_000)
        }
        let wall = (ContinuousClock.now - started).seconds
        var training = 0.0
        var token: String?
        repeat {
            let page = try store.listJobs(status: .succeeded, limit: 200, pageToken: token)
            for job in page.jobs {
                training += try store.history(jobID: job.id, after: nil, limit: 10).map(\.seconds).reduce(0, +)
            }
            token = page.nextPageToken
        } while token != nil
        return Result(
            jobsPerSecond: Double(jobs) / wall, trainingMsPerJob: training * 1000 / Double(jobs),
            overheadMsPerJob: (Double(workers) * wall - training) * 1000 / Double(jobs))
    }

    /// Leaves the database empty of jobs (they are all terminal after a round).
    static func deleteAllJobs(_ store: Store) throws {
        while true {
            let page = try store.listJobs(status: nil, limit: 500, pageToken: nil)
            guard !page.jobs.isEmpty else { return }
            for job in page.jobs {
                if case .notTerminal = try store.deleteJob(jobID: JobID(job.id)) {
                    throw QueueBenchError("the database has unfinished jobs; give bench-queue an empty one")
                }
            }
        }
    }
}

/// A `rewind worker --workers 1` child process of this same executable.
final class WorkerChild {
    private let process = Process()

    init(database: String, idlePollMs: Int) throws {
        process.executableURL = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0])
        process.arguments = [
            "worker", "--database", database, "--workers", "1", "--port", "0", "--idle-poll-ms", "\(idlePollMs)",
        ]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REWIND_") }
        environment["OPENBLAS_NUM_THREADS"] = "1"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Wait for its first line: the worker is connected and claiming.
        var seen = Data()
        while !seen.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw QueueBenchError("a worker process exited before it started") }
            seen.append(chunk)
        }
    }

    /// SIGTERM, then wait.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

struct QueueBenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
