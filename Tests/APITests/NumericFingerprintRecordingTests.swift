import Foundation
import JSON
import Jobs
import RewindTestSupport
import Storage
import Synchronization
import Testing
import Tuning

/// Every history item records the numeric fingerprint of the node that computed it, and a job
/// resumed by a node with another fingerprint says so in the log.
@Suite("Numeric fingerprints in histories")
struct NumericFingerprintRecordingTests {
    @Test func aJobResumedUnderAnotherFingerprintRecordsBothAndLogsTheChange() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-fingerprint")
        let store = try SQLiteStore(path: directory.file("rewind.sqlite"), nowMs: JobRunner.wallClock())
        defer { try? store.close() }
        guard
            case .success(let tuning) = JobRequest.prepare(
                specBytes: Array(TestSpecs.recovery.utf8), datasets: BuiltinDatasetResolver())
        else { Issue.record("the recovery spec does not validate"); return }
        let id = TimeOrderedID.make(nowMs: JobRunner.wallClock())
        _ = try store.insertJob(
            NewJob(
                id: id, name: "fingerprint", specJSON: tuning.spec.json().serializedString(),
                progressTotal: tuning.totalItems),
            idempotency: nil, maxQueued: 10, nowMs: JobRunner.wallClock())

        func runner(_ fingerprint: String, log: @escaping JobLog) -> JobRunner {
            JobRunner(
                store: store,
                configuration: JobsConfiguration(
                    workers: 1, leaseMs: 5_000, heartbeatIntervalMs: 50, reaperIntervalMs: 200, idlePollMs: 50,
                    nodeID: "fingerprint-node", bootID: "boot-\(fingerprint)", numericFingerprint: fingerprint),
                log: log)
        }
        // The first node computes at least one item, then hands the job back.
        let first = runner("arithmetic-A", log: { _, _ in })
        try first.start()
        #expect(eventually(timeout: .seconds(60)) { ((try? store.job(id: id))?.progressDone ?? 0) >= 1 })
        #expect(first.shutdown(timeout: 30))
        let handedBackAt = try #require(try store.job(id: id)).progressDone
        try #require(handedBackAt < tuning.totalItems, "the job finished before it could be handed back")

        let lines = Mutex<[(String, [String: String])]>([])
        let second = runner("arithmetic-B", log: { message, fields in lines.withLock { $0.append((message, fields)) } })
        try second.start()
        #expect(eventually(timeout: .seconds(120)) { (try? store.job(id: id))?.status == .succeeded })
        second.shutdown(timeout: 10)

        let recorded = try store.history(jobID: id, after: nil, limit: 100).map { row in
            (try? JSONValue.parse(row.itemJSON))?["numeric_fingerprint"]?.stringValue
        }
        #expect(
            recorded == Array(repeating: "arithmetic-A", count: handedBackAt)
                + Array(repeating: "arithmetic-B", count: tuning.totalItems - handedBackAt))
        let notice = lines.withLock { $0 }.first { $0.0 == "job resumed under another numeric fingerprint" }
        #expect(notice?.1["earlier_fingerprint"] == "arithmetic-A")
        #expect(notice?.1["fingerprint"] == "arithmetic-B")
        #expect(notice?.1["job_id"] == id)
    }
}
