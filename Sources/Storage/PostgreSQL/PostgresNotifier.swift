import CPostgreSQL
import Dispatch
import Foundation
import Synchronization

/// Cross-node signals through PostgreSQL's `LISTEN`/`NOTIFY`, on two connections of its own
/// (never the pool's, so signals neither wait for nor delay transactions):
///
/// - a listening connection, on a thread that waits on its socket and re-connects (with capped
///   back-off) whenever it breaks, e.g. across a PostgreSQL restart; every (re-)connection is
///   reported as `.resynchronize`, since signals sent meanwhile are lost;
/// - a sending connection behind a serial queue, so signals leave in the order they were sent and
///   the caller never waits for a round trip.
///
/// Every payload starts with this notifier's origin id, so a node ignores its own echoes (it
/// already told its own listeners in process).
final class PostgresNotifier: StoreNotifier, @unchecked Sendable {
    /// The one channel every node listens on.
    static let channel = "rewind_signals"
    /// The connection the sending queue owns; touched only on `sendQueue`.
    private var sender: PostgresConnection?
    /// After a failed delivery, signals are dropped until then (touched only on `sendQueue`): an
    /// outage must not pile up connection attempts, and polling covers what is dropped.
    private var quietUntil = ContinuousClock.now
    /// Signals handed to `send` and not yet delivered or dropped.
    private let pending = Atomic<Int>(0)
    /// More pending signals than this are dropped at once (a stalled link, a slow server).
    static let maximumPending = 1_000

    private let parameters: [(String, String)]
    private let origin: String
    private let sendQueue = DispatchQueue(label: "rewind.notify.send")
    private let closed = Atomic<Bool>(false)
    private let listenerDone = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    init(parameters: [(String, String)]) {
        // A dead peer must not hang the listener or the sender for TCP's default minutes.
        self.parameters =
            parameters + [
                ("application_name", "rewind-signals"), ("keepalives", "1"), ("keepalives_idle", "5"),
                ("keepalives_interval", "2"), ("keepalives_count", "3"), ("tcp_user_timeout", "10000"),
            ]
        origin = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    var crossesNodes: Bool { true }

    func send(_ signal: StoreSignal) {
        guard !closed.load(ordering: .relaxed) else { return }
        let payload = "\(origin) " + Self.encode(signal)
        // NOTIFY payloads are limited to 8000 bytes; ours are far smaller, but never fail on it.
        guard payload.utf8.count < 7900 else { return }
        guard pending.add(1, ordering: .relaxed).newValue <= Self.maximumPending else {
            pending.subtract(1, ordering: .relaxed)
            return
        }
        sendQueue.async {
            self.deliver(payload)
            self.pending.subtract(1, ordering: .relaxed)
        }
    }

    func start(_ handler: @escaping @Sendable (StoreNotification) -> Void) {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [self] in
            listen(handler)
            listenerDone.signal()
        }
        thread.name = "rewind.notify.listen"
        thread.start()
    }

    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        // Whatever was sent before the close still goes out, within a bound.
        let flushed = DispatchSemaphore(value: 0)
        sendQueue.async {
            self.sender = nil
            flushed.signal()
        }
        _ = flushed.wait(timeout: .now() + 2)
        if started.load(ordering: .relaxed) { _ = listenerDone.wait(timeout: .now() + 2) }
    }

    /// Sends one payload, re-connecting once if the connection broke; drops it otherwise.
    private func deliver(_ payload: String) {
        guard ContinuousClock.now >= quietUntil else { return }
        defer { if sender == nil { quietUntil = .now + .seconds(1) } }
        for _ in 0..<2 {
            do {
                let connection = try sender ?? PostgresConnection(parameters: parameters)
                sender = connection
                try connection.run(Self.notify, [":channel": .text(Self.channel), ":payload": .text(payload)])
                return
            } catch {
                sender = nil
            }
        }
    }

    private static let notify = PostgresQuery("SELECT pg_notify(:channel, :payload)")

    /// The listening loop: connect, `LISTEN`, wait on the socket, hand over notifications;
    /// on any failure drop the connection and start again.
    private func listen(_ handler: @Sendable (StoreNotification) -> Void) {
        var pause = 0.05
        while !closed.load(ordering: .relaxed) {
            guard let connection = try? PostgresConnection(parameters: parameters),
                (try? connection.execute("LISTEN \(Self.channel)")) != nil
            else {
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 1)
                continue
            }
            pause = 0.05
            handler(.resynchronize)
            receive(on: connection, handler)
        }
    }

    /// Reads notifications until the connection breaks or the notifier closes. An idle connection
    /// is probed every few seconds, so a silently dead one is noticed.
    private func receive(on connection: PostgresConnection, _ handler: @Sendable (StoreNotification) -> Void) {
        let socket = PQsocket(connection.handle)
        guard socket >= 0 else { return }
        var lastActivity = ContinuousClock.now
        while !closed.load(ordering: .relaxed) {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 250)
            if ready < 0 && errno != EINTR { return }
            if ready > 0 {
                lastActivity = .now
                guard PQconsumeInput(connection.handle) == 1 else { return }
                while let notification = PQnotifies(connection.handle) {
                    let payload = String(cString: notification.pointee.extra)
                    PQfreemem(notification)
                    if let signal = decode(payload) { handler(.signal(signal)) }
                }
            } else if ContinuousClock.now - lastActivity > .seconds(5) {
                lastActivity = .now
                guard (try? connection.execute("SELECT 1")) != nil else { return }
            }
            guard connection.isHealthy else { return }
        }
    }

    /// `q`, `c JOB`, or `e JOB PAYLOAD`.
    static func encode(_ signal: StoreSignal) -> String {
        switch signal {
        case .jobQueued: "q"
        case .cancelRequested(let jobID): "c \(jobID)"
        case .jobEvent(let jobID, let payload): "e \(jobID) \(payload)"
        }
    }

    /// The signal in another node's payload; nil for this node's own or an unknown one.
    func decode(_ text: String) -> StoreSignal? {
        let parts = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts[0] != origin else { return nil }
        switch (parts[1], parts.count) {
        case ("q", _): return .jobQueued
        case ("c", 3): return .cancelRequested(jobID: parts[2])
        case ("e", 4): return .jobEvent(jobID: parts[2], payload: parts[3])
        default: return nil
        }
    }
}
