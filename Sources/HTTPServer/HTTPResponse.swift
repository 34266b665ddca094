/// A response: status, headers and a body that is either complete or streamed.
///
/// The server adds `Content-Length` (or chunked framing for streams), `Date` and `Connection`;
/// values the handler sets for those three are replaced, so framing is always consistent.
public struct HTTPResponse: Sendable {
    /// The body: bytes known now, or a stream fed later through a writer.
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(ResponseStreamWriter)
    }

    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = .bytes(body)
    }

    /// A text body, UTF-8 encoded; sets `Content-Type` if the headers do not.
    public init(
        status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), text: String,
        contentType: String = "text/plain; charset=utf-8"
    ) {
        var headers = headers
        if !headers.contains("Content-Type") { headers.add("Content-Type", contentType) }
        self.init(status: status, headers: headers, body: Array(text.utf8))
    }

    /// A streamed body: the server sends the head at once, then whatever `writer` receives.
    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), stream writer: ResponseStreamWriter) {
        self.status = status
        self.headers = headers
        self.body = .stream(writer)
    }

    /// A Server-Sent Events response (`text/event-stream`, not cached) fed through `writer`.
    public static func eventStream(_ writer: ResponseStreamWriter, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse
    {
        var headers = headers
        headers.set("Content-Type", "text/event-stream")
        headers.set("Cache-Control", "no-cache")
        return HTTPResponse(status: .ok, headers: headers, stream: writer)
    }

    /// An RFC 9457 problem+json response, the shape of every error this service returns.
    public static func problem(_ status: HTTPStatus, title: String? = nil, detail: String) -> HTTPResponse {
        let json =
            "{\"type\":\"about:blank\",\"title\":\(jsonString(title ?? status.reasonPhrase)),"
            + "\"status\":\(status.code),\"detail\":\(jsonString(detail))}"
        return HTTPResponse(
            status: status, headers: ["Content-Type": "application/problem+json"],
            body: Array(json.utf8))
    }

    /// A JSON string literal for `text` (quotes, backslashes and control characters escaped).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
