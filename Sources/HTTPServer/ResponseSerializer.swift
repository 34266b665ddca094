/// Turns response heads and stream chunks into wire bytes.
enum ResponseSerializer {
    /// How the body after a head is delimited.
    enum Framing: Equatable {
        case contentLength(Int)
        case chunked
        /// HTTP/1.0 has no chunked coding, so a stream to a 1.0 client ends when we close.
        case closeDelimited
        /// 1xx, 204 and 304 carry neither a body nor a length.
        case none
    }

    /// The status line and header block, ending with the empty line.
    static func head(
        status: HTTPStatus, headers: HTTPHeaders, framing: Framing, version: HTTPVersion,
        close: Bool, date: String
    ) -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(clean(status.reasonPhrase))\r\n"
        for field in headers {
            switch field.name.lowercased() {
            case "content-length", "transfer-encoding", "connection", "date": continue
            default: text += "\(clean(field.name)): \(clean(field.value))\r\n"
            }
        }
        switch framing {
        case .contentLength(let length): text += "Content-Length: \(length)\r\n"
        case .chunked: text += "Transfer-Encoding: chunked\r\n"
        case .closeDelimited, .none: break
        }
        text += "Date: \(date)\r\n"
        if close {
            text += "Connection: close\r\n"
        } else if version == .http1_0 {
            text += "Connection: keep-alive\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// One chunk of a chunked body; empty input gives nothing (an empty chunk would end the body).
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var out = Array(String(bytes.count, radix: 16).utf8)
        out.reserveCapacity(out.count + bytes.count + 4)
        out += [0x0D, 0x0A]
        out += bytes
        out += [0x0D, 0x0A]
        return out
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Replaces CR and LF so that no handler-supplied text can split the response.
    private static func clean(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else { return text }
        return String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }
}
