import Dispatch
import Foundation
import Synchronization

/// A small, fixed-size pool of PostgreSQL connections, each lent to one borrower at a time, that
/// outlives PostgreSQL restarts.
///
/// A whole transaction is run again, with capped back-off, only after a short blip: a
/// serialization failure or deadlock (40001, 40P01), or a pooled connection that broke while in
/// use (the server restarted since it was opened), which is replaced by a fresh one. Retries stop
/// at the caller's `StoreDeadline` (a request's) or after `retryWindow` (a worker's, so that a
/// PostgreSQL restart mid-job costs the job a pause, not its run). A connect that fails marks the
/// node's `DatabaseHealth` down; a request tries connecting again only during the first
/// `blipAllowance` of an outage (a restart), and once the database is known down, calls with a
/// deadline fail at once with `StoreError.unavailable`. Waiting for a free connection stops at
/// the same deadline (`StoreError.connectionWaitTimedOut`). Connections are made lazily.
final class PostgresConnectionPool: Sendable {
    /// A connection the pool hands to one borrower at a time; never shared concurrently.
    private final class Slot: @unchecked Sendable {
        var connection: PostgresConnection?
    }

    private struct State {
        var idle: [Slot]
        var isClosed = false
    }

    /// libpq connection parameters; also used by the notifier's own connections.
    let parameters: [(String, String)]
    private let size: Int
    private let retryWindow: Duration
    private let available: DispatchSemaphore
    private let state: Mutex<State>
    /// Transactions run again after a transient failure.
    let retries = Atomic<Int>(0)
    /// Transactions that failed on a collision with another transaction.
    let contentions = Atomic<Int>(0)
    let health: DatabaseHealth

    init(parameters: [(String, String)], size: Int, retryWindow: Duration, health: DatabaseHealth = DatabaseHealth()) {
        precondition(size > 0, "a pool needs at least one connection")
        self.parameters = parameters
        self.health = health
        self.size = size
        self.retryWindow = retryWindow
        available = DispatchSemaphore(value: size)
        state = Mutex(State(idle: (0..<size).map { _ in Slot() }))
    }

    /// Opens one connection now (and keeps it), so a wrong address or password fails at start-up
    /// with libpq's message instead of at the first request.
    func warmUp() throws {
        try withSlot { slot in _ = try connection(in: slot) }
    }

    /// Runs `body` in one transaction (`BEGIN` ... `COMMIT`), retried as a whole on transient
    /// failures. `body` may therefore run more than once: it must only touch the database.
    func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try retrying {
            try withSlot { slot in
                let connection = try connection(in: slot)
                do {
                    try connection.execute("BEGIN")
                    let result = try body(connection)
                    try connection.execute("COMMIT")
                    return result
                } catch {
                    if connection.isHealthy, connection.isInTransaction { try? connection.execute("ROLLBACK") }
                    if !connection.isHealthy { slot.connection = nil }
                    throw error
                }
            }
        }
    }

    /// Runs `body` on a connection outside any transaction (session-level work), with the same retries.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try retrying {
            try withSlot { slot in
                let connection = try connection(in: slot)
                do {
                    return try body(connection)
                } catch {
                    if !connection.isHealthy { slot.connection = nil }
                    throw error
                }
            }
        }
    }

    /// Waits for every borrowed connection to come back, then closes them all.
    func close() {
        let wasClosed = state.withLock { state in
            defer { state.isClosed = true }
            return state.isClosed
        }
        guard !wasClosed else { return }
        for _ in 0..<size { available.wait() }
        state.withLock { state in
            for slot in state.idle { slot.connection = nil }
        }
        for _ in 0..<size { available.signal() }
    }

    private func connection(in slot: Slot) throws -> PostgresConnection {
        if let connection = slot.connection, connection.isHealthy { return connection }
        slot.connection = nil
        do {
            let connection = try PostgresConnection(parameters: parameters)
            slot.connection = connection
            return connection
        } catch {
            health.record(error)
            throw error
        }
    }

    /// Lends a slot once one is free, waiting no later than the caller's deadline (a worker's:
    /// the retry window). A caller with a deadline is refused at once while the database is known
    /// to be down.
    private func withSlot<T>(_ body: (Slot) throws -> T) throws -> T {
        let requestDeadline = StoreDeadline.current
        try refuseIfKnownDown(requestDeadline)
        let deadline = requestDeadline ?? .now + retryWindow
        let acquired = health.waitingForConnection {
            available.wait(timeout: .now() + .nanoseconds(Int(max(.zero, deadline - .now) / .nanoseconds(1))))
        }
        guard acquired == .success else { throw StoreError.connectionWaitTimedOut }
        defer { available.signal() }
        // Those who waited while others found the database down need not try it again.
        try refuseIfKnownDown(requestDeadline)
        guard let slot = state.withLock({ $0.isClosed ? nil : $0.idle.popLast() }) else {
            throw StoreError.closed
        }
        defer { state.withLock { $0.idle.append(slot) } }
        let result = try body(slot)
        health.recordGoodQuery()
        return result
    }

    private func refuseIfKnownDown(_ requestDeadline: ContinuousClock.Instant?) throws {
        guard requestDeadline != nil, health.isKnownDown, case .down(let reason) = health.condition else { return }
        throw StoreError.unavailable(reason)
    }

    private func retrying<T>(_ body: () throws -> T) throws -> T {
        let requestDeadline = StoreDeadline.current
        let deadline = min(requestDeadline ?? .now + retryWindow, .now + retryWindow)
        var pause = Duration.milliseconds(20)
        while true {
            do {
                return try body()
            } catch let error as PostgresError where error.isTransient {
                if error.isContention { contentions.add(1, ordering: .relaxed) }
                // A request waits for a database that cannot be reached only through a blip.
                if requestDeadline != nil, error.connectFailed, !health.isInBlip {
                    throw StoreError.unavailable(error.message)
                }
                guard ContinuousClock.now + pause < deadline else {
                    throw error.connectFailed ? StoreError.unavailable(error.message) : error
                }
                retries.add(1, ordering: .relaxed)
                Thread.sleep(
                    forTimeInterval: Double(pause.components.attoseconds) * 1e-18 + Double(pause.components.seconds))
                // A request looks again soon: a restarted server is back in a fraction of a second.
                pause = min(pause * 2, requestDeadline == nil ? .seconds(1) : .milliseconds(200))
            }
        }
    }

    /// The probe: one short transaction on a connection of its own (never a pooled one, so a
    /// pool full of waiters cannot delay it) that writes and deletes a row, which a read-only or
    /// full database refuses. Answers the error, or nil when the database is usable.
    func probe(on probeConnection: inout PostgresConnection?) -> (any Error)? {
        do {
            if probeConnection?.isHealthy != true {
                probeConnection = nil
                // libpq waits at least 2 s for a connect; a statement may take 1.5 s.
                let connection = try PostgresConnection(
                    parameters: parameters + [("connect_timeout", "2"), ("options", "-c statement_timeout=1500")])
                probeConnection = connection
            }
            try probeConnection!.execute(HealthProbeSQL.postgresql)
            health.recordGoodQuery()
            return nil
        } catch {
            if probeConnection?.isHealthy != true { probeConnection = nil }
            return error
        }
    }
}
