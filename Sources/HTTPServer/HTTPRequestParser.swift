/// A pure HTTP/1.1 request parser: bytes in, request heads and complete requests (or a typed
/// error) out.
///
/// It never touches a socket or a clock, so every framing rule is testable by feeding bytes in
/// any split. Decisions where RFC 9112 leaves room:
/// - A bare LF ends a line (§2.2 allows it); a CR not followed by LF is an error, so no line can
///   be read two ways. Empty lines before a request line are skipped (§2.2).
/// - Obsolete line folding, whitespace before a header's colon, `Transfer-Encoding` together
///   with `Content-Length`, and `Transfer-Encoding` in HTTP/1.0 are all 400: each is a known
///   request-smuggling vector, and nothing we serve needs them.
/// - Codings other than `chunked` answer 501; `chunked` that is not last or appears twice is 400.
/// - An HTTP/1.1 request without exactly one `Host` is 400 (RFC 9112 §3.2).
public struct HTTPRequestParser: Sendable {
    /// Size limits that are not per route.
    public struct Limits: Sendable, Hashable {
        /// Request line plus header block, terminators included (431 beyond).
        public var maxHeadBytes: Int
        /// Header fields per request (431 beyond).
        public var maxHeaderCount: Int
        /// One chunk-size line with its extensions (400 beyond).
        public var maxChunkLineBytes: Int

        public init(maxHeadBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxChunkLineBytes: Int = 4096) {
            self.maxHeadBytes = maxHeadBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxChunkLineBytes = maxChunkLineBytes
        }
    }

    /// What one call to `next()` produced.
    public enum Event: Sendable, Hashable {
        /// The head is complete and accepted (its body fits the limit); the body may follow.
        case head(HTTPRequestHead)
        /// The whole request, body and trailers included; always preceded by its `.head`. For a
        /// streamed body (`streamBody()`) its body is empty: the bytes came as `.bodyPiece`s.
        case request(HTTPRequest)
        /// Bytes of a streamed body, in order, between its `.head` and its `.request`.
        case bodyPiece([UInt8])
    }

    enum State: Sendable {
        case head
        case fixedBody(HTTPRequestHead, remaining: Int)
        case chunkSize(HTTPRequestHead)
        case chunkData(HTTPRequestHead, remaining: Int)
        case chunkDataEnd(HTTPRequestHead)
        case trailers(HTTPRequestHead)
        case failed(HTTPParseError)
    }

    public let limits: Limits
    private let bodyLimit: @Sendable (HTTPRequestHead) -> Int
    private var state: State = .head
    private var buffer: [UInt8] = []
    /// Index of the first unconsumed byte; every other position below is relative to it.
    private var start = 0
    /// Where the search for the next LF resumes, so byte-at-a-time input stays linear.
    private var scanFrom = 0
    private var headLines: [Range<Int>] = []
    private var lineStart = 0
    private var body: [UInt8] = []
    private var currentBodyLimit = 0
    /// " (set by ...)": the setting behind the current body limit, for its 413.
    private var currentBodyLimitSetting = ""
    private let bodyLimitSetting: @Sendable (HTTPRequestHead) -> String?
    private var trailers = HTTPHeaders()
    private var trailerBytes = 0
    /// The current body is handed out in pieces instead of being kept (`streamBody()`).
    private var streaming = false
    /// Bytes of the current streamed body handed out so far.
    private var streamedBytes = 0

    /// - Parameter bodyLimit: the largest body accepted for a head, in bytes (413 beyond).
    /// - Parameter bodyLimitSetting: the setting that sets it, named in the 413 (nil: none).
    public init(
        limits: Limits = Limits(), bodyLimit: @escaping @Sendable (HTTPRequestHead) -> Int,
        bodyLimitSetting: @escaping @Sendable (HTTPRequestHead) -> String? = { _ in nil }
    ) {
        self.limits = limits
        self.bodyLimit = bodyLimit
        self.bodyLimitSetting = bodyLimitSetting
    }

    /// Adds received bytes; call `next()` until it returns nil to consume them.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet consumed into a request.
    public var bufferedByteCount: Int { buffer.count - start }

    /// True between requests with nothing buffered: the connection is idle, not mid-request.
    public var isIdle: Bool {
        if case .head = state { return bufferedByteCount == 0 }
        return false
    }

    /// Bytes of memory the body being received holds now (its capacity, not its count).
    public var bodyCapacity: Int { body.capacity }

    /// Hands the body of the request whose head was just returned out as `.bodyPiece` events
    /// as its bytes arrive, instead of keeping it for the `.request`.
    public mutating func streamBody() {
        streaming = true
    }

    /// True once a head was accepted and its body is still being read.
    public var isReadingBody: Bool {
        switch state {
        case .head, .failed: false
        default: true
        }
    }

    /// True when the request whose head was just accepted has body bytes to come (a non-zero
    /// `Content-Length` or a chunked body): what is screened before any of it is read.
    public var hasBodyAhead: Bool {
        switch state {
        case .fixedBody(_, let remaining): remaining > 0
        case .chunkSize, .chunkData, .chunkDataEnd, .trailers: true
        case .head, .failed: false
        }
    }

    /// True when the current request's body still needs bytes from the client (used to decide
    /// whether `100 Continue` is worth sending).
    public var awaitsBodyBytes: Bool {
        switch state {
        case .fixedBody(_, let remaining): remaining > bufferedByteCount
        case .chunkSize, .chunkData, .chunkDataEnd, .trailers: true
        case .head, .failed: false
        }
    }

    /// The next event the buffered bytes allow, nil when more bytes are needed.
    /// After an error every call throws it again: the stream cannot be resynchronised.
    public mutating func next() throws(HTTPParseError) -> Event? {
        do {
            return try step()
        } catch {
            state = .failed(error)
            throw error
        }
    }

    private mutating func step() throws(HTTPParseError) -> Event? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .head:
                guard let head = try parseHead() else { return nil }
                return .head(head)
            case .fixedBody(let head, let remaining) where streaming:
                let take = min(remaining, bufferedByteCount)
                if take > 0 {
                    let piece = Array(buffer[start..<(start + take)])
                    consume(take)
                    streamedBytes += take
                    state = .fixedBody(head, remaining: remaining - take)
                    return .bodyPiece(piece)
                }
                guard remaining == 0 else { return nil }
                return .request(finishRequest(head))
            case .fixedBody(let head, let remaining):
                let take = min(remaining, bufferedByteCount)
                // Storage grows by doubling as the bytes arrive, never past the declared length:
                // what a client announces costs nothing until it sends it, and the connection
                // charges what the body holds to the node's memory budget as it grows.
                if body.count + take > body.capacity {
                    body.reserveCapacity(
                        min(body.count + remaining, max(body.count + take, 2 * body.capacity, 64 << 10)))
                }
                body.append(contentsOf: buffer[start..<(start + take)])
                consume(take)
                if remaining - take > 0 {
                    state = .fixedBody(head, remaining: remaining - take)
                    return nil
                }
                return .request(finishRequest(head))
            case .chunkSize(let head):
                guard let line = try nextLine(limit: limits.maxChunkLineBytes, tooLong: .invalidChunk) else {
                    return nil
                }
                let size = try parseChunkSize(line)
                consumeLine(line)
                if size == 0 {
                    state = .trailers(head)
                } else {
                    guard size <= currentBodyLimit - (streaming ? streamedBytes : body.count) else {
                        throw HTTPParseError(
                            .bodyTooLarge,
                            "The chunked body exceeds \(currentBodyLimit) bytes\(currentBodyLimitSetting).")
                    }
                    state = .chunkData(head, remaining: size)
                }
            case .chunkData(let head, let remaining):
                let take = min(remaining, bufferedByteCount)
                if streaming {
                    guard take > 0 else { return nil }
                    let piece = Array(buffer[start..<(start + take)])
                    consume(take)
                    streamedBytes += take
                    state = take == remaining ? .chunkDataEnd(head) : .chunkData(head, remaining: remaining - take)
                    return .bodyPiece(piece)
                }
                body.append(contentsOf: buffer[start..<(start + take)])
                consume(take)
                guard remaining - take == 0 else {
                    state = .chunkData(head, remaining: remaining - take)
                    return nil
                }
                state = .chunkDataEnd(head)
            case .chunkDataEnd(let head):
                // Exactly CRLF (or a bare LF) must follow the data; decide on each byte as it comes.
                guard bufferedByteCount > 0 else { return nil }
                let first = buffer[start]
                if first == 0x0D {
                    guard bufferedByteCount > 1 else { return nil }
                    guard buffer[start + 1] == 0x0A else {
                        throw HTTPParseError(.invalidChunk, "Chunk data is not followed by CRLF.")
                    }
                    consume(2)
                } else if first == 0x0A {
                    consume(1)
                } else {
                    throw HTTPParseError(.invalidChunk, "Chunk data is longer than its declared size.")
                }
                state = .chunkSize(head)
            case .trailers(let head):
                let remainingBudget = limits.maxHeadBytes - trailerBytes
                guard let line = try nextLine(limit: remainingBudget, tooLong: .headerTooLarge) else {
                    return nil
                }
                trailerBytes += line.consumed
                consumeLine(line)
                if line.isEmpty {
                    return .request(finishRequest(head))
                }
                let field = try parseField(line.content)
                guard trailers.count < limits.maxHeaderCount else {
                    throw HTTPParseError(.headerTooLarge, "Too many trailer fields.")
                }
                trailers.add(field.name, field.value)
            }
        }
    }

    // MARK: - Head

    private mutating func parseHead() throws(HTTPParseError) -> HTTPRequestHead? {
        while true {
            let available = bufferedByteCount
            guard let lf = firstLF(from: scanFrom, upTo: available) else {
                scanFrom = available
                if available > limits.maxHeadBytes {
                    throw HTTPParseError(
                        .headerTooLarge, "The request line and headers exceed \(limits.maxHeadBytes) bytes.")
                }
                return nil
            }
            guard lf < limits.maxHeadBytes else {
                throw HTTPParseError(
                    .headerTooLarge, "The request line and headers exceed \(limits.maxHeadBytes) bytes.")
            }
            var end = lf
            if end > lineStart, buffer[start + end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = lineStart..<end
            lineStart = lf + 1
            scanFrom = lineStart
            if line.isEmpty {
                if headLines.isEmpty { continue }  // tolerated empty line before the request line
                let head = try buildHead()
                consume(lineStart)
                headLines = []
                lineStart = 0
                scanFrom = 0
                try beginBody(head)
                return head
            }
            headLines.append(line)
            if headLines.count > limits.maxHeaderCount + 1 {
                throw HTTPParseError(.headerTooLarge, "More than \(limits.maxHeaderCount) header fields.")
            }
        }
    }

    private func buildHead() throws(HTTPParseError) -> HTTPRequestHead {
        let requestLine = buffer[(start + headLines[0].lowerBound)..<(start + headLines[0].upperBound)]
        let (method, target, version) = try parseRequestLine(requestLine)
        var headers = HTTPHeaders()
        for range in headLines.dropFirst() {
            let field = try parseField(buffer[(start + range.lowerBound)..<(start + range.upperBound)])
            headers.add(field.name, field.value)
        }
        return try HTTPRequestHead(method: method, target: target, version: version, headers: headers)
    }

    // MARK: - Framing

    private mutating func beginBody(_ head: HTTPRequestHead) throws(HTTPParseError) {
        let headers = head.headers
        let hosts = headers.values(for: "Host")
        if hosts.count > 1 || (head.version != .http1_0 && hosts.isEmpty) {
            throw HTTPParseError(.missingHost, "An HTTP/1.1 request needs exactly one Host header.")
        }
        if head.version != .http1_0 {
            let expectations = headers.tokens(for: "Expect")
            if expectations.contains(where: { $0 != "100-continue" }) {
                throw HTTPParseError(.unsupportedExpectation, "Only the 100-continue expectation is supported.")
            }
        }
        body = []
        trailers = HTTPHeaders()
        trailerBytes = 0
        streaming = false
        streamedBytes = 0
        currentBodyLimit = max(0, bodyLimit(head))
        currentBodyLimitSetting = bodyLimitSetting(head).map { " (set by \($0))" } ?? ""
        let codings = headers.tokens(for: "Transfer-Encoding")
        let hasTransferEncoding = headers.contains("Transfer-Encoding")
        if hasTransferEncoding {
            guard !headers.contains("Content-Length") else {
                throw HTTPParseError(
                    .conflictingFraming, "A request must not carry both Content-Length and Transfer-Encoding.")
            }
            guard head.version != .http1_0 else {
                throw HTTPParseError(.conflictingFraming, "Transfer-Encoding is not defined for HTTP/1.0.")
            }
            guard let last = codings.last else {
                throw HTTPParseError(.unsupportedTransferEncoding, "An empty Transfer-Encoding is not supported.")
            }
            if codings.contains(where: { $0 != "chunked" }) {
                if last != "chunked" {
                    throw HTTPParseError(
                        .conflictingFraming, "The body length cannot be determined: chunked is not the final coding.")
                }
                throw HTTPParseError(.unsupportedTransferEncoding, "Only the chunked transfer coding is supported.")
            }
            guard codings.count == 1 else {
                throw HTTPParseError(.conflictingFraming, "The chunked coding is applied more than once.")
            }
            state = .chunkSize(head)
            return
        }
        let lengths = headers.values(for: "Content-Length")
        guard !lengths.isEmpty else {
            state = .fixedBody(head, remaining: 0)
            return
        }
        let elements = lengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingHTTPWhitespace() }
        guard let first = elements.first, elements.allSatisfy({ $0 == first }),
            !first.isEmpty, first.utf8.count <= 18, first.utf8.allSatisfy({ Self.digit($0) != nil }),
            let length = Int(first)
        else {
            throw HTTPParseError(.invalidContentLength, "Content-Length must be one non-negative decimal number.")
        }
        guard length <= currentBodyLimit else {
            throw HTTPParseError(
                .bodyTooLarge,
                "The body of \(length) bytes exceeds the limit of \(currentBodyLimit) bytes\(currentBodyLimitSetting).")
        }
        state = .fixedBody(head, remaining: length)
    }

    private mutating func finishRequest(_ head: HTTPRequestHead) -> HTTPRequest {
        let request = HTTPRequest(head: head, body: body, trailers: trailers)
        body = []
        trailers = HTTPHeaders()
        streaming = false
        streamedBytes = 0
        state = .head
        return request
    }

    // MARK: - Lines

    /// A line found in the buffer: its content without terminator, and how many bytes it spans.
    struct Line {
        var content: ArraySlice<UInt8>
        var consumed: Int
        var isEmpty: Bool { content.isEmpty }
    }

    /// The next LF- or CRLF-terminated line, nil if not all there yet; longer than `limit` throws.
    private mutating func nextLine(limit: Int, tooLong: HTTPParseError.Kind) throws(HTTPParseError) -> Line? {
        let available = bufferedByteCount
        guard let lf = firstLF(from: 0, upTo: min(available, limit + 1)) else {
            if available > limit {
                throw HTTPParseError(
                    tooLong,
                    tooLong == .headerTooLarge
                        ? "The trailer fields exceed \(limits.maxHeadBytes) bytes."
                        : "A chunk line is too long or malformed.")
            }
            return nil
        }
        var end = lf
        if end > 0, buffer[start + end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let content = buffer[start..<(start + end)]
        if content.contains(UInt8(ascii: "\r")) {
            throw HTTPParseError(
                tooLong == .headerTooLarge ? .malformedHeader : .invalidChunk, "A bare CR is not a line terminator.")
        }
        return Line(content: content, consumed: lf + 1)
    }

    private mutating func consumeLine(_ line: Line) { consume(line.consumed) }

    private mutating func consume(_ count: Int) {
        start += count
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
    }

    private func firstLF(from offset: Int, upTo end: Int) -> Int? {
        var index = offset
        while index < end {
            if buffer[start + index] == 0x0A { return index }
            index += 1
        }
        return nil
    }
}
