/// Splits a byte stream from an HTTP/1.1 server into responses: bytes in, complete responses or a
/// framing error out. No I/O, so a client's socket code only moves bytes and acts on the result.
///
/// Bodies are framed by `Content-Length` (what the Rewind server sends for every non-streaming
/// response); 1xx, 204 and 304 have none. A chunked or unframed body is reported as malformed:
/// a load generator that guessed would measure the wrong thing. Requests are assumed not to be
/// HEAD. After `.malformed` the stream is unusable: close the connection and start a new framer.
public struct HTTPResponseFramer {
    /// One complete response.
    public struct Response: Equatable, Sendable {
        public var status: Int
        /// False when the server will close after it (`Connection: close`, or HTTP/1.0 without
        /// `keep-alive`): the client must reconnect before its next request.
        public var keepAlive: Bool
        public var body: [UInt8]

        public init(status: Int, keepAlive: Bool, body: [UInt8]) {
            self.status = status
            self.keepAlive = keepAlive
            self.body = body
        }
    }

    public enum Event: Equatable {
        case needMoreBytes
        case response(Response)
        case malformed(String)
    }

    /// Bigger heads are refused rather than buffered without bound.
    public static let maximumHeadBytes = 64 * 1024
    /// Larger bodies are refused: no response of the API under test comes near this.
    public static let maximumBodyBytes = 64 * 1024 * 1024

    private var buffer: [UInt8] = []
    /// Where the next response starts; consumed bytes are dropped lazily to avoid shifting per response.
    private var start = 0
    /// How far the search for the end of the head has already looked, so that a head arriving in
    /// many small reads is scanned once.
    private var scanned = 0
    /// The parsed head of a response whose body is still arriving.
    private var pending: (status: Int, keepAlive: Bool, bodyStart: Int, bodyLength: Int)?

    public init() {}

    /// Bytes received but not yet part of a returned response.
    public var bufferedByteCount: Int { buffer.count - start }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            scanned = 0
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete response, if the bytes so far hold one. Call again after a response:
    /// pipelined responses may already be buffered.
    public mutating func next() -> Event {
        if pending == nil {
            switch parseHead() {
            case .incomplete: return .needMoreBytes
            case .malformed(let reason): return .malformed(reason)
            case .parsed: break
            }
        }
        guard let head = pending else { return .needMoreBytes }
        let bodyEnd = head.bodyStart + head.bodyLength
        guard buffer.count >= bodyEnd else { return .needMoreBytes }
        let body = Array(buffer[head.bodyStart..<bodyEnd])
        pending = nil
        start = bodyEnd
        scanned = bodyEnd
        compactIfWorthIt()
        return .response(Response(status: head.status, keepAlive: head.keepAlive, body: body))
    }

    private mutating func compactIfWorthIt() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
            scanned = 0
        } else if start > 16 * 1024 && start > buffer.count / 2 {
            buffer.removeSubrange(..<start)
            scanned -= start
            start = 0
        }
    }

    private enum HeadResult {
        case incomplete
        case parsed
        case malformed(String)
    }

    /// Finds and parses the head; on success sets `pending`.
    private mutating func parseHead() -> HeadResult {
        guard let headEnd = findHeadEnd() else {
            return buffer.count - start > Self.maximumHeadBytes
                ? .malformed("response head longer than \(Self.maximumHeadBytes) bytes") : .incomplete
        }
        let lines = buffer[start..<headEnd].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }
        guard let statusLine = lines.first, let (minor, status) = Self.parseStatusLine(statusLine) else {
            return .malformed("bad status line")
        }
        var keepAlive = minor >= 1
        var contentLength: Int?
        var chunked = false
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                return .malformed("header line without a colon")
            }
            let name = line[line.startIndex..<colon]
            let value = Self.trimmed(line[(colon + 1)...])
            if Self.equalsIgnoringCase(name, "content-length") {
                guard let length = Self.decimal(value), contentLength == nil || contentLength == length else {
                    return .malformed("bad or conflicting Content-Length")
                }
                contentLength = length
            } else if Self.equalsIgnoringCase(name, "connection") {
                for token in value.split(separator: UInt8(ascii: ",")) {
                    let option = Self.trimmed(token)
                    if Self.equalsIgnoringCase(option, "close") { keepAlive = false }
                    if Self.equalsIgnoringCase(option, "keep-alive") { keepAlive = true }
                }
            } else if Self.equalsIgnoringCase(name, "transfer-encoding") {
                chunked = true
            }
        }
        let bodyless = (100..<200).contains(status) || status == 204 || status == 304
        let length: Int
        if bodyless {
            length = 0
        } else if chunked {
            return .malformed("Transfer-Encoding bodies are not supported by the load generator")
        } else if let contentLength {
            guard contentLength <= Self.maximumBodyBytes else { return .malformed("body of \(contentLength) bytes") }
            length = contentLength
        } else {
            return .malformed("response without Content-Length")
        }
        pending = (status, keepAlive, headEnd + 4, length)
        return .parsed
    }

    /// The index of the CR of the "\r\n\r\n" ending the head, searching only new bytes.
    private mutating func findHeadEnd() -> Int? {
        var index = max(start, scanned - 3)
        while index + 3 < buffer.count {
            if buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                return index
            }
            index += 1
        }
        scanned = max(start, buffer.count)
        return nil
    }

    /// "HTTP/1.x NNN reason" as (x, NNN).
    private static func parseStatusLine(_ line: ArraySlice<UInt8>) -> (Int, Int)? {
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, line.prefix(7).elementsEqual(prefix) else { return nil }
        let base = line.startIndex
        let minorByte = line[base + 7]
        guard (48...57).contains(minorByte), line[base + 8] == 32 else { return nil }
        guard let status = decimal(line[(base + 9)..<(base + 12)]), status >= 100,
            line.count == 12 || line[base + 12] == 32
        else { return nil }
        return (Int(minorByte - 48), status)
    }

    private static func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 32 || first == 9 { slice.removeFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice.removeLast() }
        return slice
    }

    private static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for (byte, wanted) in zip(bytes, expected) {
            let folded: UInt8 = (65...90).contains(byte) ? byte | 0x20 : byte
            if folded != wanted { return false }
        }
        return true
    }
}
