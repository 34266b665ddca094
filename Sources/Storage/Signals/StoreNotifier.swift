/// A signal one node sends to every other node sharing its database.
///
/// Signals only say "look now"; the database stays the ground truth. A receiver that misses one
/// (the connection dropped, the database restarted) still converges, because workers poll the
/// queue, watchers poll their job, and leases expire on their own.
public enum StoreSignal: Sendable, Equatable {
    /// A job was queued: an idle worker anywhere should claim now.
    case jobQueued
    /// Cancellation of a running job was recorded: its worker should stop at its next inner step.
    case cancelRequested(jobID: String)
    /// A live event of a job (progress, a committed meta-iteration, a status change), encoded by
    /// the layer above; storage only carries it.
    case jobEvent(jobID: String, payload: String)
}

/// What a notifier hands to its listener.
public enum StoreNotification: Sendable, Equatable {
    /// A signal from another node (never one this notifier sent itself).
    case signal(StoreSignal)
    /// The listening connection was (re-)established: signals may have been lost meanwhile, so
    /// the listener should look at the database now rather than wait for its next poll.
    case resynchronize
}

/// How nodes tell each other about changes: engine-specific, because only a shared database
/// engine has other nodes to tell.
///
/// `send` never blocks the caller for a round trip and never throws: a signal that cannot be
/// delivered is dropped, and the receivers' polling covers for it.
public protocol StoreNotifier: Sendable {
    /// True when signals reach other processes (PostgreSQL); false for a single-node engine.
    var crossesNodes: Bool { get }
    /// Sends `signal` to every other node, in the order of the calls.
    func send(_ signal: StoreSignal)
    /// Starts delivering other nodes' signals to `handler` (on a thread of the notifier's own).
    /// Call once.
    func start(_ handler: @escaping @Sendable (StoreNotification) -> Void)
    /// Stops listening, after sending what was already handed to `send` (bounded wait).
    func close()
}

/// The notifier of a single-node engine (SQLite): everything that listens lives in this process
/// and hears events through the in-process hub, so there is nobody else to tell.
public struct LocalNotifier: StoreNotifier {
    public init() {}
    public var crossesNodes: Bool { false }
    public func send(_ signal: StoreSignal) {}
    public func start(_ handler: @escaping @Sendable (StoreNotification) -> Void) {}
    public func close() {}
}

extension Store {
    /// The notifier that suits this store's engine: `LISTEN`/`NOTIFY` on PostgreSQL, none on SQLite.
    public func makeNotifier() -> StoreNotifier {
        if let postgres = self as? PostgresStore {
            return PostgresNotifier(parameters: postgres.pool.parameters)
        }
        return LocalNotifier()
    }
}
