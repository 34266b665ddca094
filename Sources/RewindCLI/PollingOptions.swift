import ArgumentParser
import Foundation
import Jobs
import Learning

/// How often an idle worker looks at the queue by itself, shared by `serve` and `worker`. On
/// PostgreSQL a queued job wakes idle workers through a notification at once; polling is the
/// fallback for a notification that was lost, and on SQLite the only wake-up across processes.
struct PollingOptions: ParsableArguments {
    @Option(
        name: .customLong("idle-poll-ms"),
        help:
            "How often an idle worker polls the queue when no wake-up arrives, in ms (REWIND_IDLE_POLL_MS; default 1000)."
    )
    var idlePollMs: Int = Environment.int("REWIND_IDLE_POLL_MS") ?? 1_000

    func validate() throws {
        guard (1...3_600_000).contains(idlePollMs) else {
            throw ValidationError("--idle-poll-ms must be between 1 and 3600000")
        }
    }

    /// `configuration` with this polling period and this node's numeric fingerprint.
    func apply(to configuration: JobsConfiguration) -> JobsConfiguration {
        var configuration = configuration
        configuration.idlePollMs = idlePollMs
        configuration.numericFingerprint = NumericFingerprint.current
        return configuration
    }
}
