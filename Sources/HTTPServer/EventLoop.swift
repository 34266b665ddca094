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

    private let settings: Settings
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let handlerQueue: DispatchQueue
    private let epoll: Epoll
    private let wakeWrite: Int32
    private let inbox = Mutex(Inbox())
    private let drained = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)

    private var listener: Int32?
    private var connections: [UInt64: Connection] = [:]
    private var servingCount = 0
    private var nextConnectionID: UInt64 = 1
    private var running = true
    private var stopping = false
    private var drainedSignalled = false
    private var acceptPausedUntil: UInt64?
    private var nextSweep: UInt64 = 0
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    init(listener: Int32, settings: Settings, handlerQueue: DispatchQueue,
         handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws(SystemError) {
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
        let rejected = servingCount >= settings.maxConnections
        let id = nextConnectionID
        nextConnectionID += 1
        let connection = Connection(
            id: id, fd: fd, remoteAddress: remote,
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
            let problem = HTTPResponse.problem(.serviceUnavailable, detail: "The server has too many open connections.")
            guard case .bytes(let body) = problem.body else { return }
            connection.enqueue(ResponseSerializer.head(
                status: problem.status, headers: problem.headers, framing: .contentLength(body.count),
                version: .http1_1, close: true, date: settings.connection.date()) + body)
            connection.closeRequested = true
            flush(connection, now: now)
        } else {
            servingCount += 1
        }
    }

    // MARK: - Connection events

    private func handle(_ flags: UInt32, on connection: Connection) {
        let now = MonotonicClock.now()
        if flags & Epoll.writable != 0 { flush(connection, now: now) }
        if !connection.isDestroyed, flags & (Epoll.readable | Epoll.failed) != 0 { read(connection, now: now) }
        if !connection.isDestroyed, flags & Epoll.failed != 0 {
            destroy(connection, reason: .clientDisconnected)
        }
        if !connection.isDestroyed { updateInterest(connection) }
    }

    private func read(_ connection: Connection, now: UInt64) {
        let result: IOResult<Int>
        do {
            result = try Socket.read(connection.fd, into: readBuffer)
        } catch {
            destroy(connection, reason: .clientDisconnected)  // reset by peer and the like
            return
        }
        guard case .processed(let count) = result else { return }
        if count == 0 {
            connection.inputClosed = true
            if connection.isLingering || connection.isRejected {
                destroy(connection, reason: .clientDisconnected)
            } else {
                apply(connection.machine.peerClosed(now: now), to: connection, now: now)
            }
            return
        }
        if connection.isLingering || connection.isRejected { return }
        let bytes = UnsafeRawBufferPointer(rebasing: readBuffer[0..<count])
        apply(connection.machine.bytesReceived(bytes, now: now), to: connection, now: now)
    }

    private func apply(_ actions: [HTTPConnectionStateMachine.Action], to connection: Connection, now: UInt64) {
        for action in actions where !connection.isDestroyed {
            switch action {
            case .write(let bytes):
                connection.enqueue(bytes)
            case .dispatch(let id, var request):
                request.remoteAddress = connection.remoteAddress
                dispatch(request, id: id, connectionID: connection.id)
            case .attachStream(let id, let writer):
                attach(writer, id: id, to: connection, now: now)
            case .terminateStream(let writer, let reason):
                writer.terminate(reason)
            case .close:
                connection.closeRequested = true
            }
        }
        guard !connection.isDestroyed else { return }
        if connection.pendingOutboundBytes > settings.maxOutboundBytes {
            settings.log("\(connection.remoteAddress): client reads too slowly; closing")
            destroy(connection, reason: .clientDisconnected)
            return
        }
        flush(connection, now: now)
        if !connection.isDestroyed { updateInterest(connection) }
    }

    private func dispatch(_ request: HTTPRequest, id: Int, connectionID: UInt64) {
        let handler = handler
        handlerQueue.async { [self] in
            let response = handler(request)
            let delivered = execute { [self] in
                guard let connection = connections[connectionID] else {
                    if case .stream(let writer) = response.body { writer.terminate(.clientDisconnected) }
                    return
                }
                let now = MonotonicClock.now()
                apply(connection.machine.responseReady(id, response, now: now), to: connection, now: now)
            }
            if !delivered, case .stream(let writer) = response.body { writer.terminate(.serverStopping) }
        }
    }

    private func attach(_ writer: ResponseStreamWriter, id: Int, to connection: Connection, now: UInt64) {
        let connectionID = connection.id
        let sink = ResponseStreamWriter.Sink(
            send: { [self] bytes in
                execute { [self] in
                    guard let connection = connections[connectionID] else { return }
                    apply(connection.machine.streamData(id, bytes), to: connection, now: MonotonicClock.now())
                }
            },
            finish: { [self] in
                execute { [self] in
                    guard let connection = connections[connectionID] else { return }
                    let now = MonotonicClock.now()
                    apply(connection.machine.streamFinished(id, now: now), to: connection, now: now)
                }
            })
        let (chunks, finished) = writer.attach(sink)
        for chunk in chunks { apply(connection.machine.streamData(id, chunk), to: connection, now: now) }
        if finished { apply(connection.machine.streamFinished(id, now: now), to: connection, now: now) }
    }

    // MARK: - Writing and closing

    private func flush(_ connection: Connection, now: UInt64) {
        while connection.pendingOutboundBytes > 0 {
            let result: IOResult<Int>
            do {
                result = try connection.outbound.withUnsafeBytes { buffer throws(SystemError) in
                    try Socket.write(connection.fd, UnsafeRawBufferPointer(rebasing: buffer[connection.outboundOffset...]))
                }
            } catch {
                destroy(connection, reason: .clientDisconnected)  // EPIPE, ECONNRESET
                return
            }
            guard case .processed(let written) = result else { break }
            connection.outboundOffset += written
            connection.lastWriteProgress = now
        }
        guard connection.pendingOutboundBytes == 0, connection.closeRequested, !connection.isLingering else { return }
        if connection.inputClosed {
            destroy(connection, reason: .clientDisconnected)
        } else {
            Socket.shutdownWrite(connection.fd)
            connection.lingerDeadline = now &+ settings.lingerTimeout
            updateInterest(connection)
        }
    }

    private func updateInterest(_ connection: Connection) {
        let desired = connection.desiredEvents
        guard desired != connection.registeredEvents else { return }
        do {
            try epoll.modify(connection.fd, events: desired, token: connection.id)
            connection.registeredEvents = desired
        } catch {
            settings.log("epoll_ctl(mod): \(error)")
            destroy(connection, reason: .clientDisconnected)
        }
    }

    private func destroy(_ connection: Connection, reason: ResponseStreamWriter.CloseReason) {
        guard !connection.isDestroyed else { return }
        connection.isDestroyed = true
        epoll.remove(connection.fd)
        closeDescriptor(connection.fd)
        connections[connection.id] = nil
        if !connection.isRejected { servingCount -= 1 }
        for case .terminateStream(let writer, _) in connection.machine.peerClosed(now: MonotonicClock.now()) {
            writer.terminate(reason)
        }
        signalIfDrained()
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

    private func signalIfDrained() {
        guard stopping, !drainedSignalled, connections.isEmpty else { return }
        drainedSignalled = true
        drained.signal()
    }
}
