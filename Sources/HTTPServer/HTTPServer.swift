import Dispatch
import NodeResources
import Synchronization

/// An HTTP/1.1 server on plain non-blocking sockets.
///
/// Threading: one event-loop thread owns every socket (epoll); each complete request is handed
/// to `handler` on a concurrent Dispatch queue (a route that streams its body, `streamsBody`, as
/// soon as its head is accepted, its body following through a bounded pipe), and the response goes
/// back to the loop, which writes it in request order. An idle connection costs a descriptor and a few hundred bytes,
/// never a thread. The handler may block briefly (a SQLite query); a slow one delays only its
/// own connection.
public final class HTTPServer: Sendable {
    /// Answers one request; runs on the handler queue, any number at once.
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    /// Everything tunable, with production defaults.
    public struct Configuration: Sendable {
        /// Address to bind: `127.0.0.1`, `0.0.0.0`, `::` or a host name.
        public var host: String = "127.0.0.1"
        /// Port to bind; 0 picks a free one (`start()` reports it).
        public var port: Int = 8080
        /// Open connections served at once; more are accepted, answered 503 and closed.
        public var maxConnections: Int = 4096
        /// Open connections from one client address; more are answered 429 and closed, so one
        /// client cannot take every slot of `maxConnections`.
        public var maxConnectionsPerClient: Int = 1024
        /// From accept (or a request's first byte) to the end of its head, and the longest
        /// silence while a body arrives; past it the client gets 408 and the connection closes.
        public var headerReadTimeout: Duration = .seconds(10)
        /// From the end of a head to the end of its body, in all: a body trickling in slower
        /// than this allows gets 408 (the silence limit above alone would let 1 byte/s through).
        public var bodyTimeout: Duration = .seconds(300)
        /// The slowest average rate, in bytes per second, at which a streamed body (an upload)
        /// may arrive once `streamedBodyRateGrace` has passed; slower gets 408. Time the server
        /// spends not reading (a full body pipe) does not count. 0: no floor.
        public var streamedBodyMinimumRate: Int = 16 << 10
        /// From the end of a head to when `streamedBodyMinimumRate` is first enforced.
        public var streamedBodyRateGrace: Duration = .seconds(10)
        /// How long a keep-alive connection may stay idle between requests (closed silently).
        public var idleTimeout: Duration = .seconds(60)
        /// How long, after our last response on a closing connection, the client's remaining
        /// input is drained so that it sees that response rather than a reset.
        public var lingerTimeout: Duration = .seconds(2)
        /// Requests of one connection read ahead of their responses (pipelining depth).
        public var maxPipelinedRequests: Int = 16
        /// Bytes queued for a client that does not read (a stalled stream) before it is dropped,
        /// beyond the largest single write: a complete response bigger than this is still sent.
        public var maxOutboundBytes: Int = 16 << 20
        /// Head size and count limits.
        public var parserLimits = HTTPRequestParser.Limits()
        /// The largest body a route accepts, decided from the head (413 beyond).
        public var bodyLimit: @Sendable (HTTPRequestHead) -> Int = { _ in 1 << 20 }
        /// The setting behind a head's body limit, named in its 413 (nil names none).
        public var bodyLimitSetting: @Sendable (HTTPRequestHead) -> String? = { _ in nil }
        /// Decides from a head alone (a request whose body is empty: not read yet), before any
        /// of its body is read, whether the body may come:
        /// nil lets it (and sends `100 Continue` if asked), a response refuses it unread and
        /// closes the connection after it (authentication, media type). Runs on the handler
        /// queue, only for requests that announce a body; nil screens nothing.
        public var screen: (@Sendable (HTTPRequest) -> HTTPResponse?)? = nil
        /// The node's memory budget: request bodies draw from it as their bytes arrive (never
        /// the announced length up front) and give it back when their handler has answered.
        /// What does not fit is answered 503 with `Retry-After`. Nil: bodies are bounded by
        /// `bodyLimit` alone.
        public var memoryBudget: MemoryBudget? = nil
        /// Requests whose body is handed to their handler as it arrives (`HTTPRequest.bodyStream`)
        /// instead of whole: the handler runs once the head is accepted (and screened), reads the
        /// body from a pipe of `bodyPipeBytes`, and the socket is not read while that pipe is full.
        /// Other requests' bodies are received whole before their handler runs.
        public var streamsBody: @Sendable (HTTPRequestHead) -> Bool = { _ in false }
        /// The bytes a streamed body's pipe holds before reading pauses; drawn from `memoryBudget`.
        public var bodyPipeBytes: Int = 1 << 20
        /// Where handlers run; nil creates a concurrent queue.
        public var handlerQueue: DispatchQueue? = nil
        /// Requests answered on the event-loop thread itself instead of the handler queue: only
        /// ones that never block (a liveness probe), so they answer even when every handler
        /// thread is busy.
        public var answersInline: @Sendable (HTTPRequestHead) -> Bool = { _ in false }
        /// Requests that open a long-lived response (an event stream): their handlers run one at
        /// a time on a queue of their own instead of the handler queue, so that a crowd of them
        /// arriving at once never makes ordinary requests wait behind it for a thread.
        public var longLived: @Sendable (HTTPRequestHead) -> Bool = { _ in false }
        /// Added to every response, the server's own errors included, unless the response sets
        /// the same field: the place for security headers.
        public var defaultHeaders = HTTPHeaders()
        /// Receives one line per environment failure (accept errors, slow clients dropped).
        public var log: @Sendable (String) -> Void = { _ in }

        public init() {}

        public init(host: String = "127.0.0.1", port: Int = 8080) {
            self.host = host
            self.port = port
        }
    }

    private enum State {
        case idle
        case running(EventLoop, port: Int)
        case stopped
    }

    public let configuration: Configuration
    private let handler: Handler
    private let state = Mutex(State.idle)

    public init(configuration: Configuration = Configuration(), handler: @escaping Handler) {
        self.configuration = configuration
        self.handler = handler
    }

    /// Binds, starts the event loop and returns the port bound. Throws `SystemError` when the
    /// address cannot be bound (in use, not local); starting twice is a programming error.
    @discardableResult
    public func start() throws(SystemError) -> Int {
        try state.withLock { state throws(SystemError) -> Int in
            guard case .idle = state else { preconditionFailure("HTTPServer.start() called twice") }
            let (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port)
            let queue =
                configuration.handlerQueue
                ?? DispatchQueue(label: "rewind.http.handlers", attributes: .concurrent)
            let loop: EventLoop
            do throws(SystemError) {
                loop = try EventLoop(listener: listener, settings: settings(), handlerQueue: queue, handler: handler)
            } catch {
                closeDescriptor(listener)
                throw error
            }
            loop.start()
            state = .running(loop, port: port)
            return port
        }
    }

    /// The bound port while running.
    public var port: Int? {
        state.withLock { state in
            if case .running(_, let port) = state { return port }
            return nil
        }
    }

    /// Stops accepting, lets in-flight responses finish for up to `gracePeriod`, closes idle
    /// keep-alive connections at once and ends streams cleanly; then closes whatever is left.
    /// Blocks until the loop thread has exited. Calling it again, or before `start`, does nothing.
    public func stop(gracePeriod: Duration = .seconds(10)) {
        let loop: EventLoop? = state.withLock { state in
            guard case .running(let loop, _) = state else { return nil }
            state = .stopped
            return loop
        }
        guard let loop else { return }
        loop.execute { loop.beginStop() }
        let nanoseconds = MonotonicClock.nanoseconds(gracePeriod)
        _ = loop.waitUntilDrained(timeout: .now() + .nanoseconds(Int(min(nanoseconds, UInt64(Int.max)))))
        loop.execute { loop.finish() }
        loop.waitUntilExited()
    }

    private func settings() -> EventLoop.Settings {
        let header = MonotonicClock.nanoseconds(configuration.headerReadTimeout)
        let idle = MonotonicClock.nanoseconds(configuration.idleTimeout)
        let dates = HTTPDateCache()
        // Timeouts are checked by a periodic sweep; a quarter of the shortest keeps them within
        // 25% without waking an idle server more than four times a second.
        let sweep = max(5_000_000, min(250_000_000, min(header, idle) / 4))
        return EventLoop.Settings(
            connection: HTTPConnectionStateMachine.Configuration(
                headerReadTimeout: header,
                bodyTimeout: MonotonicClock.nanoseconds(configuration.bodyTimeout), idleTimeout: idle,
                streamedBodyMinimumRate: UInt64(max(0, configuration.streamedBodyMinimumRate)),
                streamedBodyRateGrace: MonotonicClock.nanoseconds(configuration.streamedBodyRateGrace),
                maxPipelinedRequests: max(1, configuration.maxPipelinedRequests),
                maxBufferedBytes: configuration.parserLimits.maxHeadBytes + 64 * 1024,
                parserLimits: configuration.parserLimits, bodyLimit: configuration.bodyLimit,
                bodyLimitSetting: configuration.bodyLimitSetting,
                date: { dates.current() }, defaultHeaders: configuration.defaultHeaders,
                budget: configuration.memoryBudget, screensHeads: configuration.screen != nil,
                streamsBody: configuration.streamsBody, bodyPipeBytes: max(4096, configuration.bodyPipeBytes)),
            maxConnections: configuration.maxConnections,
            maxConnectionsPerClient: max(1, configuration.maxConnectionsPerClient),
            screen: configuration.screen,
            answersInline: configuration.answersInline, longLived: configuration.longLived,
            lingerTimeout: MonotonicClock.nanoseconds(configuration.lingerTimeout),
            writeStallTimeout: max(idle, header),
            maxOutboundBytes: configuration.maxOutboundBytes,
            sweepInterval: sweep,
            log: configuration.log)
    }
}
