import Foundation
import HTTPClient

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

    public init(status: Int, reason: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    init(_ response: HTTPClientResponse) {
        self.init(status: response.status, reason: response.reason, headers: response.headers, body: response.body)
    }
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

    init(_ error: HTTPClientError) {
        self.init(error.description, code: error.code)
    }
}

/// A raw-socket HTTP/1.1 client for loopback tests: it sends exactly the bytes it is given and
/// reads responses byte-exactly, so tests can pipeline, send garbage, stop half-way or stay silent.
/// Every read gives up after `timeout`, so a broken server fails a test instead of hanging it.
/// A thin facade over the project's one client connection, `HTTPClientConnection`.
public final class HTTPTestClient {
    private let connection: HTTPClientConnection

    public var fd: Int32 { connection.fd }

    /// Connects to `host:port`; with `source` (another loopback address such as `127.0.0.2`) the
    /// connection comes from that address, so tests can be several clients.
    public init(port: Int, host: String = "127.0.0.1", timeout: Duration = .seconds(10), source: String? = nil) throws {
        do {
            connection = try HTTPClientConnection(host: host, port: port, timeout: timeout, source: source)
        } catch {
            throw HTTPTestClientError(error)
        }
    }

    public func close() { connection.close() }

    /// Half-closes: the server sees end of input, responses can still be read.
    public func shutdownWrite() { connection.shutdownWrite() }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        try wrap { try connection.send(bytes) }
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
        HTTPTestResponse(try wrap { try connection.readResponse(forHEAD: forHEAD) })
    }

    /// Reads a status line and headers only, leaving the body to `readChunk` or reads.
    public func readHead() throws -> HTTPTestResponse {
        HTTPTestResponse(try wrap { try connection.readHead() })
    }

    /// The next chunk of a chunked body; nil after the last chunk (trailers are skipped).
    public func readChunk() throws -> [UInt8]? {
        try wrap { try connection.readChunk() }
    }

    /// Everything until the server closes the connection.
    public func readUntilClosed() throws -> [UInt8] {
        try wrap { try connection.readUntilClosed() }
    }

    /// True when the server closes (FIN or reset) within the read timeout; bytes are discarded.
    public func waitForClose() -> Bool { connection.waitForClose() }

    public func readExactly(_ count: Int) throws -> [UInt8] {
        try wrap { try connection.readExactly(count) }
    }

    /// The client's errors as the tests have always seen them (description and errno).
    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as HTTPClientError {
            throw HTTPTestClientError(error)
        }
    }
}
