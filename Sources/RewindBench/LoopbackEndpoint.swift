#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 loopback address and port: the only kind of target the load generator will hit, so a
/// mistyped URL can never turn a benchmark into traffic against someone else's machine.
struct LoopbackEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A target that is not a loopback `http://` address.
    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// A dotted IPv4 address in 127.0.0.0/8.
    let host: String
    let port: Int

    /// Accepts `localhost` (as 127.0.0.1) and IPv4 literals in 127.0.0.0/8; refuses everything else.
    init(host: String, port: Int) throws(Refusal) {
        let address = host == "localhost" ? "127.0.0.1" : host
        var parsed = in_addr()
        guard inet_pton(AF_INET, address, &parsed) == 1 else {
            throw Refusal(description: "\(host) is not an IPv4 loopback address (only 127.0.0.0/8 or localhost)")
        }
        guard UInt32(bigEndian: parsed.s_addr) >> 24 == 127 else {
            throw Refusal(description: "\(host) is not a loopback address; the load generator only targets 127.0.0.0/8")
        }
        guard (1...65535).contains(port) else { throw Refusal(description: "port \(port) is out of range") }
        self.host = address
        self.port = port
    }

    /// Parses `http://HOST:PORT` with an optional trailing `/`: a base URL, not a request path.
    init(url: String) throws(Refusal) {
        let scheme = "http://"
        guard url.hasPrefix(scheme) else { throw Refusal(description: "\(url): only http:// URLs are supported") }
        var rest = url.dropFirst(scheme.count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else {
            throw Refusal(description: "\(url): expected http://127.0.0.1:PORT")
        }
        try self.init(host: String(rest[..<colon]), port: port)
    }

    /// The `Host` header value and the URL prefix.
    var authority: String { "\(host):\(port)" }

    var description: String { "http://\(authority)" }

    /// The socket address to connect to.
    var socketAddress: sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        _ = inet_pton(AF_INET, host, &address.sin_addr)  // validated in init
        return address
    }
}
