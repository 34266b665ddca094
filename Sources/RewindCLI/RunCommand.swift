import API
import ArgumentParser
import Foundation
import JSON
import Jobs
import Learning
import LinearAlgebra
import RewindBench
import Tuning

/// `rewind run SPEC.json`: runs one tuning job in this process, printing each history item as one
/// JSON line on stdout and progress on stderr.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a tuning job locally; history items go to stdout as JSON lines.",
        discussion: """
            The spec is the service's job spec (docs/api.md). Its data set may be a built-in \
            ({"name": "digits"}) or a local CSV file ({"path": "my.csv"}: numeric features, the \
            integer class label in the last column, an optional header row — the format \
            POST /v1/datasets takes); a relative path is read from the spec file's directory (the \
            current one for '-'). Uploaded data sets ({"id": ...} or their names) live in a \
            service: use rewind submit.

            Exit status: 0 on success, 1 if training diverged, 2 if the spec or its CSV file is \
            invalid (its errors on stderr, or the problem+json document on stdout with --json), 3 \
            if the spec file cannot be read.
            """)

    @Argument(help: "The job spec (docs/api.md, \"Job spec\"); '-' reads standard input.")
    var spec: String

    @Option(
        name: .long,
        help:
            "Threads that train a meta-iteration's meta.seeds runs in parallel (the history is the same for any number)."
    )
    var threads = 1

    @Flag(name: .long, help: "Print an invalid spec's problem+json document on stdout instead of readable errors.")
    var json = false

    @Flag(name: .long, help: "Do not print progress on stderr.")
    var quiet = false

    /// For the admission tests: one JSON line on stderr at the end with the job's memory estimate
    /// and how far this process's resident memory grew from before the spec was read.
    @Flag(name: .long, help: .hidden)
    var memoryReport = false

    static let maximumSpecBytes = 1 << 20

    func run() throws {
        BLAS.setThreadCount(1)
        let baseline = PeakMemory.resident()
        PeakMemory.reset()
        let bytes: [UInt8]
        do {
            bytes = try readSpec()
        } catch {
            Console.error("rewind: cannot read \(spec): \(error.localizedDescription)")
            throw ExitCode(3)
        }
        let tuning: any JobRun
        let directory =
            spec == "-"
            ? FileManager.default.currentDirectoryPath
            : URL(fileURLWithPath: spec).deletingLastPathComponent().path
        switch JobRequest.prepareJob(
            specBytes: bytes, datasets: LocalDatasetResolver(baseDirectory: directory), threads: max(1, threads))
        {
        case .success(let prepared):
            tuning = prepared
        case .failure(let error):
            let problem = ProblemDetails(error)
            if json {
                Console.output(problem.json().serializedString())
            } else {
                ServiceOptions.printProblem(problem.json(), status: problem.status)
            }
            throw ExitCode(2)
        }
        // What besides the spec decides the bits: lets two machines' histories be compared.
        let fingerprint = NumericFingerprint.current
        if !quiet { Console.error("rewind: arithmetic: \(fingerprint)") }
        var progress = ProgressLine(enabled: !quiet, total: tuning.totalItems)
        var checkpoint = tuning.initialCheckpoint()
        let clock = ContinuousClock()
        while !tuning.isComplete(checkpoint) {
            let started = clock.now
            let item = checkpoint.nextItem
            do {
                var (result, next) = try tuning.step(checkpoint) { fraction in
                    progress.update(item: item, fraction: fraction)
                    return true
                }
                result.seconds = (clock.now - started).seconds
                // Printed as the service serves it, with the arithmetic that computed it.
                Console.output(result.json(numericFingerprint: fingerprint).serializedString())
                progress.finished(result)
                checkpoint = next
            } catch {
                progress.clear()
                Console.error("rewind: \(error.code): \(error.message)")
                throw ExitCode(1)
            }
        }
        progress.clear()
        if memoryReport {
            var report = JSONObject()
            let peak = PeakMemory.current()
            let estimate = tuning.memoryEstimate(at: tuning.initialCheckpoint().unconstrained)
            report["estimated_bytes"] = .number(Double(estimate.totalBytes))
            report["estimate"] = .string(estimate.summary)
            report["baseline_rss_bytes"] = .number(Double(baseline))
            report["peak_rss_bytes"] = .number(Double(peak))
            report["peak_growth_bytes"] = .number(Double(peak - baseline))
            Console.error(JSONValue.object(report).serializedString())
        }
    }

    private func readSpec() throws -> [UInt8] {
        let handle = spec == "-" ? FileHandle.standardInput : try FileHandle(forReadingFrom: URL(fileURLWithPath: spec))
        let data = try handle.read(upToCount: Self.maximumSpecBytes + 1) ?? Data()
        guard data.count <= Self.maximumSpecBytes else {
            throw CocoaError(.fileReadTooLarge, userInfo: [NSLocalizedDescriptionKey: "the spec is larger than 1 MiB"])
        }
        return [UInt8](data)
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
