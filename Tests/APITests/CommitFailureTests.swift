import Foundation
import JSON
import Jobs
import RewindTestSupport
import Storage
import Synchronization
import Testing

/// A store whose first `failures` meta-iteration commits fail, as on a full disk or a database
/// that briefly refuses writes, and whose commits take `delay` longer, as large items do on a
/// busy node; everything else goes to the real store underneath.
final class FlakyCommitStore: Store {
    let base: Store
    private let remaining: Mutex<Int>
    let delay: Duration
    /// Calls that read history items or their outlines, and jobs, counted for the tests that bound them.
    let historyReads = Mutex(0)
    let jobReads = Mutex(0)

    init(_ base: Store, failures: Int, delay: Duration = .zero) {
        self.base = base
        remaining = Mutex(failures)
        self.delay = delay
    }

    struct InjectedFailure: Error {}

    var engine: StoreEngine { base.engine }
    var schemaVersion: Int { base.schemaVersion }
    var busyErrorCount: Int { base.busyErrorCount }
    func close() throws { try base.close() }
    func checkWritable() throws { try base.checkWritable() }

    func insertJob(
        _ new: NewJob, idempotency: (key: String, requestSHA256: String)?, maxQueued: Int, nowMs: Int64
    ) throws -> InsertJobOutcome {
        try base.insertJob(new, idempotency: idempotency, maxQueued: maxQueued, nowMs: nowMs)
    }
    func job(id: String) throws -> JobRecord? {
        jobReads.withLock { $0 += 1 }
        return try base.job(id: id)
    }
    func listJobs(status: JobStatus?, owner: String?, limit: Int, pageToken: String?) throws -> JobPage {
        try base.listJobs(status: status, owner: owner, limit: limit, pageToken: pageToken)
    }
    func requestCancel(jobID: JobID, nowMs: Int64) throws -> CancelOutcome {
        try base.requestCancel(jobID: jobID, nowMs: nowMs)
    }
    func deleteJob(jobID: JobID) throws -> DeleteJobOutcome { try base.deleteJob(jobID: jobID) }
    func jobCounts() throws -> [JobStatus: Int] { try base.jobCounts() }
    func purgeIdempotencyKeys(createdBeforeMs cutoffMs: Int64) throws -> Int {
        try base.purgeIdempotencyKeys(createdBeforeMs: cutoffMs)
    }
    func retryJob(jobID: JobID, maxQueued: Int, nowMs: Int64) throws -> RetryJobOutcome {
        try base.retryJob(jobID: jobID, maxQueued: maxQueued, nowMs: nowMs)
    }
    func history(jobID: String, after: Int?, limit: Int) throws -> [HistoryRow] {
        historyReads.withLock { $0 += 1 }
        return try base.history(jobID: jobID, after: after, limit: limit)
    }
    func historyOutline(jobID: String, after: Int?, limit: Int) throws -> [HistoryOutline] {
        historyReads.withLock { $0 += 1 }
        return try base.historyOutline(jobID: jobID, after: after, limit: limit)
    }
    func checkpoint(jobID: String) throws -> Checkpoint? { try base.checkpoint(jobID: jobID) }
    func events(jobID: String, afterSeq: Int64, limit: Int) throws -> [JobEvent] {
        try base.events(jobID: jobID, afterSeq: afterSeq, limit: limit)
    }
    func claimJob(worker: WorkerID, nowMs: Int64, leaseMs: Int64) throws -> ClaimedJob? {
        try base.claimJob(worker: worker, nowMs: nowMs, leaseMs: leaseMs)
    }
    func heartbeat(
        jobID: JobID, worker: WorkerID, nowMs: Int64, leaseMs: Int64, progressFraction: Double?
    ) throws -> LeaseState {
        try base.heartbeat(
            jobID: jobID, worker: worker, nowMs: nowMs, leaseMs: leaseMs, progressFraction: progressFraction)
    }
    func commitMetaIteration(
        jobID: JobID, worker: WorkerID, item: HistoryRow, checkpoint: [UInt8], progressDone: Int,
        progressFraction: Double, latestJSON: String?, bestJSON: String?, nowMs: Int64, leaseMs: Int64?
    ) throws -> Bool {
        let fail = remaining.withLock { count in
            defer { count = max(0, count - 1) }
            return count > 0
        }
        if fail { throw InjectedFailure() }
        let committed = try base.commitMetaIteration(
            jobID: jobID, worker: worker, item: item, checkpoint: checkpoint, progressDone: progressDone,
            progressFraction: progressFraction, latestJSON: latestJSON, bestJSON: bestJSON, nowMs: nowMs,
            leaseMs: leaseMs)
        // The write is done (and extended the lease from `nowMs`); the call returns late.
        if delay > .zero {
            Thread.sleep(
                forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) * 1e-18)
        }
        return committed
    }
    func finishJob(
        jobID: JobID, worker: WorkerID, status: JobStatus, errorCode: String?, errorMessage: String?, nowMs: Int64
    ) throws -> Bool {
        try base.finishJob(
            jobID: jobID, worker: worker, status: status, errorCode: errorCode, errorMessage: errorMessage, nowMs: nowMs
        )
    }
    func releaseJob(jobID: JobID, worker: WorkerID, nowMs: Int64) throws -> Bool {
        try base.releaseJob(jobID: jobID, worker: worker, nowMs: nowMs)
    }
    func abandonJob(jobID: JobID, worker: WorkerID, nowMs: Int64) throws -> RecoveredJob? {
        try base.abandonJob(jobID: jobID, worker: worker, nowMs: nowMs)
    }
    func requeueOrphans(nodeID: String, bootID: String, nowMs: Int64) throws -> [RecoveredJob] {
        try base.requeueOrphans(nodeID: nodeID, bootID: bootID, nowMs: nowMs)
    }
    func reapExpiredLeases(nowMs: Int64) throws -> [RecoveredJob] { try base.reapExpiredLeases(nowMs: nowMs) }
    func insertDataset(_ new: NewDataset, nowMs: Int64) throws -> InsertDatasetOutcome {
        try base.insertDataset(new, nowMs: nowMs)
    }
    func dataset(id: String) throws -> DatasetRecord? { try base.dataset(id: id) }
    func datasetContent(id: String) throws -> [UInt8]? { try base.datasetContent(id: id) }
    func listDatasets(owner: String?) throws -> [DatasetRecord] { try base.listDatasets(owner: owner) }
    func deleteDataset(id: String) throws -> DeleteDatasetOutcome { try base.deleteDataset(id: id) }
    func putDatasetChunk(id: String, seq: Int, content: [UInt8]) throws {
        try base.putDatasetChunk(id: id, seq: seq, content: content)
    }
    func commitChunkedDataset(_ new: NewDataset, chunkedBytes: Int, nowMs: Int64) throws -> InsertDatasetOutcome {
        try base.commitChunkedDataset(new, chunkedBytes: chunkedBytes, nowMs: nowMs)
    }
    func discardDatasetChunks(id: String) throws { try base.discardDatasetChunks(id: id) }
    func datasetChunk(id: String, seq: Int) throws -> [UInt8]? { try base.datasetChunk(id: id, seq: seq) }
    func createAPIKey(name: String, keySHA256: String, role: PrincipalRole, nowMs: Int64) throws -> Bool {
        try base.createAPIKey(name: name, keySHA256: keySHA256, role: role, nowMs: nowMs)
    }
    func apiKey(keySHA256: String) throws -> APIKeyRecord? { try base.apiKey(keySHA256: keySHA256) }
    func listAPIKeys() throws -> [APIKeyRecord] { try base.listAPIKeys() }
    func revokeAPIKey(name: String) throws -> Bool { try base.revokeAPIKey(name: name) }
    func touchAPIKey(name: String, nowMs: Int64) throws { try base.touchAPIKey(name: name, nowMs: nowMs) }
    func hasAPIKeys() throws -> Bool { try base.hasAPIKeys() }
    func createSession(
        tokenSHA256: String, principal: String, keySHA256: String?, role: PrincipalRole, nowMs: Int64, expiresMs: Int64
    ) throws -> Bool {
        try base.createSession(
            tokenSHA256: tokenSHA256, principal: principal, keySHA256: keySHA256, role: role, nowMs: nowMs,
            expiresMs: expiresMs)
    }
    func session(tokenSHA256: String, nowMs: Int64) throws -> SessionRecord? {
        try base.session(tokenSHA256: tokenSHA256, nowMs: nowMs)
    }
    func deleteSession(tokenSHA256: String) throws -> Bool { try base.deleteSession(tokenSHA256: tokenSHA256) }
    func purgeExpiredSessions(nowMs: Int64) throws -> Int { try base.purgeExpiredSessions(nowMs: nowMs) }
}

@Suite("A failed commit")
struct CommitFailureTests {
    @Test(arguments: StoreEngineChoice.engines)
    func handsTheJobBackAtOnceInsteadOfWaitingForTheLease(_ engine: StoreEngine) throws {
        // A lease far longer than the test may take: only an immediate hand-back lets it pass.
        let service = try TestService(
            engine: engine,
            jobs: {
                $0.leaseMs = 600_000; $0.reaperIntervalMs = 600_000
            },
            wrappingStore: { FlakyCommitStore($0, failures: 1) })
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        let done = try session.waitForStatus(id, "succeeded", timeout: .seconds(30))
        // The failed attempt made no progress, so it counts: the job succeeded on its second claim.
        #expect(done["attempt"]?.intValue == 2)
        let reasons = try service.store.events(jobID: id).compactMap { event -> String? in
            guard case .object(let data)? = try? JSONValue.parse(event.dataJSON) else { return nil }
            return data["reason"]?.stringValue
        }
        #expect(reasons == ["submitted", "claimed", "commit_failed", "claimed", "finished"])
    }
}

/// The engines the service-level tests run on: PostgreSQL too wherever its server is installed.
enum StoreEngineChoice {
    static let engines: [StoreEngine] = PostgresCluster.isAvailable ? [.sqlite, .postgresql] : [.sqlite]
}
