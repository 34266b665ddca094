import CPostgreSQL
import CSQLite
import Dispatch
import Foundation
import Synchronization

/// What one node knows about its database right now, kept in memory so that `/readyz`,
/// `/metrics` and the request path can ask without touching the database.
///
/// Two things drive it: what the connections see (a failed connect, a disk that is full, a
/// database that refuses writes mark it at once) and a short probe every second (every half
/// second while the database is not usable) that writes and deletes a row of `health_probe`,
/// which needs a real page. Only the probe marks the database usable again, so one lucky query
/// in the middle of an outage does not flap readiness.
public final class DatabaseHealth: Sendable {
    /// The database as this node last saw it.
    public enum Condition: Sendable, Equatable {
        /// Reads and writes work.
        case up
        /// Reads work but writes are refused: a full disk, a read-only database or standby, an
        /// SQLite file deleted under the service. The reason is for messages and logs.
        case refusingWrites(String)
        /// Not reachable at all: connects fail, or the node has not connected yet.
        case down(String)

        enum Kind { case up, refusingWrites, down }

        var kind: Kind {
            switch self {
            case .up: .up
            case .refusingWrites: .refusingWrites
            case .down: .down
            }
        }
    }

    private struct State {
        var condition: Condition
        /// When the database was last seen going from reachable to unreachable.
        var downSince: ContinuousClock.Instant?
        var lastGoodQuery: ContinuousClock.Instant?
        var monitoring = false
        var monitorStopped = false
        var observer: (@Sendable (Condition) -> Void)?
    }

    private let state: Mutex<State>
    private let waiting = Atomic<Int>(0)
    /// Signalled on every change of condition: workers waiting for the database wake up.
    private let changed = DispatchSemaphore(value: 0)
    private let wakeMonitor = DispatchSemaphore(value: 0)
    /// How often the probe runs while the database is usable, and while it is not.
    let probeInterval: Duration
    let recoveryProbeInterval: Duration
    /// How long an outage is taken for a blip that requests ride out (a PostgreSQL restart takes
    /// well under a second): within it, a request whose connect fails tries again until its
    /// deadline; past it the database is known down and requests are refused at once.
    public let blipAllowance: Duration

    /// A health that starts in `condition` (a node that has not reached its database yet starts
    /// `.down`).
    public init(
        _ condition: Condition = .up, probeInterval: Duration = .seconds(1),
        recoveryProbeInterval: Duration = .milliseconds(500), blipAllowance: Duration = .seconds(2)
    ) {
        let now = ContinuousClock.now
        state = Mutex(
            State(
                condition: condition, downSince: condition.kind == .down ? now : nil,
                lastGoodQuery: condition == .up ? now : nil))
        self.probeInterval = probeInterval
        self.recoveryProbeInterval = recoveryProbeInterval
        self.blipAllowance = blipAllowance
    }

    /// The health of a store that has no probe of its own (test doubles): always usable.
    public static let alwaysUp = DatabaseHealth()

    public var condition: Condition { state.withLock { $0.condition } }

    /// True when reads and writes work.
    public var isUp: Bool { condition == .up }

    /// True when the database cannot be reached at all (reads fail too).
    public var isDown: Bool { condition.kind == .down }

    /// True once the database has been unreachable for longer than `blipAllowance`: requests
    /// that need it are answered 503 at once.
    public var isKnownDown: Bool {
        state.withLock { state in
            guard state.condition.kind == .down, let since = state.downSince else { return false }
            return ContinuousClock.now - since >= blipAllowance
        }
    }

    /// True while the database is unreachable but only for less than `blipAllowance`.
    var isInBlip: Bool { isDown && !isKnownDown }

    /// Seconds since a query last succeeded on this node; nil if none ever did.
    public var secondsSinceLastGoodQuery: Double? {
        guard let last = state.withLock({ $0.lastGoodQuery }) else { return nil }
        let elapsed = ContinuousClock.now - last
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// Borrowers waiting for a pooled connection right now.
    public var poolWaiters: Int { waiting.load(ordering: .relaxed) }

    /// Called with every change of condition (the CLI logs them).
    public func observe(_ observer: @escaping @Sendable (Condition) -> Void) {
        state.withLock { $0.observer = observer }
    }

    /// Waits up to `timeout` for the database to be usable; true when it is.
    public func waitUntilUp(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isUp {
            let left = deadline - .now
            guard left > .zero else { return false }
            _ = changed.wait(timeout: .now() + .milliseconds(Int(min(left, .milliseconds(250)) / .milliseconds(1))))
        }
        return true
    }

    // MARK: Fed by the engines

    /// A query or transaction succeeded.
    func recordGoodQuery() {
        state.withLock { $0.lastGoodQuery = .now }
    }

    /// The probe succeeded: the database is usable.
    func markUp() {
        set(.up, goodQuery: true)
    }

    /// Records what `error` says about the database, if anything: an error that is about the
    /// request itself (a constraint, a collision with another transaction) changes nothing.
    func record(_ error: any Error) {
        guard let condition = Self.condition(after: error) else { return }
        // A database that cannot be reached is worse than one that only refuses writes.
        if case .refusingWrites = condition, isDown { return }
        set(condition, goodQuery: false)
    }

    func waitingForConnection(_ body: () -> DispatchTimeoutResult) -> DispatchTimeoutResult {
        waiting.add(1, ordering: .relaxed)
        defer { waiting.subtract(1, ordering: .relaxed) }
        return body()
    }

    private func set(_ condition: Condition, goodQuery: Bool) {
        let (observer, changedKind) = state.withLock { state in
            if goodQuery { state.lastGoodQuery = .now }
            let changedKind = condition.kind != state.condition.kind
            if changedKind, condition.kind == .down { state.downSince = .now }
            state.condition = condition
            return (state.observer, changedKind)
        }
        // Observers hear of changes of kind only: another reason for the same outage is no news.
        guard changedKind else { return }
        changed.signal()
        observer?(condition)
    }

    /// What an error says about the database: nil when it says nothing about its availability.
    public static func condition(after error: any Error) -> Condition? {
        switch error {
        case let error as StoreError:
            switch error {
            case .unavailable(let reason): return .down(reason)
            case .databaseFileGone, .readOnly: return .refusingWrites(error.description)
            default: return nil
            }
        case let error as PostgresError:
            if error.connectFailed { return .down(error.message) }
            guard let state = error.sqlState else { return nil }
            // 57P03: cannot connect now (starting up, shutting down); class 53: out of disk,
            // memory or connections; 25006: a read-only transaction (a standby).
            if state == "57P03" { return .down(error.message) }
            // 57014: the probe's statement timeout, a database that does not answer.
            if state == "57014" { return .down("the database did not answer in time") }
            if state == "25006" { return .refusingWrites(error.message) }
            if state == "53100" { return .refusingWrites("the database's disk is full") }
            return nil
        case let error as SQLiteError:
            switch error.code {
            case SQLITE_FULL: return .refusingWrites("the disk is full")
            case SQLITE_READONLY: return .refusingWrites("the database file is read-only")
            case SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_NOTADB, SQLITE_CORRUPT: return .down(error.message)
            default: return nil
            }
        default:
            return nil
        }
    }

    // MARK: The probe

    /// Runs `probe` every `probeInterval` (every `recoveryProbeInterval` while the database is
    /// not usable) on a thread of its own, until `stopMonitoring` or until `probe` answers nil
    /// (its store is gone). A probe that fails marks the database by its error.
    func startMonitoring(_ probe: @escaping @Sendable () -> (any Error)??) {
        let started = state.withLock { state in
            defer { state.monitoring = true }
            return state.monitoring
        }
        guard !started else { return }
        let thread = Thread { [self] in
            while !state.withLock({ $0.monitorStopped }) {
                let interval = isUp ? probeInterval : recoveryProbeInterval
                _ = wakeMonitor.wait(timeout: .now() + .milliseconds(Int(interval / .milliseconds(1))))
                guard !state.withLock({ $0.monitorStopped }) else { return }
                guard let outcome = probe() else { return }
                if let error = outcome {
                    // An error that says nothing about availability (a lock held by another
                    // process past the busy timeout) leaves the condition as it is.
                    record(error)
                } else {
                    markUp()
                }
            }
        }
        thread.name = "rewind.database-health"
        thread.start()
    }

    /// Stops the probe (the store is closing).
    func stopMonitoring() {
        state.withLock { $0.monitorStopped = true }
        wakeMonitor.signal()
    }
}

/// A deadline for the store calls made inside `StoreDeadline.within(_:_:)`: waiting for a pooled
/// connection and retrying a transaction stop there. Request handlers set one; workers, which
/// ride out short outages, use the engine's retry window instead.
public enum StoreDeadline {
    @TaskLocal static var current: ContinuousClock.Instant?

    /// Runs `body` with store calls bounded by `budget` from now.
    public static func within<T>(_ budget: Duration, _ body: () throws -> T) rethrows -> T {
        try $current.withValue(ContinuousClock.now + budget) { try body() }
    }
}

extension Store {
    /// A store without a probe of its own (a test double) is always usable.
    public var health: DatabaseHealth { DatabaseHealth.alwaysUp }
}
