import Dispatch
import Foundation
import Synchronization

/// A small, fixed-size pool of PostgreSQL connections, each lent to one borrower at a time, that
/// outlives PostgreSQL restarts.
///
/// A transaction that fails because the connection broke, the server is restarting, or it
/// collided with another transaction (serialization failure, deadlock) is run again on a fresh
/// connection with capped back-off, for up to `retryWindow`: a PostgreSQL restart mid-job costs
/// the job a pause, not its run. Connections are made lazily, so a pool starts with none open.
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

    init(parameters: [(String, String)], size: Int, retryWindow: Duration) {
        precondition(size > 0, "a pool needs at least one connection")
        self.parameters = parameters
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
        let connection = try PostgresConnection(parameters: parameters)
        slot.connection = connection
        return connection
    }

    private func withSlot<T>(_ body: (Slot) throws -> T) throws -> T {
        available.wait()
        defer { available.signal() }
        guard let slot = state.withLock({ $0.isClosed ? nil : $0.idle.popLast() }) else {
            throw StoreError.closed
        }
        defer { state.withLock { $0.idle.append(slot) } }
        return try body(slot)
    }

    private func retrying<T>(_ body: () throws -> T) throws -> T {
        let deadline = ContinuousClock.now + retryWindow
        var pause = Duration.milliseconds(20)
        while true {
            do {
                return try body()
            } catch let error as PostgresError where error.isTransient && ContinuousClock.now < deadline {
                if error.isContention { contentions.add(1, ordering: .relaxed) }
                retries.add(1, ordering: .relaxed)
                Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) * 1e-18 + Double(pause.components.seconds))
                pause = min(pause * 2, .seconds(1))
            }
        }
    }
}
