import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

/// A worker on a host of its own (a network namespace) loses its link to PostgreSQL mid-job: its
/// lease expires, another worker resumes the job, and when the link comes back the cut-off worker
/// writes nothing (every write is fenced by the lease it no longer holds).
@Suite(
    "Network partition of a worker", .serialized,
    .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)),
    .enabled(if: NetworkNamespace.unavailableReason == nil, Comment(rawValue: NetworkNamespace.unavailableReason ?? ""))
)
struct PartitionTests {
    @Test func aCutOffWorkerLosesItsJobToAnotherAndWritesNothingWhenTheLinkReturns() throws {
        let host = try NetworkNamespace()
        let fleet = try Fleet(extraListen: (host.hostAddress, host.network))
        let api = APISession(port: try fleet.addAPINode().port)
        // The cut-off node gives up a dead transaction's locks after 2 s instead of 10.
        let remoteURL =
            "postgresql://\(fleet.cluster.user)@\(host.hostAddress):\(fleet.cluster.port)/rewind"
            + "?options=-c%20idle_in_transaction_session_timeout%3D2000"
        let isolated = try fleet.addWorker(database: remoteURL, launcher: host.launcher)
        let reference = try LocalRun.history(of: FleetTests.medium)

        // The worker in the namespace is the only worker until it has committed part of the job, so
        // no scheduling race (nor a lease lost to a loaded machine, which it would just win back)
        // decides who runs it; then its link is cut mid-job and a second worker joins.
        let id = try api.submit(FleetTests.medium, idempotencyKey: "partition")
        do {
            _ = try fleet.waitUntilRunning(id, items: 1, by: { $0 === isolated }, timeout: .seconds(90))
        } catch {
            Issue.record("\(error); the worker in the namespace:\n\(isolated.log)")
            return
        }
        try host.cut()
        let rescuer = try fleet.addWorker()

        // The other worker gets the job once its lease expires, and finishes it.
        try api.waitForStatus(id, "succeeded", timeout: .seconds(90))
        #expect(try fleet.worker(running: id) == nil)
        let finished = try #require(try fleet.store.job(id: id))
        let rows = try fleet.store.history(jobID: id, after: nil, limit: 100)
        let events = try fleet.store.events(jobID: id, afterSeq: 0, limit: 1000)
        #expect(rescuer.log.contains("job resumed"), "the rescuer started over:\n\(rescuer.log)")

        // The link returns; the cut-off worker finds its lease gone and stops.
        try host.heal()
        let noticed = eventually(timeout: .seconds(60)) {
            isolated.log.contains("lease lost") || isolated.log.contains("commit failed")
        }
        #expect(noticed, "the cut-off worker never noticed:\n\(isolated.log)")
        for line in isolated.log.split(separator: "\n") where line.contains("lease lost") || line.contains("failed") {
            print("partition: cut-off worker: \(line)")
        }
        // Fencing: nothing about the job changed, not even a rewritten (identical) history row.
        #expect(try fleet.store.job(id: id) == finished)
        #expect(try fleet.store.history(jobID: id, after: nil, limit: 100) == rows)
        #expect(try fleet.store.events(jobID: id, afterSeq: 0, limit: 1000) == events)
        #expect(!isolated.log.contains("\"job finished\""), "the cut-off worker finished the job:\n\(isolated.log)")
        expectHistory(try api.history(id), equals: reference, "partitioned job")
        #expect(try fleet.transitions(of: id, to: "succeeded") == 1)
    }
}
