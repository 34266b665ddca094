import Foundation

/// A request body handed to its handler piece by piece as it arrives, for routes that declare a
/// streamed body (`HTTPServer.Configuration.streamsBody`): the handler runs as soon as the head is
/// accepted and reads with `read()` while the event loop fills this bounded pipe.
///
/// Back-pressure: once the pipe holds `capacity` bytes the event loop stops reading the socket
/// (its epoll interest is turned off) until the handler has drained it to half, so a client that
/// sends faster than the handler parses fills the kernel's buffers, not the server's memory. The
/// pipe may pass `capacity` by one socket read (64 KiB), never more.
///
/// The body ends in one of three ways: completely (`read()` returns nil), with a `Failure` the
/// server decided (the client left, the body timed out, its framing broke, the server stops), or
/// abandoned by the handler answering before reading it all (the connection then closes after
/// the answer, as RFC 9110 §9.3 allows).
public final class RequestBodyStream: @unchecked Sendable, Hashable {
    /// Why a body could not be read to its end. `status` and `detail` are what the client should
    /// be told (if it is still there).
    public struct Failure: Error, Sendable, Hashable {
        public enum Reason: Sendable, Hashable {
            case clientDisconnected
            case timedOut
            /// Broken chunked framing, or a chunked body past its limit.
            case malformed
            case serverStopping
        }

        public var reason: Reason
        public var status: HTTPStatus
        public var detail: String

        public init(_ reason: Reason, status: HTTPStatus, detail: String) {
            self.reason = reason
            self.status = status
            self.detail = detail
        }

        static let clientDisconnected = Failure(
            .clientDisconnected, status: .badRequest, detail: "The client closed the connection before the body ended.")
        static let serverStopping = Failure(
            .serverStopping, status: .serviceUnavailable, detail: "The server is stopping; retry shortly.")
    }

    /// Bytes the pipe holds before the event loop stops reading the socket.
    public let capacity: Int

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pieces: [[UInt8]] = []
    private var firstPiece = 0
    private var buffered = 0
    private var ended = false
    private var failure: Failure?
    private var abandoned = false
    /// Set when the pipe reached `capacity`, cleared once the handler drained it to half: what
    /// the event loop reads to decide whether to read the socket.
    private var full = false
    private var resume: (@Sendable () -> Void)?
    private var received = 0
    private var endTrailers = HTTPHeaders()

    public init(capacity: Int) {
        precondition(capacity > 0, "a body pipe needs room for at least one byte")
        self.capacity = capacity
    }

    // MARK: - Handler side

    /// The next piece of the body, waiting for it to arrive; nil once the body has ended.
    /// Throws the `Failure` that ended it early.
    public func read() throws(Failure) -> [UInt8]? {
        condition.lock()
        while firstPiece == pieces.count {
            if let failure {
                condition.unlock()
                throw failure
            }
            if ended || abandoned {
                condition.unlock()
                return nil
            }
            condition.wait()
        }
        let piece = pieces[firstPiece]
        pieces[firstPiece] = []
        firstPiece += 1
        if firstPiece == pieces.count {
            pieces.removeAll(keepingCapacity: true)
            firstPiece = 0
        }
        buffered -= piece.count
        var wake: (@Sendable () -> Void)?
        if full, buffered <= capacity / 2 {
            full = false
            wake = resume
        }
        condition.unlock()
        wake?()
        return piece
    }

    /// The handler will read no more: what still arrives is dropped.
    public func abandon() {
        condition.withLock {
            abandoned = true
            pieces = []
            firstPiece = 0
            buffered = 0
            full = false
        }
    }

    /// Body bytes received so far (read or not).
    public var bytesReceived: Int { condition.withLock { received } }

    /// The trailer fields of a chunked body, once it has ended.
    public var trailers: HTTPHeaders { condition.withLock { endTrailers } }

    // MARK: - Server side

    /// Whether the event loop should stop reading the socket for now.
    var isFull: Bool { condition.withLock { full } }

    /// Whether the handler gave up on the body.
    var isAbandoned: Bool { condition.withLock { abandoned } }

    /// Runs `callback` (on the handler's thread) each time the handler drains a full pipe to half.
    func onResume(_ callback: @escaping @Sendable () -> Void) {
        condition.withLock { resume = callback }
    }

    func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        condition.withLock {
            received += bytes.count
            guard !abandoned, !ended, failure == nil else { return }
            pieces.append(bytes)
            buffered += bytes.count
            if buffered >= capacity { full = true }
            condition.broadcast()
        }
    }

    func finish(trailers: HTTPHeaders) {
        condition.withLock {
            guard failure == nil else { return }
            ended = true
            endTrailers = trailers
            condition.broadcast()
        }
    }

    /// Ends the body early; a body that already ended completely is left as it was.
    func fail(_ failure: Failure) {
        condition.withLock {
            guard !ended, self.failure == nil else { return }
            self.failure = failure
            full = false
            condition.broadcast()
        }
    }

    public static func == (lhs: RequestBodyStream, rhs: RequestBodyStream) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
