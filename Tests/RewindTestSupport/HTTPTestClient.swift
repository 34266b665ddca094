import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response as the test client read it off the wire.
public struct HTTPTestResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The first value of header `name` (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A failure of the test client: a timeout, a closed connection or an unparseable response.
public struct HTTPTestClientError: Error, CustomStringConvertible {
    public var description: String
    /// The errno of a failed socket call, when that is what failed.
    public var code: Int32?
    public init(_ description: String, code: Int32? = nil) {
        self.description = description
        self.code = code
    }
}

/// A raw-socket HTTP/1.1 client for loopback tests: it sends exactly the bytes it is given and
/// reads responses byte-exactly, so tests can pipeline, send garbage, stop half-way or stay silent.
/// Every read gives up after `timeout`, so a broken server fails a test instead of hanging it.
public final class HTTPTestClient {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    /// Connects to `host:port`; with `source` (another loopback address such as `127.0.0.2`) the
    /// connection comes from that address, so tests can be several clients.
    public init(port: Int, host: String = "127.0.0.1", timeout: Duration = .seconds(10), source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestClientError("socket: errno \(errno)") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let code = errno
                Glibc.close(fd)
                throw HTTPTestClientError("bind \(source): errno \(code)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HTTPTestClientError("connect: errno \(code)")
        }
        let (seconds, attoseconds) = timeout.components
        var time = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    /// Half-closes: the server sees end of input, responses can still be read.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw HTTPTestClientError("send: errno \(errno)") }
            offset += sent
        }
    }

    /// Sends one request with `Host` and (when there is a body) `Content-Length`, then reads
    /// the response.
    public func request(
        _ method: String = "GET", _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) throws -> HTTPTestResponse {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        try send(Array((head + "\r\n").utf8) + body)
        return try readResponse(forHEAD: method == "HEAD")
    }

    /// Reads one complete response (an interim 1xx is returned on its own).
    public func readResponse(forHEAD: Bool = false) throws -> HTTPTestResponse {
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

    /// Reads a status line and headers only, leaving the body to `readChunk` or reads.
    public func readHead() throws -> HTTPTestResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            end = buffer.indices.dropLast(3).first { buffer[$0..<($0 + 4)].elementsEqual(separator) }
            if end == nil { try fill() }
        }
        let head = String(decoding: buffer[..<end!], as: UTF8.self)
        buffer.removeSubrange(..<(end! + 4))
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2).map(String.init)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw HTTPTestClientError("bad status line in \(head)")
        }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return HTTPTestResponse(status: status, reason: statusLine.count > 2 ? statusLine[2] : "",
                                headers: headers, body: [])
    }

    /// The next chunk of a chunked body; nil after the last chunk (trailers are skipped).
    public func readChunk() throws -> [UInt8]? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
            throw HTTPTestClientError("bad chunk size line \(sizeLine)")
        }
        if size == 0 {
            while try !readLine().isEmpty {}
            return nil
        }
        let data = try readExactly(size)
        guard try readLine().isEmpty else { throw HTTPTestClientError("chunk longer than its size") }
        return data
    }

    /// Everything until the server closes the connection.
    public func readUntilClosed() throws -> [UInt8] {
        while try fillOrEOF() {}
        defer { buffer = [] }
        return buffer
    }

    /// True when the server closes (FIN or reset) within the read timeout; bytes are discarded.
    public func waitForClose() -> Bool {
        while true {
            do {
                guard try fillOrEOF() else { return true }
                buffer = []
            } catch {
                return (error as? HTTPTestClientError)?.code == ECONNRESET
            }
        }
    }

    public func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        defer { buffer.removeSubrange(..<count) }
        return Array(buffer[..<count])
    }

    private func readLine() throws -> String {
        while true {
            if let lf = buffer.firstIndex(of: 10) {
                let line = buffer[..<lf].last == 13 ? buffer[..<(lf - 1)] : buffer[..<lf]
                defer { buffer.removeSubrange(...lf) }
                return String(decoding: line, as: UTF8.self)
            }
            try fill()
        }
    }

    private func fill() throws {
        guard try fillOrEOF() else { throw HTTPTestClientError("connection closed by the server") }
    }

    /// Reads once; false at end of input.
    private func fillOrEOF() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            let code = errno
            throw HTTPTestClientError(code == EAGAIN ? "read timed out" : "recv: errno \(code)", code: code)
        }
        if count == 0 { return false }
        buffer += chunk[..<count]
        return true
    }
}
