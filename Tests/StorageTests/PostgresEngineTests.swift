import Dispatch
import Foundation
import RewindTestSupport
import Synchronization
import Testing

@testable import Storage

/// Reported as skipped, with the reason, where the PostgreSQL server is not installed: then the
/// conformance suites run against SQLite only.
@Suite("PostgreSQL engine: availability")
struct PostgresAvailabilityTests {
    @Test(
        "The PostgreSQL server binaries are installed",
        .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func serverInstalled() throws {
        #expect(StoreFixture.engines.contains(.postgresql))
        #expect(PostgresCluster.shared != nil)
    }
}

/// What only the PostgreSQL engine has: migrations raced by several nodes, the database's clock,
/// and connections that outlive a server restart.
@Suite(
    "PostgreSQL engine", .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason))
)
struct PostgresEngineTests {
    @Test("Nodes starting at once on a fresh database apply each migration exactly once")
    func concurrentMigrations() throws {
        let cluster = try StoreFixture.cluster()
        let name = try cluster.createDatabase()
        defer { cluster.dropDatabase(name) }
        let url = cluster.url(database: name)
        let failures = Mutex<[String]>([])
        let stores = Mutex<[PostgresStore]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let store = try PostgresStore(url: url, poolSize: 1, nowMs: 1)
                stores.withLock { $0.append(store) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let all = stores.withLock { $0 }
        defer { all.forEach { try? $0.close() } }
        let store = try #require(all.first)
        let rows = try store.read { connection in
            try connection.query(PostgresQuery("SELECT version, checksum FROM schema_migrations ORDER BY version")) {
                (version: $0.int(0), checksum: $0.string(1))
            }
        }
        let embedded = Migration.embedded(for: .postgresql)
        #expect(rows.map(\.version) == embedded.map(\.version))
        #expect(rows.map(\.checksum) == embedded.map(\.checksum))
        #expect(all.allSatisfy { $0.schemaVersion == embedded.count })
    }

    @Test("An applied migration edited since is refused, naming the version")
    func editedMigrationRefused() throws {
        let cluster = try StoreFixture.cluster()
        let name = try cluster.createDatabase()
        defer { cluster.dropDatabase(name) }
        let url = cluster.url(database: name)
        try PostgresStore(url: url, poolSize: 1, nowMs: 1).close()
        var edited = Migration.embedded(for: .postgresql)
        edited[0] = Migration(
            version: 1, name: edited[0].name, checksum: String(repeating: "0", count: 64), sql: edited[0].sql)
        #expect(throws: MigrationError.self) { try PostgresStore(url: url, poolSize: 1, migrations: edited, nowMs: 2) }
    }

    @Test("On the database's clock, leases ignore a node clock that is hours off")
    func databaseClockDecidesLeases() throws {
        let cluster = try StoreFixture.cluster()
        let name = try cluster.createDatabase()
        defer { cluster.dropDatabase(name) }
        let store = try PostgresStore(url: cluster.url(database: name), poolSize: 1, timeSource: .database, nowMs: 0)
        defer { try? store.close() }
        let hour: Int64 = 3_600_000
        let nodeNow = Int64(Date().timeIntervalSince1970 * 1000)
        _ = try store.insertJob(
            NewJob(id: "j", name: "j", specJSON: "{}", progressTotal: 1), idempotency: nil, maxQueued: 10,
            nowMs: nodeNow - 5 * hour)
        // A node whose clock runs two hours slow claims; one two hours fast reaps: nothing expires.
        let claimed = try #require(try store.claimJob(worker: "slow/0", nowMs: nodeNow - 2 * hour, leaseMs: 60_000))
        let expires = try #require(claimed.job.leaseExpiresMs)
        #expect(abs(expires - 60_000 - nodeNow) < 60_000)
        #expect(abs(claimed.job.createdMs - nodeNow) < 60_000)
        #expect(try store.reapExpiredLeases(nowMs: nodeNow + 2 * hour).isEmpty)
        #expect(try store.job(id: "j")?.status == .running)
    }

    @Test("A PostgreSQL restart between and during transactions costs a pause, not an error")
    func survivesRestart() throws {
        // A cluster of its own: restarting the shared one would disturb the tests running beside.
        let cluster = try PostgresCluster()
        let store = try PostgresStore(url: cluster.url(), poolSize: 2, timeSource: .caller, nowMs: 1)
        defer { try? store.close() }
        _ = try store.insertJob(
            NewJob(id: "j", name: "j", specJSON: "{}", progressTotal: 100), idempotency: nil, maxQueued: 10, nowMs: 1)
        _ = try #require(try store.claimJob(worker: "w", nowMs: 2, leaseMs: 1_000_000))
        try cluster.restart()
        // Every pooled connection is dead now; the first use finds out and reconnects.
        #expect(
            try store.heartbeat(jobID: "j", worker: "w", nowMs: 3, leaseMs: 1_000_000) == .held(cancelRequested: false))
        // Commits keep coming while the server restarts under them.
        let restarted = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? cluster.restart()
            restarted.signal()
        }
        for iteration in 0..<40 {
            let row = HistoryRow(
                metaIteration: iteration, itemJSON: "{}", trainingLoss: 1, validationLoss: 1,
                validationError: 0, hypergradientNorm: 1, seconds: 0, createdMs: 4)
            #expect(
                try store.commitMetaIteration(
                    jobID: "j", worker: "w", item: row, checkpoint: [UInt8(iteration)], progressDone: iteration + 1,
                    progressFraction: 0.01 * Double(iteration), latestJSON: nil, bestJSON: nil, nowMs: 4,
                    leaseMs: 1_000_000))
            Thread.sleep(forTimeInterval: 0.02)
        }
        restarted.wait()
        #expect(try store.history(jobID: "j", limit: 100).count == 40)
        #expect(try store.checkpoint(jobID: "j")?.state == [39])
        #expect(store.retriedTransactionCount > 0)
    }

    @Test("Named parameters become positions; casts and literals are left alone")
    func queryTranslation() throws {
        let query = PostgresQuery("SELECT ':x', :a::bigint + :b, \"c:d\" FROM t WHERE a = :a")
        #expect(query.text == "SELECT ':x', $1::bigint + $2, \"c:d\" FROM t WHERE a = $1")
        #expect(query.names == [":a", ":b"])
        #expect(try query.values([":a": .null, ":b": .integer(2)]) == [.null, .integer(2)])
    }

    @Test("A parameter the call leaves out is an error, not a silent NULL")
    func missingParameterThrows() throws {
        let query = PostgresQuery("SELECT :a::bigint + :b")
        #expect(throws: MissingSQLParameter(name: ":a", sql: query.sql)) { try query.values([":b": .integer(2)]) }
    }

    @Test("Columns are read by name, whatever their position, aliases included")
    func columnsByName() throws {
        let cluster = try StoreFixture.cluster()
        let name = try cluster.createDatabase()
        defer { cluster.dropDatabase(name) }
        let store = try PostgresStore(url: cluster.url(database: name), poolSize: 1, nowMs: 1)
        defer { try? store.close() }
        let row = try store.read { connection in
            try connection.queryFirst(
                PostgresQuery("SELECT 'x' AS s, 0.5::double precision AS r, :i::bigint * 2 AS doubled"),
                [":i": .integer(7)]
            ) {
                (doubled: $0.int("doubled"), r: $0.double("r"), s: $0.string("s"), n: $0.column("s"))
            }
        }
        #expect(row?.doubled == 14 && row?.r == 0.5 && row?.s == "x" && row?.n == 0)
    }

    @Test("Passwords never reach the logs")
    func redaction() {
        #expect(StoreLocation("postgres://u:secret@h:5432/db").description == "postgres://u:***@h:5432/db")
        #expect(StoreLocation("postgresql://h/db").engine == .postgresql)
        #expect(StoreLocation("data/rewind.sqlite") == .sqlite(path: "data/rewind.sqlite"))
    }

    @Test("A database that only answers read-only transactions is not writable")
    func readOnlyIsNotWritable() throws {
        let cluster = try StoreFixture.cluster()
        let name = try cluster.createDatabase()
        defer { cluster.dropDatabase(name) }
        let url = cluster.url(database: name)
        let store = try PostgresStore(url: url, poolSize: 1, nowMs: 1)
        try store.checkWritable()
        try store.pool.withConnection { connection in
            try connection.execute("ALTER DATABASE \(name) SET default_transaction_read_only = on")
        }
        try store.close()
        // New sessions start read-only, as on a standby after a failover.
        let reopened = try PostgresStore(url: url, poolSize: 1, retryWindow: .milliseconds(100), nowMs: 2)
        defer { try? reopened.close() }
        #expect(throws: StoreError.readOnly(reopened.location)) { try reopened.checkWritable() }
        #expect(try reopened.jobCounts()[.queued] == 0)
    }
}
