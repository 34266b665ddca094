import Foundation

/// The CLI's client of a Rewind service (`submit`, `status`, `healthcheck`, …): one request per
/// connection to a base URL, over `HTTPClientConnection`.
public struct HTTPClient: Sendable {
    public let host: String
    public let port: Int
    public let basePath: String
    public let timeout: Duration

    /// Parses `http://host[:port][/base]` (`host:port` alone means http); https is not supported
    /// (put Rewind behind a TLS proxy).
    public init(url given: String, timeout: Duration = .seconds(10)) throws(HTTPClientError) {
        let url = given.contains("://") ? given : "http://\(given)"
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host,
            !host.isEmpty
        else {
            throw HTTPClientError(.resolve, "expected a URL like http://127.0.0.1:8080 or 127.0.0.1:8080, got \(given)")
        }
        self.host = host
        port = components.port ?? 80
        basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        self.timeout = timeout
    }

    /// Sends one request (`Connection: close`) and reads its whole response.
    public func request(
        _ method: String, _ path: String, body: [UInt8] = [], headers: [String: String] = [:]
    ) throws(HTTPClientError) -> HTTPClientResponse {
        let connection = try HTTPClientConnection(host: host, port: port, timeout: timeout)
        defer { connection.close() }
        var head = "\(method) \(basePath)\(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        try connection.send(Array((head + "\r\n").utf8) + body)
        return try connection.readResponse(forHEAD: method == "HEAD")
    }

    /// Opens an event stream: `onHead` gets the status, `onBytes` the body's bytes as they arrive
    /// (de-chunked) until it returns false or the stream ends. Reads wait without a timeout.
    public func stream(
        _ path: String, headers: [String: String] = [:], onHead: (Int) throws -> Void, onBytes: ([UInt8]) throws -> Bool
    ) throws {
        let connection = try HTTPClientConnection(host: host, port: port, timeout: .zero)
        defer { connection.close() }
        var head =
            "GET \(basePath)\(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/event-stream\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        try connection.send(Array((head + "\r\n").utf8))
        let response = try connection.readHead()
        try onHead(response.status)
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") ?? false {
            while let chunk = try connection.readChunk() {
                guard try onBytes(chunk) else { return }
            }
        } else {
            while let bytes = try connection.readAvailable() {
                guard try onBytes(bytes) else { return }
            }
        }
    }
}
