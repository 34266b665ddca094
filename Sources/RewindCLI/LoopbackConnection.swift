#if canImport(Glibc)
import Glibc
#endif

/// One keep-alive HTTP/1.1 client connection on a blocking socket, for a thread of its own.
///
/// Blocking I/O keeps the client simple and cheap per request; every wait is still bounded: a
/// connect or send by `SO_SNDTIMEO`, a response by `poll` up to a deadline the caller chooses.
/// Owned by one thread, hence not `Sendable`.
final class LoopbackConnection {
    /// Why a request got no usable response. The cases are the load report's failure kinds.
    enum Failure: Error, Equatable, CustomStringConvertible {
        case connect(errno: Int32)
        case send(errno: Int32)
        case receive(errno: Int32)
        /// The server closed the connection before the response was complete.
        case closed
        /// The deadline passed before the response was complete.
        case timeout
        case malformed(String)

        var description: String {
            switch self {
            case .connect(let code): "connect: \(String(cString: strerror(code)))"
            case .send(let code): "send: \(String(cString: strerror(code)))"
            case .receive(let code): "recv: \(String(cString: strerror(code)))"
            case .closed: "connection closed before the response was complete"
            case .timeout: "timed out waiting for the response"
            case .malformed(let reason): "malformed response: \(reason)"
            }
        }
    }

    private let fd: Int32
    private var framer = HTTPResponseFramer()
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    private var isClosed = false

    /// Connects, giving up after `timeout` (on Linux `SO_SNDTIMEO` also bounds a blocking connect).
    init(to endpoint: LoopbackEndpoint, timeout: Duration) throws(Failure) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            readBuffer.deallocate()
            throw .connect(errno: errno)
        }
        let (seconds, attoseconds) = timeout.components
        var time = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        // Requests are small and latency is what we measure: never wait to coalesce them.
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = endpoint.socketAddress
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(descriptor)
            readBuffer.deallocate()
            throw .connect(errno: code)
        }
        fd = descriptor
    }

    deinit {
        close()
        readBuffer.deallocate()
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    /// Sends one whole request.
    func send(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer in
                Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .send(errno: code == EAGAIN ? ETIMEDOUT : code)
            }
            offset += sent
        }
    }

    /// Reads until one complete response has arrived or `deadline` passes.
    func readResponse(deadline: ContinuousClock.Instant) throws(Failure) -> HTTPResponseFramer.Response {
        while true {
            switch framer.next() {
            case .response(let response): return response
            case .malformed(let reason): throw .malformed(reason)
            case .needMoreBytes: try receive(deadline: deadline)
            }
        }
    }

    /// Waits for input up to `deadline`, then reads what is there into the framer.
    private func receive(deadline: ContinuousClock.Instant) throws(Failure) {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw .timeout }
            let (seconds, attoseconds) = remaining.components
            // Round up so a wait never ends just short of the deadline and spins.
            let milliseconds = Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .receive(errno: code)
            }
            if ready == 0 { continue }  // re-check the deadline above
            let count = recv(fd, readBuffer.baseAddress, readBuffer.count, 0)
            if count < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN { continue }
                throw .receive(errno: code)
            }
            if count == 0 { throw .closed }
            framer.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            return
        }
    }
}
