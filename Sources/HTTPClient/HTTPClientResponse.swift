#if canImport(Glibc)
import Glibc
#endif

/// A response as the client read it off the wire: status line, headers in order, body.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, reason: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request got no usable response.
public struct HTTPClientError: Error, Equatable, CustomStringConvertible {
    /// What failed; the load generator counts failures by kind.
    public enum Kind: Sendable, Equatable {
        case resolve, connect, send, receive
        /// The server closed the connection before the response was complete.
        case closed
        /// The deadline or the socket's timeout passed before the response was complete.
        case timeout
        case malformed
    }

    public var kind: Kind
    /// The errno of the failed socket call, when that is what failed.
    public var code: Int32?
    public var description: String

    public init(_ kind: Kind, _ description: String, code: Int32? = nil) {
        self.kind = kind
        self.description = description
        self.code = code
    }

    static func errno(_ kind: Kind, _ call: String, _ code: Int32) -> HTTPClientError {
        HTTPClientError(kind, "\(call): \(String(cString: strerror(code)))", code: code)
    }
}
