import ArgumentParser
import Foundation
import Jobs

/// Lease, heartbeat, reaper and polling periods of a node's workers, shared by `serve` and
/// `worker`. The defaults suit a fleet; tests and benchmarks shorten them to see a dead node's
/// jobs come back within seconds.
struct JobTimingOptions: ParsableArguments {
    @Option(
        name: .customLong("lease-ms"),
        help: "How long a claimed job stays leased without a heartbeat, in ms (REWIND_LEASE_MS).")
    var leaseMs: Int = Environment.int("REWIND_LEASE_MS") ?? 60_000

    @Option(
        name: .customLong("heartbeat-ms"),
        help: "Minimum time between two heartbeats of a running job, in ms (REWIND_HEARTBEAT_MS).")
    var heartbeatMs: Int = Environment.int("REWIND_HEARTBEAT_MS") ?? 250

    @Option(
        name: .customLong("reaper-interval-ms"),
        help: "How often expired leases are reaped, in ms (REWIND_REAPER_INTERVAL_MS).")
    var reaperIntervalMs: Int = Environment.int("REWIND_REAPER_INTERVAL_MS") ?? 15_000

    @Option(
        name: .customLong("idle-poll-ms"),
        help: "How often an idle worker polls the queue when no wake-up arrives, in ms (REWIND_IDLE_POLL_MS).")
    var idlePollMs: Int = Environment.int("REWIND_IDLE_POLL_MS") ?? 1_000

    func validate() throws {
        guard heartbeatMs >= 10 else { throw ValidationError("--heartbeat-ms must be at least 10") }
        guard leaseMs >= 2 * heartbeatMs else { throw ValidationError("--lease-ms must be at least twice --heartbeat-ms") }
        guard reaperIntervalMs >= 10 else { throw ValidationError("--reaper-interval-ms must be at least 10") }
        guard idlePollMs >= 1 else { throw ValidationError("--idle-poll-ms must be at least 1") }
    }

    func configuration(workers: Int, bootID: String) -> JobsConfiguration {
        JobsConfiguration(
            workers: workers, leaseMs: Int64(leaseMs), heartbeatIntervalMs: Int64(heartbeatMs),
            reaperIntervalMs: Int64(reaperIntervalMs), idlePollMs: idlePollMs, bootID: bootID,
            numericFingerprint: NodeFingerprint.current)
    }
}

/// What this node records as the numeric fingerprint of the history items it computes.
///
/// A stand-in until the project-wide fingerprint (build arithmetic, architecture, the BLAS build
/// and the kernel family OpenBLAS loaded) is wired here: the version, the architecture and the
/// OpenBLAS kernel pinned by `OPENBLAS_CORETYPE`, or `auto` when OpenBLAS chooses by CPU.
enum NodeFingerprint {
    static var current: String {
        #if arch(x86_64)
        let architecture = "x86_64"
        #elseif arch(arm64)
        let architecture = "arm64"
        #else
        let architecture = "other"
        #endif
        let kernel = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 } ?? "auto"
        return "rewind \(RewindVersion.current); \(architecture); OpenBLAS kernels \(kernel)"
    }
}
