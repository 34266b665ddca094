#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 client connection on a blocking socket, owned by one thread (hence not
/// `Sendable`). It sends exactly the bytes it is given and reads responses byte-exactly, so the
/// CLI, the tests (pipelining, garbage, half-sent requests) and the load generator share it.
///
/// Every wait is bounded: connect and send by `SO_SNDTIMEO`, reads by `SO_RCVTIMEO` (the
/// `timeout`) or, for `readFramedResponse(deadline:)`, by `poll` up to the caller's deadline.
/// A connection is read either through its buffered reads (`readResponse`, `readHead`,
/// `readChunk`, …) or through the framer (`readFramedResponse`), not both.
public final class HTTPClientConnection {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var framer = HTTPResponseFramer()
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    private var closed = false

    /// Connects to `host:port` (a name or an address literal); with `source` (an IPv4 address such
    /// as `127.0.0.2`) the connection comes from that address. `timeout` bounds every send and
    /// buffered read (0: reads wait for ever, for event streams).
    public init(
        host: String, port: Int, timeout: Duration = .seconds(10), source: String? = nil
    ) throws(HTTPClientError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = source == nil ? AF_UNSPEC : AF_INET
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            readBuffer.deallocate()
            throw HTTPClientError(.resolve, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        var failure = HTTPClientError(.connect, "cannot connect to \(host):\(port): no address")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let descriptor = socket(
                info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                info.pointee.ai_protocol)
            guard descriptor >= 0 else {
                failure = .errno(.connect, "socket", Glibc.errno)
                continue
            }
            Self.configure(descriptor, timeout: timeout)
            if let source, !Self.bind(descriptor, to: source) {
                failure = .errno(.connect, "bind \(source)", Glibc.errno)
                Glibc.close(descriptor)
                continue
            }
            if Glibc.connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                fd = descriptor
                return
            }
            let code = Glibc.errno
            failure = HTTPClientError(
                .connect, "cannot connect to \(host):\(port): \(String(cString: strerror(code)))", code: code)
            Glibc.close(descriptor)
        }
        readBuffer.deallocate()
        throw failure
    }

    private static func configure(_ descriptor: Int32, timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var time = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        // Requests are small and latency matters: never wait to coalesce them.
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func bind(_ descriptor: Int32, to source: String) -> Bool {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, source, &local.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    deinit {
        close()
        readBuffer.deallocate()
    }

    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    /// Half-closes: the server sees end of input, responses can still be read.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Sends all of `bytes`.
    public func send(_ bytes: [UInt8]) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                let code = Glibc.errno
                if code == EINTR { continue }
                throw code == EAGAIN
                    ? HTTPClientError(.timeout, "send timed out", code: code) : .errno(.send, "send", code)
            }
            offset += sent
        }
    }

    // MARK: Buffered reads

    /// Reads one complete response (an interim 1xx is returned on its own): a body framed by
    /// `Content-Length`, chunks, or the end of the connection.
    public func readResponse(forHEAD: Bool = false) throws(HTTPClientError) -> HTTPClientResponse {
        var response = try readHead()
        if forHEAD || (100..<200).contains(response.status) || response.status == 204 || response.status == 304 {
            return response
        }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while let chunk = try readChunk() { response.body += chunk }
        } else if let length = response.header("Content-Length").flatMap(Int.init) {
            response.body = try readExactly(length)
        } else {
            response.body = try readUntilClosed()
        }
        return response
    }

    /// Reads a status line and headers only, leaving the body to `readChunk` or other reads.
    public func readHead() throws(HTTPClientError) -> HTTPClientResponse {
        var end: Int?
        while end == nil {
            end = Self.headEnd(buffer)
            if end == nil {
                guard buffer.count <= HTTPResponseFramer.maximumHeadBytes else {
                    throw HTTPClientError(
                        .malformed, "response head longer than \(HTTPResponseFramer.maximumHeadBytes) bytes")
                }
                try fill()
            }
        }
        let head = String(decoding: buffer[..<end!], as: UTF8.self)
        buffer.removeSubrange(..<(end! + 4))
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2).map(String.init)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw HTTPClientError(.malformed, "bad status line in \(head)")
        }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces)
        }
        return HTTPClientResponse(
            status: status, reason: statusLine.count > 2 ? statusLine[2] : "", headers: headers, body: [])
    }

    /// The next chunk of a chunked body; nil after the last chunk (trailers are skipped).
    public func readChunk() throws(HTTPClientError) -> [UInt8]? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine.split(separator: ";").first.map(String.init)?.trimmingSpaces ?? "", radix: 16)
        else {
            throw HTTPClientError(.malformed, "bad chunk size line \(sizeLine)")
        }
        if size == 0 {
            while try !readLine().isEmpty {}
            return nil
        }
        let data = try readExactly(size)
        guard try readLine().isEmpty else { throw HTTPClientError(.malformed, "chunk longer than its size") }
        return data
    }

    /// Whatever has arrived (at least one byte), or nil at the end of the connection.
    public func readAvailable() throws(HTTPClientError) -> [UInt8]? {
        if buffer.isEmpty, try !fillOrEOF() { return nil }
        defer { buffer = [] }
        return buffer
    }

    /// Everything until the server closes the connection.
    public func readUntilClosed() throws(HTTPClientError) -> [UInt8] {
        while try fillOrEOF() {}
        defer { buffer = [] }
        return buffer
    }

    /// True when the server closes (FIN or reset) within the read timeout; bytes are discarded.
    public func waitForClose() -> Bool {
        while true {
            do throws(HTTPClientError) {
                guard try fillOrEOF() else { return true }
                buffer = []
            } catch {
                return error.code == ECONNRESET
            }
        }
    }

    public func readExactly(_ count: Int) throws(HTTPClientError) -> [UInt8] {
        while buffer.count < count { try fill() }
        defer { buffer.removeSubrange(..<count) }
        return Array(buffer[..<count])
    }

    private func readLine() throws(HTTPClientError) -> String {
        while true {
            if let lf = buffer.firstIndex(of: 10) {
                let line = buffer[..<lf].last == 13 ? buffer[..<(lf - 1)] : buffer[..<lf]
                defer { buffer.removeSubrange(...lf) }
                return String(decoding: line, as: UTF8.self)
            }
            try fill()
        }
    }

    private func fill() throws(HTTPClientError) {
        guard try fillOrEOF() else { throw HTTPClientError(.closed, "connection closed by the server") }
    }

    /// Reads once (waiting at most the socket's timeout); false at end of input.
    private func fillOrEOF() throws(HTTPClientError) -> Bool {
        while true {
            let count = recv(fd, readBuffer.baseAddress, readBuffer.count, 0)
            if count < 0 {
                let code = Glibc.errno
                if code == EINTR { continue }
                throw code == EAGAIN
                    ? HTTPClientError(.timeout, "read timed out", code: code) : .errno(.receive, "recv", code)
            }
            if count == 0 { return false }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            return true
        }
    }

    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    // MARK: Framed reads (keep-alive, under a deadline)

    /// Reads until one complete `Content-Length` response has arrived or `deadline` passes.
    public func readFramedResponse(
        deadline: ContinuousClock.Instant
    ) throws(HTTPClientError) -> HTTPResponseFramer.Response {
        while true {
            switch framer.next() {
            case .response(let response): return response
            case .malformed(let reason): throw HTTPClientError(.malformed, "malformed response: \(reason)")
            case .needMoreBytes: try receive(deadline: deadline)
            }
        }
    }

    /// Waits for input up to `deadline`, then reads what is there into the framer.
    private func receive(deadline: ContinuousClock.Instant) throws(HTTPClientError) {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw HTTPClientError(.timeout, "timed out waiting for the response") }
            let (seconds, attoseconds) = remaining.components
            // Round up so a wait never ends just short of the deadline and spins.
            let milliseconds = Int32(
                clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 {
                let code = Glibc.errno
                if code == EINTR { continue }
                throw .errno(.receive, "poll", code)
            }
            if ready == 0 { continue }  // re-check the deadline above
            let count = recv(fd, readBuffer.baseAddress, readBuffer.count, 0)
            if count < 0 {
                let code = Glibc.errno
                if code == EINTR || code == EAGAIN { continue }
                throw .errno(.receive, "recv", code)
            }
            if count == 0 { throw HTTPClientError(.closed, "connection closed before the response was complete") }
            framer.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            return
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
