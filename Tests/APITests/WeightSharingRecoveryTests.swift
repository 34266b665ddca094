import Foundation
import JSON
import RewindTestSupport
import Testing

/// A weight-sharing job in the real `rewind serve`: killed with SIGKILL after its first committed
/// item and restarted on the same file, it resumes from its checkpoint (the T_l) and ends with the
/// history of a run that was never interrupted; a cancel stops it within an inner step.
@Suite("Weight-sharing jobs across process restarts", .serialized)
struct WeightSharingRecoveryTests {
    static let spec = #"""
        {"kind": "weight_sharing", "name": "sharing recovery", "dataset": {"name": "omniglot"},
         "model": {"hidden": [30], "sharing": {"tasks": "alphabets+rotations", "alphabets": 2}},
         "training": {"iterations": 10}, "meta": {"iterations": 6, "seed": 7}}
        """#

    @Test func aKilledSharingJobResumesAfterRestartAndMatchesAnUninterruptedRunBitForBit() throws {
        // The uninterrupted reference, beside the interrupted run.
        let referenceDirectory = try TemporaryDirectory(prefix: "rewind-sharing-reference")
        let reference = try ServerProcess(database: referenceDirectory.file("rewind.sqlite"))
        defer { reference.kill(SIGKILL) }
        let referenceID = try APISession(port: reference.port).submit(Self.spec)

        let restarted = try KilledAndRestarted(Self.spec, prefix: "rewind-sharing-kill")
        let (second, session, id) = (restarted.server, restarted.session, restarted.id)
        try session.waitForStatus(id, "succeeded", timeout: .seconds(300))
        #expect(second.log.contains("job resumed"), "the restart recomputed from scratch:\n\(second.log)")
        let items = try session.history(id)

        let referenceSession = APISession(port: reference.port)
        try referenceSession.waitForStatus(referenceID, "succeeded", timeout: .seconds(300))
        let expected = try referenceSession.history(referenceID)
        #expect(items.count == 7 && expected.count == 7)
        for (index, (got, want)) in zip(items, expected).enumerated() {
            let difference = JSONDifference.first(between: got.removing("seconds"), and: want.removing("seconds"))
            #expect(difference == nil, "item \(index) differs at \(difference ?? "")")
        }
        #expect(items.last?["hyperparameters"]?["transforms"] != nil)

        // Cancelled while it runs, a sharing job stops and keeps its history.
        let cancelled = try session.submit(
            Self.spec.replacingOccurrences(of: #""iterations": 6"#, with: #""iterations": 1000"#))
        try session.waitForJob(cancelled, timeout: .seconds(120), "running") {
            $0["status"]?.stringValue == "running"
        }
        #expect(try session.post("/v1/jobs/\(cancelled)/cancel", json: "").status == 202)
        try session.waitForStatus(cancelled, "cancelled", timeout: .seconds(60))
        second.kill(SIGTERM)
        #expect(second.waitForExit(timeout: .seconds(25)) == .exited(0))
    }
}

/// The scale-out path: a weight-sharing job submitted to an API-only node is run by `rewind worker`
/// processes on PostgreSQL; its worker killed mid-job, another resumes it from the checkpoint, and
/// the history is the one `rewind run` prints for the spec.
@Suite(
    "Weight-sharing jobs on a fleet", .serialized,
    .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
struct WeightSharingFleetTests {
    @Test func aWorkerKilledMidJobLeavesTheSharingJobToAnotherThatEndsWithTheLocalRunsHistory() throws {
        let fleet = try Fleet()
        let api = try fleet.addAPINode()
        try fleet.addWorker()
        let session = APISession(port: api.port)
        let spec = WeightSharingRecoveryTests.spec
        let id = try session.submit(spec)
        let worker = try fleet.waitUntilRunning(id, items: 1, timeout: .seconds(120))
        worker.kill(SIGKILL)
        _ = worker.waitForExit(timeout: .seconds(10))
        try fleet.addWorker()
        try session.waitForStatus(id, "succeeded", timeout: .seconds(300))
        expectHistory(try session.history(id), equals: try LocalRun.history(of: spec), "sharing on the fleet")
    }
}
