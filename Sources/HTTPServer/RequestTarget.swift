/// The request-target split into a decoded path and query (RFC 9112 §3.2).
struct RequestTarget: Sendable, Hashable {
    var path: String
    var rawQuery: String?
    var queryItems: [HTTPQueryItem]

    init(parsing target: String, method: HTTPMethod) throws(HTTPParseError) {
        let bytes = Array(target.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPParseError(.invalidTarget, "The request target is empty or has invalid characters.")
        }
        if bytes.contains(UInt8(ascii: "#")) {
            throw HTTPParseError(.invalidTarget, "A request target must not carry a fragment.")
        }
        var origin = bytes[...]
        if bytes == [UInt8(ascii: "*")] {
            guard method == .options else {
                throw HTTPParseError(.invalidTarget, "The asterisk target is only valid for OPTIONS.")
            }
            path = "*"
            rawQuery = nil
            queryItems = []
            return
        } else if bytes.first != UInt8(ascii: "/") {
            // Absolute form (a client talking to us as if we were a proxy): keep only the path.
            let separator = Array("://".utf8)
            guard
                let schemeEnd = (0..<max(0, bytes.count - 2)).first(where: {
                    bytes[$0..<($0 + 3)].elementsEqual(separator)
                }),
                ["http", "https"].contains(String(decoding: bytes[..<schemeEnd], as: UTF8.self).lowercased())
            else {
                throw HTTPParseError(.invalidTarget, "The request target must be a path such as /v1/jobs.")
            }
            let afterScheme = bytes[(schemeEnd + 3)...]
            if let slash = afterScheme.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) {
                origin = afterScheme[slash...]
            } else {
                origin = ArraySlice("/".utf8)
            }
            if origin.first == UInt8(ascii: "?") { origin = ArraySlice("/".utf8) + origin }
        }
        let question = origin.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = question.map { origin[..<$0] } ?? origin
        // `%2F` stays encoded: a decoded slash would become a segment separator, so
        // `/v1/jobs/a%2Fcancel` could reach a route its sender never named.
        guard let decodedPath = Self.percentDecode(rawPath, plusIsSpace: false, keepingSlashes: true) else {
            throw HTTPParseError(.invalidTarget, "The request path has invalid percent-encoding.")
        }
        path = decodedPath
        if let question {
            let query = origin[(question + 1)...]
            rawQuery = String(decoding: query, as: UTF8.self)
            queryItems = try Self.parseQuery(query)
        } else {
            rawQuery = nil
            queryItems = []
        }
    }

    private static func parseQuery(_ query: ArraySlice<UInt8>) throws(HTTPParseError) -> [HTTPQueryItem] {
        var items: [HTTPQueryItem] = []
        for pair in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let rawName = equals.map { pair[..<$0] } ?? pair
            let rawValue = equals.map { pair[($0 + 1)...] } ?? []
            guard let name = percentDecode(rawName, plusIsSpace: true),
                let value = percentDecode(rawValue, plusIsSpace: true)
            else {
                throw HTTPParseError(.invalidTarget, "The query string has invalid percent-encoding.")
            }
            items.append(HTTPQueryItem(name: name, value: value))
        }
        return items
    }

    /// Decodes `%XX` escapes; nil for a broken escape, invalid UTF-8 or an encoded NUL. With
    /// `keepingSlashes`, `%2F` is kept as written (a path segment may not contain a separator).
    static func percentDecode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool, keepingSlashes: Bool = false) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                    let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { return nil }
                let decoded = high << 4 | low
                if decoded == 0 { return nil }
                if keepingSlashes, decoded == UInt8(ascii: "/") {
                    out += [UInt8(ascii: "%"), UInt8(ascii: "2"), UInt8(ascii: "F")]
                } else {
                    out.append(decoded)
                }
                index += 3
            } else {
                out.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
