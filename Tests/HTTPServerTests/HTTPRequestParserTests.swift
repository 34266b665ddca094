import RewindTestSupport
import Testing

@testable import HTTPServer

/// Feeds `chunks` in order, collecting every event until the parser needs more bytes.
func parse(
    _ chunks: [[UInt8]], bodyLimit: @escaping @Sendable (HTTPRequestHead) -> Int = { _ in 1 << 20 },
    limits: HTTPRequestParser.Limits = .init()
) -> (events: [HTTPRequestParser.Event], error: HTTPParseError?) {
    var parser = HTTPRequestParser(limits: limits, bodyLimit: bodyLimit)
    var events: [HTTPRequestParser.Event] = []
    do {
        for chunk in chunks {
            parser.append(chunk)
            while let event = try parser.next() { events.append(event) }
        }
        return (events, nil)
    } catch {
        return (events, error)
    }
}

func parse(
    _ text: String, bodyLimit: @escaping @Sendable (HTTPRequestHead) -> Int = { _ in 1 << 20 }
) -> (events: [HTTPRequestParser.Event], error: HTTPParseError?) {
    parse([Array(text.utf8)], bodyLimit: bodyLimit)
}

func requests(_ events: [HTTPRequestParser.Event]) -> [HTTPRequest] {
    events.compactMap { if case .request(let request) = $0 { request } else { nil } }
}

/// A pipelined mix of every framing: no body, Content-Length, chunked with extension and trailer.
let pipelinedMix = Array(
    ("GET /a?x=1&y=two%20words&z=a+b HTTP/1.1\r\nHost: h\r\nX-Repeat: 1\r\nx-repeat: 2\r\n\r\n"
        + "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        + "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "3;name=value\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nChecksum: 42\r\n\r\n").utf8)

@Suite("HTTP request parser")
struct HTTPRequestParserTests {
    @Test func parsesMethodTargetDecodedPathQueryHeadersAndVersion() throws {
        let (events, error) = parse(
            "GET /v1/jobs%2Fx?limit=5&name=a%26b&flag HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
        #expect(error == nil)
        let request = try #require(requests(events).first)
        #expect(request.method == .get)
        #expect(request.target == "/v1/jobs%2Fx?limit=5&name=a%26b&flag")
        #expect(request.path == "/v1/jobs%2Fx")  // an encoded slash is not a separator
        #expect(request.head.rawQuery == "limit=5&name=a%26b&flag")
        #expect(
            request.queryItems == [
                HTTPQueryItem(name: "limit", value: "5"), HTTPQueryItem(name: "name", value: "a&b"),
                HTTPQueryItem(name: "flag", value: ""),
            ])
        #expect(request.query("name") == "a&b")
        #expect(request.headers["ACCEPT"] == "*/*")
        #expect(request.version == .http1_1)
        #expect(request.body.isEmpty)
    }

    @Test func emitsTheHeadBeforeTheRequestItBelongsTo() {
        let (events, _) = parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        guard events.count == 2, case .head(let head) = events[0], case .request(let request) = events[1] else {
            Issue.record("expected head then request, got \(events)")
            return
        }
        #expect(head == request.head)
    }

    @Test func parsesPipelinedRequestsOfEveryFramingInOrder() throws {
        let (events, error) = parse([pipelinedMix])
        #expect(error == nil)
        let all = requests(events)
        try #require(all.count == 3)
        #expect(all.map(\.path) == ["/a", "/b", "/c"])
        #expect(all[0].queryItems.map(\.value) == ["1", "two words", "a b"])
        #expect(all[0].headers.values(for: "X-REPEAT") == ["1", "2"])
        #expect(all[1].body == Array("hello".utf8))
        #expect(all[2].body == Array("abc0123456789abcdef".utf8))
        #expect(all[2].trailers["checksum"] == "42")
    }

    @Test func givesTheSameEventsForEverySplitPointOfTheInput() {
        let whole = parse([pipelinedMix])
        for split in 0...pipelinedMix.count {
            let parts = parse([Array(pipelinedMix[..<split]), Array(pipelinedMix[split...])])
            #expect(parts.events == whole.events, "split at \(split)")
            #expect(parts.error == nil)
        }
    }

    @Test func givesTheSameEventsWhenFedOneByteAtATime() {
        let whole = parse([pipelinedMix])
        let bytewise = parse(pipelinedMix.map { [$0] })
        #expect(bytewise.events == whole.events)
    }

    @Test func toleratesBareLineFeedsAndEmptyLinesBeforeTheRequestLine() throws {
        let (events, error) = parse("\r\n\nPOST /x HTTP/1.1\nHost: h\nContent-Length: 2\n\nok")
        #expect(error == nil)
        #expect(requests(events).first?.body == Array("ok".utf8))
    }

    @Test func acceptsRepeatedIdenticalContentLengths() {
        let (events, error) = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok")
        #expect(error == nil)
        #expect(requests(events).first?.body == Array("ok".utf8))
    }

    @Test func takesThePathOfAnAbsoluteFormTarget() {
        let (events, _) = parse("GET http://example.com:8080/v1/jobs?limit=2 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(requests(events).first?.path == "/v1/jobs")
        #expect(requests(events).first?.query("limit") == "2")
    }

    @Test func appliesTheKeepAliveRulesOfHTTP10AndHTTP11() throws {
        func head(_ text: String) throws -> HTTPRequestHead {
            let request = try #require(requests(parse(text).events).first)
            return request.head
        }
        #expect(try head("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keepAlive)
        #expect(try !head("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n").keepAlive)
        #expect(try !head("GET / HTTP/1.0\r\n\r\n").keepAlive)
        #expect(try head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
    }

    @Test func reportsThatABodyIsAwaitedAfterAHeadExpectingContinue() throws {
        var parser = HTTPRequestParser { _ in 100 }
        parser.append(Array("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .head(let head)? = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(head.expectsContinue)
        #expect(parser.awaitsBodyBytes)
        #expect(try parser.next() == nil)
        parser.append(Array("abc".utf8))
        guard case .request(let request)? = try parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(request.body == Array("abc".utf8))
        #expect(parser.isIdle)
    }

    @Test func asksTheRouteForItsBodyLimitWithTheHead() {
        let limit: @Sendable (HTTPRequestHead) -> Int = { $0.path == "/upload" ? 64 : 8 }
        let body = String(repeating: "x", count: 20)
        #expect(
            parse("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n\(body)", bodyLimit: limit).error
                == nil)
        #expect(
            parse("POST /json HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n\(body)", bodyLimit: limit).error?.kind
                == .bodyTooLarge)
    }

    @Test func rejectsAnOversizedContentLengthFromTheHeadAlone() {
        let (events, error) = parse(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n", bodyLimit: { _ in 999 })
        #expect(events.isEmpty)
        #expect(error?.kind == .bodyTooLarge)
        #expect(error?.status.code == 413)
    }

    @Test func rejectsAChunkedBodyWhenItOutgrowsTheLimit() {
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n6\r\n"
        let (events, error) = parse(text, bodyLimit: { _ in 10 })
        #expect(events.count == 1)  // the head was accepted; the second chunk broke the limit
        #expect(error?.kind == .bodyTooLarge)
    }

    @Test func rejectsAHeadLargerThanSixteenKibibytesWithOrWithoutItsEnd() {
        let filler = String(repeating: "a", count: 16 * 1024)
        #expect(parse("GET / HTTP/1.1\r\nHost: h\r\nX-Big: \(filler)\r\n\r\n").error?.status.code == 431)
        #expect(parse("GET / HTTP/1.1\r\nHost: h\r\nX-Big: \(filler)").error?.status.code == 431)
        let many = (0..<101).map { "X-\($0): v\r\n" }.joined()
        #expect(parse("GET / HTTP/1.1\r\nHost: h\r\n\(many)\r\n").error?.kind == .headerTooLarge)
    }

    @Test func acceptsAHeadOfExactlyTheLimit() {
        let base = "GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n"
        let filler = String(repeating: "a", count: 16 * 1024 - base.utf8.count)
        let text = "GET / HTTP/1.1\r\nHost: h\r\nX: \(filler)\r\n\r\n"
        #expect(text.utf8.count == 16 * 1024)
        #expect(parse(text).error == nil)
    }

    static let malformed: [(String, HTTPParseError.Kind, Int)] = [
        ("GET /\r\n\r\n", .malformedRequestLine, 400),
        ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", .malformedRequestLine, 400),
        ("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", .malformedRequestLine, 400),
        ("GET / HTTX/1.1\r\nHost: h\r\n\r\n", .malformedRequestLine, 400),
        ("GET / HTTP/1.10\r\nHost: h\r\n\r\n", .malformedRequestLine, 400),
        ("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidMethod, 400),
        ("\u{1}\u{2}\u{3} garbage\r\n\r\n", .malformedRequestLine, 400),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", .unsupportedVersion, 505),
        ("GET nopath HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, 400),
        ("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, 400),
        ("GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, 400),
        ("GET /a?b=%ff HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, 400),
        ("GET /#frag HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, 400),
        ("GET * HTTP/1.1\r\nHost: h\r\n\r\n", .invalidTarget, 400),
        ("GET / HTTP/1.1\r\n\r\n", .missingHost, 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .missingHost, 400),
        ("GET / HTTP/1.1\r\nHost : h\r\n\r\n", .malformedHeader, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", .malformedHeader, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", .malformedHeader, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", .malformedHeader, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", .malformedHeader, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", .malformedHeader, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", .invalidContentLength, 400),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            .conflictingFraming, 400
        ),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .conflictingFraming, 400),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            .conflictingFraming, 400
        ),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .conflictingFraming, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding, 501),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", .unsupportedTransferEncoding, 501),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .invalidChunk, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", .invalidChunk, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n", .invalidChunk, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n", .invalidChunk, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", .invalidChunk, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX", .invalidChunk, 400),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\(String(repeating: "0", count: 5000))",
            .invalidChunk, 400
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
            .malformedHeader, 400
        ),
        ("POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n", .unsupportedExpectation, 417),
    ]

    @Test(arguments: 0..<malformed.count)
    func answersMalformedInputWithItsTypedError(_ index: Int) {
        let (text, kind, status) = Self.malformed[index]
        let (events, error) = parse(text)
        #expect(
            error?.kind == kind,
            "\(text.debugDescription) gave \(String(describing: error)) after \(events.count) events")
        #expect(error?.status.code == status)
    }

    @Test func keepsFailingAfterAnError() {
        var parser = HTTPRequestParser { _ in 100 }
        parser.append(Array("BAD\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(throws: HTTPParseError.self) { try parser.next() }
    }

    @Test func reachesTheSameOutcomeOnRandomInputHoweverItIsSplit() {
        var generator = SeededGenerator(seed: 7)
        let alphabet = Array("GET /HTP1.\r\n: chunkedTransfer-EncodingContent-Length0123456789abcdef;\u{0}\u{7f}".utf8)
        let chunkedHead = Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for _ in 0..<2000 {
            let length = Int(generator.next() % 200)
            let noise = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            for input in [noise, chunkedHead + noise] {
                let split = Int(generator.next() % UInt64(input.count + 1))
                let whole = parse([input])
                let parts = parse([Array(input[..<split]), Array(input[split...])])
                #expect(parts.events == whole.events)
                #expect(parts.error?.kind == whole.error?.kind, "\(input) split at \(split)")
            }
        }
    }
}
