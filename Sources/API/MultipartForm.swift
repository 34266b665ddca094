import Glibc

/// A `multipart/form-data` body (RFC 7578) split into its parts: what browsers and `curl -F` send
/// for a file upload. Only what uploads need: each part's form name, file name and raw bytes.
/// A whole body in memory; an upload reads its form as it arrives with `MultipartScanner`.
struct MultipartForm: Equatable {
    struct Part: Equatable {
        /// `name` of the part's `Content-Disposition: form-data`.
        var name: String
        /// `filename` when the part is a file.
        var filename: String?
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
        var scanner = try MultipartScanner(boundary: boundary)
        var parts: [Part] = []
        var content: [UInt8] = []
        let events: (MultipartScanner.Event) -> Void = { event in
            switch event {
            case .partStarted(let name, let filename):
                parts.append(Part(name: name ?? "", filename: filename, content: []))
            case .data(let bytes): content.append(contentsOf: bytes)
            case .partEnded:
                parts[parts.count - 1].content = content[...]
                content = []
            }
        }
        do {
            try body.withUnsafeBufferPointer { try scanner.feed($0, events) }
            try scanner.finish()
        } catch let error as Malformed {
            throw error
        } catch {
            preconditionFailure("only the scanner throws here")
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
}

/// Reads a `multipart/form-data` body fed in pieces of any size, as it arrives: each part's
/// start (its names), its content in order and its end, without holding the body. A boundary may
/// be split across pieces; what is held is a part's header block (at most `maxHeaderBytes`) or
/// the few bytes at the end of a piece that could begin a delimiter.
struct MultipartScanner {
    enum Event {
        case partStarted(name: String?, filename: String?)
        /// Content of the current part; valid only during the call.
        case data(UnsafeBufferPointer<UInt8>)
        case partEnded
    }

    /// A part's header block longer than this is refused.
    static let maxHeaderBytes = 16 << 10

    private enum State {
        /// Before the first delimiter (a preamble is skipped).
        case preamble
        /// Just after a delimiter: `--` ends the body, else the rest of the line, then headers.
        case afterDelimiter
        case content
        case done
    }

    /// `--boundary`, and the same after CRLF (what ends a part's content).
    private let delimiter: [UInt8]
    private let closing: [UInt8]
    private var state = State.preamble
    private var buffer: [UInt8] = []

    init(boundary: String) throws(MultipartForm.Malformed) {
        guard !boundary.isEmpty else { throw MultipartForm.Malformed(message: "the multipart boundary is empty") }
        delimiter = Array("--\(boundary)".utf8)
        closing = [13, 10] + delimiter
    }

    /// Whether the closing delimiter has been read.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Reads `bytes`, reporting what they complete to `events`; rethrows what `events` throws.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, _ events: (Event) throws -> Void) throws {
        if case .done = state { return }
        buffer.append(contentsOf: bytes)
        var consumed = 0
        defer { buffer.removeSubrange(0..<consumed) }
        try buffer.withUnsafeBufferPointer { all in
            while true {
                switch state {
                case .done:
                    consumed = all.count
                    return
                case .preamble:
                    guard let at = Self.find(delimiter, in: all, from: consumed) else {
                        consumed = max(consumed, all.count - (delimiter.count - 1))
                        return
                    }
                    consumed = at + delimiter.count
                    state = .afterDelimiter
                case .afterDelimiter:
                    guard all.count - consumed >= 2 else { return }
                    if all[consumed] == UInt8(ascii: "-"), all[consumed + 1] == UInt8(ascii: "-") {
                        state = .done
                        continue
                    }
                    guard let lineEnd = Self.find([13, 10], in: all, from: consumed),
                        let headEnd = Self.find([13, 10, 13, 10], in: all, from: lineEnd)
                    else {
                        if all.count - consumed > Self.maxHeaderBytes {
                            throw MultipartForm.Malformed(message: "a part has no header block")
                        }
                        return
                    }
                    let head = String(
                        decoding: UnsafeBufferPointer(rebasing: all[(lineEnd + 2)..<max(lineEnd + 2, headEnd)]),
                        as: UTF8.self)
                    let (name, filename) = MultipartForm.disposition(head)
                    try events(.partStarted(name: name, filename: filename))
                    consumed = headEnd + 4
                    state = .content
                case .content:
                    if let at = Self.find(closing, in: all, from: consumed) {
                        if at > consumed { try events(.data(UnsafeBufferPointer(rebasing: all[consumed..<at]))) }
                        try events(.partEnded)
                        consumed = at + closing.count
                        state = .afterDelimiter
                        continue
                    }
                    // Keep what could be the start of a delimiter cut by the end of the piece.
                    let safe = max(consumed, all.count - (closing.count - 1))
                    if safe > consumed { try events(.data(UnsafeBufferPointer(rebasing: all[consumed..<safe]))) }
                    consumed = safe
                    return
                }
            }
        }
    }

    /// Throws unless the body ended with its closing delimiter.
    func finish() throws(MultipartForm.Malformed) {
        switch state {
        case .done: return
        case .preamble: throw MultipartForm.Malformed(message: "the body does not contain the multipart boundary")
        case .afterDelimiter: throw MultipartForm.Malformed(message: "a part has no header block")
        case .content: throw MultipartForm.Malformed(message: "a part is not closed by the boundary")
        }
    }

    /// The first index at or after `start` where `needle` occurs in `haystack`.
    static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = haystack.baseAddress, !needle.isEmpty, start >= 0 else { return nil }
        var index = start
        let last = haystack.count - needle.count
        let first = Int32(needle[0])
        while index <= last {
            guard let hit = memchr(base + index, first, last - index + 1) else { return nil }
            let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if memcmp(base + at, needle, needle.count) == 0 { return at }
            index = at + 1
        }
        return nil
    }
}
