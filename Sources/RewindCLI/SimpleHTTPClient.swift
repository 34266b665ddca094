import Foundation

/// A small blocking HTTP/1.1 client for the CLI (healthcheck, submit, status): one request per
/// connection, plain HTTP, `Content-Length`, chunked or close-delimited bodies.
struct SimpleHTTPClient {
    struct Response {
        var status: Int
        var headers: [String: String]  // lower-cased names
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let host: String
    let port: Int
    let basePath: String
    let timeoutSeconds: Int

    /// Parses `http://host[:port][/base]` (`host:port` alone means http); https is not supported
    /// (put Rewind behind a TLS proxy).
    init(url given: String, timeoutSeconds: Int = 10) throws {
        let url = given.contains("://") ? given : "http://\(given)"
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host, !host.isEmpty else {
            throw Failure(description: "expected a URL like http://127.0.0.1:8080 or 127.0.0.1:8080, got \(given)")
        }
        self.host = host
        port = components.port ?? 80
        basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        self.timeoutSeconds = timeoutSeconds
    }

    func request(
        _ method: String, _ path: String, body: [UInt8] = [], headers: [String: String] = [:]
    ) throws -> Response {
        let descriptor = try connect()
        defer { close(descriptor) }
        var head = "\(method) \(basePath)\(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(descriptor, Array(head.utf8) + body)
        return try readResponse(descriptor)
    }

    /// Opens a connection and returns a reader of raw bytes as they arrive (for event streams).
    func stream(_ path: String, headers: [String: String] = [:], onHead: (Int) throws -> Void, onBytes: ([UInt8]) throws -> Bool) throws {
        let descriptor = try connect(receiveTimeout: 0)
        defer { close(descriptor) }
        var head = "GET \(basePath)\(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/event-stream\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try send(descriptor, Array((head + "\r\n").utf8))
        var buffer: [UInt8] = []
        var headParsed = false
        var chunked = false
        var pending: [UInt8] = []
        while true {
            let bytes = try receive(descriptor)
            if bytes.isEmpty { return }
            buffer += bytes
            if !headParsed {
                guard let end = Self.headEnd(buffer) else { continue }
                let (status, headers) = try Self.parseHead(Array(buffer[..<end]))
                try onHead(status)
                chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false
                buffer.removeFirst(end + 4)
                headParsed = true
            }
            if chunked {
                pending += buffer
                buffer.removeAll()
                while let (chunk, consumed) = Self.nextChunk(pending) {
                    pending.removeFirst(consumed)
                    if chunk.isEmpty { return }
                    guard try onBytes(chunk) else { return }
                }
            } else if !buffer.isEmpty {
                guard try onBytes(buffer) else { return }
                buffer.removeAll()
            }
        }
    }

    // MARK: Sockets

    private func connect(receiveTimeout: Int? = nil) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        var lastError = "no address"
        while let info = cursor {
            let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if descriptor >= 0 {
                var timeout = timeval(tv_sec: receiveTimeout ?? timeoutSeconds, tv_usec: 0)
                setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var sendTimeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return descriptor }
                lastError = String(cString: strerror(errno))
                close(descriptor)
            }
            cursor = info.pointee.ai_next
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(lastError)")
    }

    private func send(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "send failed: \(String(cString: strerror(errno)))")
            }
            offset += sent
        }
    }

    private func receive(_ descriptor: Int32) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Array(chunk[0..<count]) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(description: "timed out waiting for \(host):\(port)") }
            throw Failure(description: "receive failed: \(String(cString: strerror(errno)))")
        }
    }

    private func readResponse(_ descriptor: Int32) throws -> Response {
        var buffer: [UInt8] = []
        while Self.headEnd(buffer) == nil {
            let bytes = try receive(descriptor)
            if bytes.isEmpty { throw Failure(description: "the server closed the connection without answering") }
            buffer += bytes
        }
        let end = Self.headEnd(buffer)!
        let (status, headers) = try Self.parseHead(Array(buffer[..<end]))
        var body = Array(buffer[(end + 4)...])
        if let length = headers["content-length"].flatMap(Int.init) {
            while body.count < length {
                let bytes = try receive(descriptor)
                if bytes.isEmpty { break }
                body += bytes
            }
            return Response(status: status, headers: headers, body: Array(body.prefix(length)))
        }
        while true {
            let bytes = try receive(descriptor)
            if bytes.isEmpty { break }
            body += bytes
        }
        if headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false {
            var decoded: [UInt8] = []
            var rest = body
            while let (chunk, consumed) = Self.nextChunk(rest), !chunk.isEmpty {
                decoded += chunk
                rest.removeFirst(consumed)
            }
            body = decoded
        }
        return Response(status: status, headers: headers, body: body)
    }

    // MARK: Framing

    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    static func parseHead(_ bytes: [UInt8]) throws -> (Int, [String: String]) {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw Failure(description: "malformed response from the server")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    /// One chunk of a chunked body from the start of `bytes`: (data, bytes consumed), or nil if incomplete.
    static func nextChunk(_ bytes: [UInt8]) -> ([UInt8], Int)? {
        guard let lineEnd = (0..<max(0, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else { return nil }
        let sizeText = String(decoding: bytes[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
        let start = lineEnd + 2
        guard bytes.count >= start + size + 2 else { return nil }
        return (Array(bytes[start..<(start + size)]), start + size + 2)
    }
}
