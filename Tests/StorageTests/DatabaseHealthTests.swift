import CSQLite
import Dispatch
import Foundation
import RewindTestSupport
import Synchronization
import Testing

@testable import Storage

/// What marks a node's database down or refusing writes, and how the PostgreSQL pool bounds its
/// waits by the caller's deadline.
@Suite("Database health")
struct DatabaseHealthTests {
    @Test("Errors about the database mark it; errors about the request do not")
    func classification() {
        #expect(
            DatabaseHealth.condition(after: PostgresError(sqlState: nil, message: "refused", connectFailed: true))
                == .down("refused"))
        #expect(
            DatabaseHealth.condition(after: PostgresError(sqlState: "25006", message: "read-only"))
                == .refusingWrites("read-only"))
        // A broken pooled connection is replaced, a collision retried: neither says the database is down.
        #expect(
            DatabaseHealth.condition(after: PostgresError(sqlState: nil, message: "lost", connectionLost: true)) == nil)
        #expect(DatabaseHealth.condition(after: PostgresError(sqlState: "40001", message: "serialization")) == nil)
        #expect(DatabaseHealth.condition(after: PostgresError(sqlState: "23505", message: "duplicate")) == nil)
        #expect(
            DatabaseHealth.condition(after: SQLiteError(extendedCode: SQLITE_FULL, message: "full"))
                == .refusingWrites("the disk is full"))
        #expect(DatabaseHealth.condition(after: SQLiteError(extendedCode: SQLITE_BUSY, message: "busy")) == nil)
        #expect(DatabaseHealth.condition(after: StoreError.databaseFileGone(path: "x")) != nil)
        #expect(DatabaseHealth.condition(after: StoreError.invalidPageToken) == nil)
        #expect(
            PostgresError(
                sqlState: nil, message: "FATAL:  password authentication failed for user", connectFailed: true
            ).isRefusedLogin)
        #expect(!PostgresError(sqlState: nil, message: "Connection refused", connectFailed: true).isRefusedLogin)
    }

    @Test("Only the probe marks a database usable again; a lost reachability is worse than refused writes")
    func transitions() {
        let health = DatabaseHealth(.down("not connected yet"))
        let seen = Mutex<[DatabaseHealth.Condition]>([])
        health.observe { condition in seen.withLock { $0.append(condition) } }
        health.markUp()
        health.record(SQLiteError(extendedCode: SQLITE_FULL, message: "full"))
        health.record(PostgresError(sqlState: nil, message: "refused", connectFailed: true))
        health.record(SQLiteError(extendedCode: SQLITE_FULL, message: "full"))
        health.recordGoodQuery()
        #expect(health.isDown)
        health.markUp()
        #expect(seen.withLock { $0 } == [.up, .refusingWrites("the disk is full"), .down("refused"), .up])
        #expect((health.secondsSinceLastGoodQuery ?? 99) < 5)
    }

    @Test(
        "Waiting for a pooled connection ends at the caller's deadline, and waiters are counted",
        .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func poolWaitDeadline() throws {
        let cluster = try StoreFixture.cluster()
        let name = try cluster.createDatabase()
        defer { cluster.dropDatabase(name) }
        let store = try PostgresStore(url: cluster.url(database: name), poolSize: 1, nowMs: 1)
        defer { try? store.close() }
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let holder = DispatchGroup()
        DispatchQueue.global().async(group: holder) {
            _ = try? store.read { _ in
                holding.signal()
                release.wait()
            }
        }
        holding.wait()
        let waiter = DispatchGroup()
        let waited = Mutex<(any Error)?>(nil)
        DispatchQueue.global().async(group: waiter) {
            do {
                _ = try StoreDeadline.within(.milliseconds(300)) { try store.jobCounts() }
            } catch {
                waited.withLock { $0 = error }
            }
        }
        #expect(eventually { store.health.poolWaiters == 1 })
        waiter.wait()
        #expect(waited.withLock { $0 } as? StoreError == .connectionWaitTimedOut)
        #expect(store.health.poolWaiters == 0)
        // Pool exhaustion is not an outage.
        #expect(store.health.isUp)
        release.signal()
        holder.wait()
        #expect(try StoreDeadline.within(.milliseconds(300)) { try store.jobCounts() }[.queued] == 0)
    }
}

extension DatabaseHealthTests {
    @Test(
        "A database that turns read-only (a standby after a failover) is seen within 2 s, and its return too",
        .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func readOnlyDatabaseSeenByTheProbe() throws {
        let cluster = try StoreFixture.cluster()
        let name = try cluster.createDatabase()
        defer { cluster.dropDatabase(name) }
        let store = try PostgresStore(url: cluster.url(database: name), poolSize: 1, nowMs: 1)
        defer { try? store.close() }
        #expect(store.health.isUp)
        // New sessions start read-only; the ones open now are ended, as a failover ends them.
        let reconnectEveryone = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(name)'"
        try cluster.execute("ALTER DATABASE \(name) SET default_transaction_read_only = on")
        try cluster.execute(reconnectEveryone)
        let turned = ContinuousClock.now
        #expect(eventually { store.health.condition.kind == .refusingWrites })
        #expect(ContinuousClock.now - turned < .seconds(2), "seen after \(ContinuousClock.now - turned)")
        // Reads still work.
        #expect(try StoreDeadline.within(.seconds(1)) { try store.jobCounts() }[.queued] == 0)

        try cluster.execute("ALTER DATABASE \(name) SET default_transaction_read_only = off")
        try cluster.execute(reconnectEveryone)
        let back = ContinuousClock.now
        #expect(eventually { store.health.isUp })
        #expect(ContinuousClock.now - back < .seconds(2), "seen after \(ContinuousClock.now - back)")
    }
}

/// Polls `condition` for up to 10 s.
private func eventually(_ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
