/// The grammar of single lines (request line, field line, chunk-size line) and the character
/// classes of RFC 9110 §5.6.2: pure functions of their input, apart from the parser's state.
extension HTTPRequestParser {
    func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (HTTPMethod, String, HTTPVersion) {
        let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].contains(UInt8(ascii: " ")) else {
            throw HTTPParseError(.malformedRequestLine, "The request line must be METHOD SP target SP HTTP-version.")
        }
        guard !parts[0].isEmpty, parts[0].allSatisfy(Self.isTokenByte) else {
            throw HTTPParseError(.invalidMethod, "The method is not a valid token.")
        }
        let version = parts[2]
        guard version.count == 8, version.starts(with: "HTTP/".utf8),
            let major = Self.digit(version[version.startIndex + 5]),
            version[version.startIndex + 6] == UInt8(ascii: "."),
            let minor = Self.digit(version[version.startIndex + 7])
        else {
            throw HTTPParseError(.malformedRequestLine, "The HTTP version is malformed.")
        }
        guard major == 1 else {
            throw HTTPParseError(.unsupportedVersion, "Only HTTP/1.0 and HTTP/1.1 are served.")
        }
        let target = String(decoding: parts[1], as: UTF8.self)
        return (
            HTTPMethod(rawValue: String(decoding: parts[0], as: UTF8.self)), target,
            HTTPVersion(major: 1, minor: minor)
        )
    }

    func parseField(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPHeaders.Field {
        guard let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t") else {
            throw HTTPParseError(.malformedHeader, "Obsolete line folding is not accepted.")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw HTTPParseError(.malformedHeader, "A header line has no colon.")
        }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(Self.isTokenByte) else {
            throw HTTPParseError(.malformedHeader, "A header name is not a valid token.")
        }
        var value = line[(colon + 1)...]
        guard value.allSatisfy(Self.isFieldValueByte) else {
            throw HTTPParseError(.malformedHeader, "A header value contains a control character.")
        }
        while let byte = value.first, byte == 0x20 || byte == 0x09 { value = value.dropFirst() }
        while let byte = value.last, byte == 0x20 || byte == 0x09 { value = value.dropLast() }
        return HTTPHeaders.Field(
            name: String(decoding: name, as: UTF8.self),
            value: String(decoding: value, as: UTF8.self))
    }

    func parseChunkSize(_ line: Line) throws(HTTPParseError) -> Int {
        let content = line.content
        let digits = content.prefix(while: { RequestTarget.hexValue($0) != nil })
        guard !digits.isEmpty else {
            throw HTTPParseError(.invalidChunk, "A chunk size is not hexadecimal.")
        }
        let rest = content[digits.endIndex...].drop(while: { $0 == 0x20 || $0 == 0x09 })
        guard rest.isEmpty || (rest.first == UInt8(ascii: ";") && rest.allSatisfy(Self.isFieldValueByte)) else {
            throw HTTPParseError(.invalidChunk, "A chunk size is followed by something other than an extension.")
        }
        var size = 0
        for byte in digits.drop(while: { $0 == UInt8(ascii: "0") }) {
            guard size <= (Int.max >> 4) else {
                throw HTTPParseError(.invalidChunk, "A chunk size overflows.")
            }
            size = size << 4 | Int(RequestTarget.hexValue(byte)!)
        }
        return size
    }

    // MARK: - Character classes (RFC 9110 §5.6.2, §5.5)

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Visible ASCII, space, tab and obs-text; a CR here means a bare CR inside a line.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }
}
