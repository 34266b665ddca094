import Dispatch
import Foundation
import Glibc
import Synchronization

/// The I/O shell: one thread runs epoll over the listener and every connection, feeds the
/// connection state machines and carries out their actions. Handlers run on a Dispatch queue and
/// hand responses back through `execute`, so no thread ever blocks per connection (libdispatch
/// caps its pool at 255 threads; idle keep-alive connections must cost no thread at all).
final class EventLoop: @unchecked Sendable {
    // Thread confinement: everything but `inbox` (behind its Mutex), `drained` and `exited` is
    // touched only on the loop thread.
    struct Settings: Sendable {
        var connection: HTTPConnectionStateMachine.Configuration
        var maxConnections: Int
        var maxConnectionsPerClient: Int
        var screen: (@Sendable (HTTPRequest) -> HTTPResponse?)?
        var answersInline: @Sendable (HTTPRequestHead) -> Bool
        var longLived: @Sendable (HTTPRequestHead) -> Bool
        var lingerTimeout: UInt64
        var writeStallTimeout: UInt64
        var maxOutboundBytes: Int
        var sweepInterval: UInt64
        var log: @Sendable (String) -> Void
    }

    private struct Inbox {
        var tasks: [@Sendable () -> Void] = []
        var wakePending = false
        var open = true
    }

    private static let listenerToken: UInt64 = 0

    let settings: Settings
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    let handlerQueue: DispatchQueue
    /// Where head screens run: a serial queue of its own (screens are short), so that they never
    /// wait behind long handlers for a thread.
    let screenQueue = DispatchQueue(label: "rewind.http.screen")
    /// Where the handlers of long-lived responses run, one at a time (see
    /// `HTTPServer.Configuration.longLived`).
    let longLivedQueue = DispatchQueue(label: "rewind.http.long-lived")
    let epoll: Epoll
    private let wakeWrite: Int32
    private let inbox = Mutex(Inbox())
    private let drained = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)

    private var listener: Int32?
    var connections: [UInt64: Connection] = [:]
    var servingCount = 0
    /// Connections being served per client address (the host part of the peer address).
    var servingPerClient: [String: Int] = [:]
    private var nextConnectionID: UInt64 = 1
    private var running = true
    private var stopping = false
    private var drainedSignalled = false
    private var acceptPausedUntil: UInt64?
    private var nextSweep: UInt64 = 0
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    init(
        listener: Int32, settings: Settings, handlerQueue: DispatchQueue,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) throws(SystemError) {
        self.settings = settings
        self.handler = handler
        self.handlerQueue = handlerQueue
        self.epoll = try Epoll()
        self.wakeWrite = epoll.wakeWrite
        self.listener = listener
        try epoll.add(listener, events: Epoll.readable, token: Self.listenerToken)
    }

    deinit { readBuffer.deallocate() }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "rewind-http-loop"
        thread.start()
    }

    /// Runs `task` on the loop thread; false once the loop has exited (the task is dropped).
    @discardableResult
    func execute(_ task: @escaping @Sendable () -> Void) -> Bool {
        inbox.withLock { inbox in
            guard inbox.open else { return false }
            inbox.tasks.append(task)
            if !inbox.wakePending {
                inbox.wakePending = true
                Epoll.wake(wakeWrite)
            }
            return true
        }
    }

    /// Blocks until every connection closed after `beginStop`, or `timeout` passed.
    func waitUntilDrained(timeout: DispatchTime) -> Bool { drained.wait(timeout: timeout) == .success }

    func waitUntilExited() { exited.wait() }

    // MARK: - The loop

    private func run() {
        var events = EpollEvent.Buffer(capacity: 256)
        nextSweep = MonotonicClock.now() &+ settings.sweepInterval
        while running {
            let now = MonotonicClock.now()
            let timeout = nextSweep > now ? Int32(min((nextSweep - now) / 1_000_000 + 1, 1000)) : 0
            let count: Int
            do {
                count = try epoll.wait(&events, timeoutMilliseconds: timeout)
            } catch {
                settings.log("epoll_wait: \(error)")
                count = 0
            }
            for index in 0..<count {
                let (flags, token) = events.event(index)
                switch token {
                case Epoll.wakeToken: epoll.drainWake()
                case Self.listenerToken: acceptConnections()
                default: if let connection = connections[token] { handle(flags, on: connection) }
                }
            }
            runTasks()
            let after = MonotonicClock.now()
            if after >= nextSweep {
                sweep(now: after)
                nextSweep = after &+ settings.sweepInterval
            }
        }
        for connection in Array(connections.values) { destroy(connection, reason: .serverStopping) }
        closeListener()
        inbox.withLock { $0.open = false }
        exited.signal()
    }

    private func runTasks() {
        while true {
            let tasks = inbox.withLock { inbox in
                defer { inbox.tasks = []; inbox.wakePending = false }
                return inbox.tasks
            }
            if tasks.isEmpty { return }
            for task in tasks { task() }
        }
    }

    // MARK: - Accepting

    private func acceptConnections() {
        guard let listener else { return }
        for _ in 0..<128 {
            do {
                guard let (fd, remote) = try Socket.accept(listener) else { return }
                register(fd: fd, remote: remote)
            } catch {
                switch error.errno {
                case ECONNABORTED, EPROTO, EPERM:
                    continue
                default:
                    // Out of descriptors or memory: stop polling the listener for a moment
                    // instead of spinning on a level-triggered event we cannot clear.
                    settings.log("accept: \(error); pausing accepts")
                    try? epoll.modify(listener, events: 0, token: Self.listenerToken)
                    acceptPausedUntil = MonotonicClock.now() &+ 100_000_000
                    return
                }
            }
        }
    }

    private func register(fd: Int32, remote: String) {
        let now = MonotonicClock.now()
        let client = Self.clientHost(remote)
        let tooManyFromClient = servingPerClient[client, default: 0] >= settings.maxConnectionsPerClient
        let rejected = servingCount >= settings.maxConnections || tooManyFromClient
        let id = nextConnectionID
        nextConnectionID += 1
        let connection = Connection(
            id: id, fd: fd, remoteAddress: remote, client: client,
            machine: HTTPConnectionStateMachine(configuration: settings.connection, now: now),
            isRejected: rejected, registeredEvents: Epoll.readable, now: now)
        do {
            try epoll.add(fd, events: Epoll.readable, token: id)
        } catch {
            settings.log("epoll_ctl(add): \(error)")
            closeDescriptor(fd)
            return
        }
        connections[id] = connection
        if rejected {
            var problem =
                tooManyFromClient
                ? HTTPResponse.problem(.tooManyRequests, detail: "This client has too many open connections.")
                : HTTPResponse.problem(.serviceUnavailable, detail: "The server has too many open connections.")
            problem.headers.set("Retry-After", "1")
            for field in settings.connection.defaultHeaders { problem.headers.add(field.name, field.value) }
            guard case .bytes(let body) = problem.body else { return }
            connection.enqueue(
                ResponseSerializer.head(
                    status: problem.status, headers: problem.headers, framing: .contentLength(body.count),
                    version: .http1_1, close: true, date: settings.connection.date()) + body)
            connection.closeRequested = true
            flush(connection, now: now)
        } else {
            servingCount += 1
            servingPerClient[client, default: 0] += 1
        }
    }

    /// The address without its port: `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `::1`.
    static func clientHost(_ remote: String) -> String {
        if remote.hasPrefix("["), let close = remote.firstIndex(of: "]") {
            return String(remote[remote.index(after: remote.startIndex)..<close])
        }
        guard let colon = remote.lastIndex(of: ":") else { return remote }
        return String(remote[..<colon])
    }

    // MARK: - Timers and stopping

    private func sweep(now: UInt64) {
        for connection in Array(connections.values) where !connection.isDestroyed {
            if let linger = connection.lingerDeadline {
                if now >= linger { destroy(connection, reason: .clientDisconnected) }
                continue
            }
            if connection.pendingOutboundBytes > 0, now &- connection.lastWriteProgress >= settings.writeStallTimeout {
                destroy(connection, reason: .clientDisconnected)
                continue
            }
            if !connection.isRejected, let deadline = connection.machine.deadline, now >= deadline {
                // Input already waiting in the kernel is no delay of the client's: a loop busy with
                // a crowd of connections may not have got to it yet. Read it before timing out.
                if connection.registeredEvents & Epoll.readable != 0 { read(connection, now: now) }
                guard !connection.isDestroyed, let deadline = connection.machine.deadline, now >= deadline else {
                    continue
                }
                apply(connection.machine.timerFired(now: now), to: connection, now: now)
            }
        }
        if let until = acceptPausedUntil, now >= until, let listener {
            acceptPausedUntil = nil
            try? epoll.modify(listener, events: Epoll.readable, token: Self.listenerToken)
        }
    }

    /// Stops accepting; idle connections close now, busy ones after the responses they owe.
    func beginStop() {
        stopping = true
        closeListener()
        let now = MonotonicClock.now()
        for connection in Array(connections.values) where !connection.isDestroyed {
            apply(connection.machine.stop(now: now), to: connection, now: now)
        }
        signalIfDrained()
    }

    /// Closes whatever is left and ends the loop.
    func finish() {
        running = false
    }

    private func closeListener() {
        guard let listener else { return }
        epoll.remove(listener)
        closeDescriptor(listener)
        self.listener = nil
    }

    func signalIfDrained() {
        guard stopping, !drainedSignalled, connections.isEmpty else { return }
        drainedSignalled = true
        drained.signal()
    }
}
