/// One `name=value` pair of a request's query string, percent-decoded.
public struct HTTPQueryItem: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The request line and header block: everything known before the body arrives.
///
/// Routes see this first (to choose a body limit), so it carries the parsed target too.
public struct HTTPRequestHead: Sendable, Hashable {
    public var method: HTTPMethod
    /// The request-target exactly as sent (`/v1/jobs?limit=5`).
    public var target: String
    /// The target's path, percent-decoded (`/v1/jobs`).
    public var path: String
    /// The target's query string as sent, without `?`; nil when there is none.
    public var rawQuery: String?
    /// The query string split into percent-decoded items (`+` decodes to a space), in order.
    public var queryItems: [HTTPQueryItem]
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(
        method: HTTPMethod, target: String, version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = HTTPHeaders()
    ) throws(HTTPParseError) {
        let parsed = try RequestTarget(parsing: target, method: method)
        self.method = method
        self.target = target
        self.path = parsed.path
        self.rawQuery = parsed.rawQuery
        self.queryItems = parsed.queryItems
        self.version = version
        self.headers = headers
    }

    private init(placeholderMethod method: HTTPMethod) {
        self.method = method
        target = "/"
        path = "/"
        rawQuery = nil
        queryItems = []
        version = .http1_1
        headers = HTTPHeaders()
    }

    /// Stands in for a head that never parsed, when the server answers an error on its own.
    static let placeholder = HTTPRequestHead(placeholderMethod: .get)

    /// The first value of the query item `name`, or nil.
    public func query(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// Whether the client allows the connection to stay open after this exchange
    /// (RFC 9112 §9.3: 1.1 persists unless `close`; 1.0 only with `keep-alive`).
    public var keepAlive: Bool {
        let tokens = headers.tokens(for: "Connection")
        if tokens.contains("close") { return false }
        if version == .http1_0 { return tokens.contains("keep-alive") }
        return version.minor >= 1 || version.major > 1
    }

    /// Whether the client waits for `100 Continue` before sending the body; 1.0 clients never do.
    public var expectsContinue: Bool {
        version != .http1_0 && headers.tokens(for: "Expect").contains("100-continue")
    }
}

/// A complete request, body included, as handed to the handler.
public struct HTTPRequest: Sendable, Hashable {
    public var head: HTTPRequestHead
    public var body: [UInt8]
    /// Trailer fields of a chunked body (empty otherwise).
    public var trailers: HTTPHeaders
    /// The peer as `address:port` (`127.0.0.1:53122`, `[::1]:53122`); nil when unknown.
    public var remoteAddress: String?
    /// A body still arriving, for a route that streams its body (`body` is then empty): the
    /// handler reads it piece by piece. Nil when the body was received whole.
    public var bodyStream: RequestBodyStream?

    public init(
        head: HTTPRequestHead, body: [UInt8] = [], trailers: HTTPHeaders = HTTPHeaders(),
        remoteAddress: String? = nil, bodyStream: RequestBodyStream? = nil
    ) {
        self.head = head
        self.body = body
        self.trailers = trailers
        self.remoteAddress = remoteAddress
        self.bodyStream = bodyStream
    }

    public var method: HTTPMethod { head.method }
    public var target: String { head.target }
    public var path: String { head.path }
    public var queryItems: [HTTPQueryItem] { head.queryItems }
    public var headers: HTTPHeaders { head.headers }
    public var version: HTTPVersion { head.version }
    public func query(_ name: String) -> String? { head.query(name) }
}
