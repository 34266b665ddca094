import ArgumentParser
import Foundation
import Jobs
import Storage
import Tuning

/// `rewind bench-queue`: what the job queue itself costs. Many tiny jobs (one meta-iteration of a
/// 5-unit network, one training iteration) go through 1, 2 and 4 `rewind worker` processes, on
/// SQLite and, given a URL, on PostgreSQL. Reported per engine and worker count: jobs completed per
/// second, the training time per job, and the rest of each worker's time per job, which is the
/// queue's overhead (claim, one commit per history item, finish, and the wait for the next claim).
/// A second table times the queue's operations alone, in this process, without training.
public struct QueueBenchCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "bench-queue",
        abstract: "Measure the job queue: tiny jobs through 1, 2 and 4 worker processes, SQLite and PostgreSQL.")

    @Option(help: "Jobs per round.")
    var jobs: Int = 100

    @Option(help: "Worker process counts, comma-separated.")
    var workers: String = "1,2,4"

    @Option(help: "An empty PostgreSQL database to measure too (postgres://...); its jobs are deleted between rounds.")
    var postgres: String = ProcessInfo.processInfo.environment["REWIND_BENCH_POSTGRES"] ?? ""

    @Option(
        name: .customLong("idle-poll-ms"), help: "Idle workers' polling period (SQLite has no cross-process wake-up).")
    var idlePollMs: Int = 20

    /// One meta-iteration of a 5-unit network trained for one step: the queue, not training, dominates.
    static let tinySpec =
        #"{"name":"queue-bench","dataset":{"name":"digits"},"split":{"train":50,"validation":50},"#
        + #""model":{"hidden":[5]},"training":{"iterations":1,"batch_size":50},"meta":{"iterations":1}}"#

    public func validate() throws {
        guard (1...10_000).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 10000") }
        guard !workerCounts.isEmpty, workerCounts.allSatisfy({ (1...32).contains($0) }) else {
            throw ValidationError("--workers must list counts between 1 and 32, e.g. 1,2,4")
        }
    }

    var workerCounts: [Int] {
        workers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    public func run() throws {
        let directory = NSTemporaryDirectory() + "rewind-bench-queue-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var locations: [(String, (Int) -> String)] = [("SQLite", { "\(directory)/round-\($0).sqlite" })]
        if !postgres.isEmpty { locations.append(("PostgreSQL", { _ in postgres })) }

        Console.output("queue benchmark: \(jobs) jobs per round (\(Self.tinySpecSummary)), idle poll \(idlePollMs) ms")
        Console.output("| engine | worker processes | jobs/s | training ms/job | queue overhead ms/job |")
        Console.output("|---|---:|---:|---:|---:|")
        var operations: [(String, QueueOperationTiming)] = []
        for (engine, database) in locations {
            for (index, count) in workerCounts.enumerated() {
                let round = QueueBenchRound(
                    database: database(index), jobs: jobs, workers: count, idlePollMs: idlePollMs, spec: Self.tinySpec)
                let result = try round.run()
                Console.output(
                    String(
                        format: "| %@ | %d | %.1f | %.2f | %.2f |", engine, count, result.jobsPerSecond,
                        result.trainingMsPerJob, result.overheadMsPerJob))
            }
            operations.append(
                (engine, try QueueOperationTiming.measure(database: database(workerCounts.count), jobs: jobs)))
        }
        Console.output("")
        Console.output("queue operations alone, one thread, no training (ms per job):")
        Console.output("| engine | claim | commit (per item) | finish | total per job (2 items) |")
        Console.output("|---|---:|---:|---:|---:|")
        for (engine, timing) in operations {
            Console.output(
                String(
                    format: "| %@ | %.2f | %.2f | %.2f | %.2f |", engine, timing.claimMs, timing.commitMs,
                    timing.finishMs,
                    timing.claimMs + 2 * timing.commitMs + timing.finishMs))
        }
    }

    static let tinySpecSummary = "1 meta-iteration, 5 hidden units, T = 1"
}
