import Synchronization

/// In-process fan-out of job events to whoever watches (event streams, tests). Durable state is
/// in the store; this only tells watchers to look now instead of polling.
///
/// Events published here can also be relayed to other nodes (`relay`), and events that other
/// nodes relayed are delivered here (`deliverRemote`) without being relayed again.
public final class JobEventHub: Sendable {
    public enum Event: Sendable, Equatable {
        /// Inner-step progress: items written so far and the job's overall fraction.
        case progress(done: Int, fraction: Double)
        /// A history item was committed, after `seconds` of work.
        case metaIteration(Int, seconds: Double)
        /// The job's status changed.
        case status(String)
    }

    /// Keeps a subscription alive; cancel it (or drop every reference) to stop receiving.
    public final class Subscription: Sendable {
        let id: Int
        weak let hub: JobEventHub?

        init(id: Int, hub: JobEventHub) {
            self.id = id
            self.hub = hub
        }

        public func cancel() {
            hub?.remove(id)
        }

        deinit {
            hub?.remove(id)
        }
    }

    private struct Watcher {
        let jobID: String?
        let includesRemote: Bool
        let handler: @Sendable (String, Event) -> Void
    }

    private struct Watchers {
        var next = 0
        /// By job (nil: every job's watchers), then by subscription id: an event finds its
        /// watchers without looking at the other jobs'.
        var byJob: [String?: [Int: Watcher]] = [:]
        var jobOf: [Int: String?] = [:]
    }

    private let watchers = Mutex(Watchers())
    private let relay = Mutex<(@Sendable (String, Event) -> Void)?>(nil)

    public init() {}

    /// Calls `handler` (on the publishing thread; keep it short) for every event of `jobID`, or of
    /// every job when nil, until the subscription is cancelled. With `includingRemote` false only
    /// this process's own events arrive (metrics count each event on the node that made it).
    public func subscribe(
        jobID: String?, includingRemote: Bool = true, _ handler: @escaping @Sendable (String, Event) -> Void
    ) -> Subscription {
        let id = watchers.withLock { state in
            state.next += 1
            state.byJob[jobID, default: [:]][state.next] = Watcher(
                jobID: jobID, includesRemote: includingRemote, handler: handler)
            state.jobOf[state.next] = jobID
            return state.next
        }
        return Subscription(id: id, hub: self)
    }

    /// Delivers an event of this process to its watchers, then relays it to other nodes.
    public func publish(jobID: String, _ event: Event) {
        deliver(jobID: jobID, event, remote: false)
        relay.withLock { $0 }?(jobID, event)
    }

    /// Delivers an event another node published (not relayed again).
    public func deliverRemote(jobID: String, _ event: Event) {
        deliver(jobID: jobID, event, remote: true)
    }

    /// Where published events go besides this process's watchers (set once, by the runner).
    public func setRelay(_ relay: @escaping @Sendable (String, Event) -> Void) {
        self.relay.withLock { $0 = relay }
    }

    private func deliver(jobID: String, _ event: Event, remote: Bool) {
        let targets = watchers.withLock { state in
            let candidates = Array((state.byJob[jobID] ?? [:]).values) + Array((state.byJob[nil] ?? [:]).values)
            return remote ? candidates.filter(\.includesRemote) : candidates
        }
        for watcher in targets { watcher.handler(jobID, event) }
    }

    public var watcherCount: Int {
        watchers.withLock { $0.jobOf.count }
    }

    fileprivate func remove(_ id: Int) {
        watchers.withLock { state in
            guard let jobID = state.jobOf.removeValue(forKey: id) else { return }
            state.byJob[jobID]?[id] = nil
            if state.byJob[jobID]?.isEmpty == true { state.byJob[jobID] = nil }
        }
    }
}
