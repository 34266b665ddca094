import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

/// Issue 15, row 11, against the real `rewind serve` under the address-space limit: a
/// distillation job whose every item carries its 33,000 learned training rows (and their
/// hypergradient, about 13 MB of JSON each) took so long to build and commit that its lease,
/// renewed only between inner training steps, expired, and after three attempts the job failed
/// `worker_lost`. Renewals now run on a thread of their own: with a lease shorter than one item's
/// commit, the job still finishes on its first attempt.
@Suite("Security: large commits and the lease, real binary", .serialized)
struct LeaseRenewalProcessTests {
    static let rows = 34_000
    static let lease = 0.3
    static let leaseArguments = [
        "--lease-duration", "\(lease)", "--heartbeat-interval", "0.05", "--reaper-interval", "0.1",
    ]

    @Test(arguments: RevocationTests.engines)
    func commitsLongerThanTheLeaseLeaveTheJobOnItsFirstAttempt(_ engine: StoreEngine) throws {
        let cluster: PostgresCluster? = engine == .postgresql ? PostgresCluster.shared : nil
        let postgresDatabase = try cluster?.createDatabase()
        defer { if let postgresDatabase { cluster?.dropDatabase(postgresDatabase) } }
        let limited = try LimitedServer(
            prefix: "rewind-lease-commits", workers: 1, arguments: Self.leaseArguments,
            database: postgresDatabase.flatMap { cluster?.url(database: $0) })
        defer { limited.stop() }
        let csv = String(decoding: MemoryLimitProcessTests.csv(bytes: Self.rows * 142), as: UTF8.self)
        let dataset = try limited.upload(csv, name: "wide")
        let spec =
            #"{"dataset":{"id":"\#(dataset)"},"split":{"train":33000,"validation":500},"model":{"hidden":[4]},"#
            + #""training":{"iterations":1,"batch_size":100},"hyperparameters":{"training_data":{"learn":true}},"#
            + #""meta":{"iterations":2}}"#
        let id = try limited.session.submit(spec)
        let done = try limited.session.waitForStatus(id, "succeeded", timeout: .seconds(600))
        #expect(done["status"]?.stringValue == "succeeded", "\(done)")
        #expect(done["attempt"]?.intValue == 1, "\(done)")

        let store = try openStore(limited.database)
        defer { try? store.close() }
        let reasons = try store.events(jobID: id, afterSeq: 0, limit: 100).compactMap {
            (try? JSONValue.parse($0.dataJSON))?["reason"]?.stringValue
        }
        #expect(reasons == ["submitted", "claimed", "finished"])
        // The test proves something only if an item took longer than a lease from the one before
        // it (T = 1: almost all of that is building and committing the item).
        let created = try store.history(jobID: id, after: -1, limit: 10).map(\.createdMs)
        let longest = zip(created.dropFirst(), created).map { Double($0 - $1) / 1000 }.max() ?? 0
        print(
            "row 11 (\(engine)): items \(created.count), longest gap between items \(longest) s, lease \(Self.lease) s")
        #expect(created.count == 3)
        #expect(longest > Self.lease, "no item outlasted the lease (\(longest) s): the job is too small to test this")
    }
}
