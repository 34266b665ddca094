import ArgumentParser
import Foundation
import Jobs
import Storage

/// The node identity and the lease timings every command that runs workers shares.
struct LeaseOptions: ParsableArguments {
    @Option(
        name: .customLong("node-id"),
        help: """
            Names this service slot across restarts (REWIND_NODE_ID; default: HOSTNAME:PORT, or a new id at every start with --port 0). At start \
            the node recovers at once the jobs its own earlier runs left behind; other nodes' jobs are \
            recovered only when their leases expire. Letters, digits and ._:- only.
            """)
    var nodeID: String = Environment.string("REWIND_NODE_ID") ?? ""

    @Option(
        name: .customLong("lease-duration"),
        help: "Seconds a worker's claim stays valid without a heartbeat (REWIND_LEASE_DURATION; default 15).")
    var leaseSeconds: Double =
        Environment.double("REWIND_LEASE_DURATION")
        ?? Double(JobsConfiguration.defaultLeaseMs) / 1000

    @Option(
        name: .customLong("heartbeat-interval"),
        help: "Seconds between two lease renewals of a running job (REWIND_HEARTBEAT_INTERVAL; default 0.25).")
    var heartbeatSeconds: Double =
        Environment.double("REWIND_HEARTBEAT_INTERVAL")
        ?? Double(JobsConfiguration.defaultHeartbeatIntervalMs) / 1000

    @Option(
        name: .customLong("reaper-interval"),
        help: "Seconds between two scans for expired leases (REWIND_REAPER_INTERVAL; default 5).")
    var reaperSeconds: Double =
        Environment.double("REWIND_REAPER_INTERVAL")
        ?? Double(JobsConfiguration.defaultReaperIntervalMs) / 1000

    func validate() throws {
        if !nodeID.isEmpty, !LeaseOwner.isValidID(nodeID) {
            throw ValidationError("--node-id must be 1-200 letters, digits or ._:- characters")
        }
        guard leaseSeconds.isFinite, heartbeatSeconds.isFinite, reaperSeconds.isFinite,
            heartbeatSeconds >= 0.01, reaperSeconds >= 0.01, leaseSeconds <= 3600
        else {
            throw ValidationError(
                "--heartbeat-interval and --reaper-interval must be at least 0.01 s, --lease-duration at most 3600 s")
        }
        guard leaseSeconds >= 3 * heartbeatSeconds else {
            throw ValidationError("--lease-duration must be at least three --heartbeat-interval")
        }
    }

    /// The worker pool's settings; the boot id is unique to this start.
    func configuration(workers: Int, port: Int, nowMs: Int64) -> JobsConfiguration {
        JobsConfiguration(
            workers: workers, leaseMs: Int64(leaseSeconds * 1000),
            heartbeatIntervalMs: Int64(heartbeatSeconds * 1000), reaperIntervalMs: Int64(reaperSeconds * 1000),
            nodeID: nodeID.isEmpty ? Self.defaultNodeID(port: port) : nodeID, bootID: "\(getpid())-\(nowMs)")
    }

    /// `HOSTNAME:PORT`: two services on one host cannot share a port, so they never take each
    /// other's jobs for their own; restarted on the same port, a service recognises its own.
    /// With `--port 0` the port is not known in advance: the node is then new at every start
    /// (its earlier runs' jobs come back when their leases expire).
    static func defaultNodeID(port: Int) -> String {
        let host = String(
            ProcessInfo.processInfo.hostName.unicodeScalars.map { scalar in
                LeaseOwner.isValidID(String(scalar)) ? Character(scalar) : "-"
            }.prefix(180))
        let slot = port == 0 ? "any-\(UUID().uuidString.prefix(8))" : "\(port)"
        return "\(host.isEmpty ? "host" : host):\(slot)"
    }
}
