import HTTPClient
import JSON

/// One-off requests to a loopback server (readiness, submitting and cancelling jobs): a fresh
/// connection per request, so that control traffic never shares a socket with the measured load.
struct LoopbackHTTPClient {
    /// A request that got a response, but not the one expected.
    struct UnexpectedResponse: Error, CustomStringConvertible {
        var description: String
    }

    let endpoint: LoopbackEndpoint
    /// Sent with every request, e.g. `Authorization`.
    let headers: [(name: String, value: String)]
    var timeout: Duration = .seconds(5)

    init(endpoint: LoopbackEndpoint, headers: [(name: String, value: String)] = []) {
        self.endpoint = endpoint
        self.headers = headers
    }

    func request(_ method: String, _ path: String, json body: String? = nil) throws -> HTTPResponseFramer.Response {
        precondition(LoadGenerator.isSafeTarget(path), "unsafe request target \(path)")
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\nConnection: close\r\n"
        head += "User-Agent: rewind-bench\r\nAccept: application/json\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((body ?? "").utf8)
        if body != nil { head += "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n" }
        let connection = try HTTPClientConnection(host: endpoint.host, port: endpoint.port, timeout: timeout)
        defer { connection.close() }
        try connection.send(Array((head + "\r\n").utf8) + bytes)
        return try connection.readFramedResponse(deadline: .now + timeout)
    }

    /// Sends the request and parses a JSON object from a response with status `expected`.
    func json(_ method: String, _ path: String, body: String? = nil, expecting expected: Int) throws -> JSONValue {
        let response = try request(method, path, json: body)
        guard response.status == expected else {
            throw UnexpectedResponse(
                description: "\(method) \(path) answered \(response.status), expected \(expected): "
                    + String(decoding: response.body.prefix(2000), as: UTF8.self))
        }
        do {
            return try JSONValue.parse(response.body)
        } catch {
            throw UnexpectedResponse(description: "\(method) \(path) answered invalid JSON: \(error)")
        }
    }
}
