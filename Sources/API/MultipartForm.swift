/// A `multipart/form-data` body (RFC 7578) split into its parts: what browsers and `curl -F` send
/// for a file upload. Only what uploads need: each part's form name, file name and raw bytes.
struct MultipartForm: Equatable {
    struct Part: Equatable {
        /// `name` of the part's `Content-Disposition: form-data`.
        var name: String
        /// `filename` when the part is a file.
        var filename: String?
        /// The part's bytes where they lie in the body (no copy of an uploaded file).
        var content: ArraySlice<UInt8>

        init(name: String, filename: String?, content: ArraySlice<UInt8>) {
            self.name = name
            self.filename = filename
            self.content = content
        }

        init(name: String, filename: String?, content: [UInt8]) {
            self.init(name: name, filename: filename, content: content[...])
        }
    }

    struct Malformed: Error, Equatable {
        var message: String
    }

    var parts: [Part]

    /// The boundary of a `multipart/form-data; boundary=...` content type; nil for any other type.
    static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else {
                continue
            }
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            return value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2
                ? String(value.dropFirst().dropLast()) : value
        }
        return nil
    }

    /// Splits `body` at `--boundary` delimiters; throws when the framing is broken.
    init(body: [UInt8], boundary: String) throws(Malformed) {
        guard !boundary.isEmpty else { throw Malformed(message: "the multipart boundary is empty") }
        let delimiter = Array("--\(boundary)".utf8)
        guard var cursor = Self.find(delimiter, in: body, from: 0) else {
            throw Malformed(message: "the body does not contain the multipart boundary")
        }
        var parts: [Part] = []
        while true {
            cursor += delimiter.count
            // "--" after a delimiter closes the body.
            if cursor + 1 < body.count, body[cursor] == UInt8(ascii: "-"), body[cursor + 1] == UInt8(ascii: "-") {
                break
            }
            guard let headStart = Self.find([13, 10], in: body, from: cursor).map({ $0 + 2 }),
                let headEnd = Self.find([13, 10, 13, 10], in: body, from: headStart - 2)
            else { throw Malformed(message: "a part has no header block") }
            let head = String(decoding: body[headStart..<max(headStart, headEnd)], as: UTF8.self)
            let contentStart = headEnd + 4
            guard let next = Self.find([13, 10] + delimiter, in: body, from: contentStart) else {
                throw Malformed(message: "a part is not closed by the boundary")
            }
            let (name, filename) = Self.disposition(head)
            parts.append(Part(name: name ?? "", filename: filename, content: body[contentStart..<next]))
            cursor = next + 2
        }
        self.parts = parts
    }

    /// `name` and `filename` of a part's `Content-Disposition` header.
    static func disposition(_ head: String) -> (name: String?, filename: String?) {
        for line in head.split(separator: "\r\n") {
            guard line.lowercased().hasPrefix("content-disposition:") else { continue }
            var name: String?, filename: String?
            for parameter in line.split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let key = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
                var value = pair[1].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                    value = String(value.dropFirst().dropLast())
                }
                if key == "name" { name = value }
                if key == "filename" { filename = value }
            }
            return (name, filename)
        }
        return (nil, nil)
    }

    /// The first index at or after `start` where `needle` occurs in `haystack`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else {
            return nil
        }
        let first = needle[0]
        var index = max(0, start)
        while index <= haystack.count - needle.count {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}
