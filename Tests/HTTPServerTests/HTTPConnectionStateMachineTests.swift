import Testing

@testable import HTTPServer

private let second: UInt64 = 1_000_000_000

/// A connection state machine driven by hand, with time as a plain number.
private struct Harness {
    var machine: HTTPConnectionStateMachine
    var written: [UInt8] = []
    var dispatched: [(Int, HTTPRequest)] = []
    var attached: [(Int, ResponseStreamWriter)] = []
    var terminated: [ResponseStreamWriter.CloseReason] = []
    var closed = false

    init(
        maxPipelined: Int = 16, now: UInt64 = 0, bodyTimeout: UInt64 = .max, defaultHeaders: HTTPHeaders = HTTPHeaders()
    ) {
        machine = HTTPConnectionStateMachine(
            configuration: .init(
                headerReadTimeout: 10 * second, bodyTimeout: bodyTimeout, idleTimeout: 60 * second,
                maxPipelinedRequests: maxPipelined, maxBufferedBytes: 80 * 1024, parserLimits: .init(),
                bodyLimit: { _ in 1000 }, date: { "Sun, 06 Nov 1994 08:49:37 GMT" }, defaultHeaders: defaultHeaders),
            now: now)
    }

    /// Bodies streamed to their handler (uploads), at least `minimumRate` bytes a second on
    /// average after `grace`.
    init(streamingWithMinimumRate minimumRate: UInt64, grace: UInt64) {
        var configuration = HTTPConnectionStateMachine.Configuration(
            headerReadTimeout: 10 * second, idleTimeout: 60 * second, maxPipelinedRequests: 16,
            maxBufferedBytes: 80 * 1024, parserLimits: .init(), bodyLimit: { _ in 1 << 30 },
            date: { "Sun, 06 Nov 1994 08:49:37 GMT" })
        configuration.streamsBody = { _ in true }
        configuration.streamedBodyMinimumRate = minimumRate
        configuration.streamedBodyRateGrace = grace
        machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
    }

    var text: String { String(decoding: written, as: UTF8.self) }

    mutating func take(_ actions: [HTTPConnectionStateMachine.Action]) {
        for action in actions {
            switch action {
            case .write(let bytes): written += bytes
            case .dispatch(let id, let request): dispatched.append((id, request))
            case .attachStream(let id, let writer): attached.append((id, writer))
            case .terminateStream(_, let reason): terminated.append(reason)
            case .close: closed = true
            case .screen: break
            }
        }
    }

    mutating func receive(_ text: String, at now: UInt64 = 0) {
        take(machine.bytesReceived(Array(text.utf8), now: now))
    }
    mutating func respond(_ id: Int, _ response: HTTPResponse, at now: UInt64 = 0) {
        take(machine.responseReady(id, response, now: now))
    }
    mutating func tick(_ now: UInt64) { take(machine.timerFired(now: now)) }
}

private func get(_ path: String, _ extra: String = "") -> String { "GET \(path) HTTP/1.1\r\nHost: h\r\n\(extra)\r\n" }

@Suite("HTTP connection state machine")
struct HTTPConnectionStateMachineTests {
    @Test func writesPipelinedResponsesInRequestOrderWhateverOrderTheyComplete() {
        var h = Harness()
        h.receive(get("/1") + get("/2") + get("/3"))
        #expect(h.dispatched.map(\.1.path) == ["/1", "/2", "/3"])
        h.respond(2, HTTPResponse(text: "three"))
        h.respond(1, HTTPResponse(text: "two"))
        #expect(h.written.isEmpty)
        h.respond(0, HTTPResponse(text: "one"))
        let bodies = h.text.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.prefix(5) }
        #expect(bodies == ["oneHT", "twoHT", "three"])
        #expect(!h.closed)
    }

    @Test func readsNoFurtherAheadThanThePipeliningLimit() {
        var h = Harness(maxPipelined: 2)
        h.receive(get("/1") + get("/2") + get("/3"))
        #expect(h.dispatched.count == 2)
        h.respond(0, HTTPResponse())
        #expect(h.dispatched.map(\.1.path) == ["/1", "/2", "/3"])
    }

    @Test func framesResponsesWithLengthDateAndNoBodyForHEAD() {
        var h = Harness()
        h.receive("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n")
        h.respond(0, HTTPResponse(headers: ["Content-Length": "999"], text: "hello"))
        #expect(h.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(h.text.contains("Content-Length: 5\r\n"))
        #expect(!h.text.contains("999"))
        #expect(h.text.contains("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"))
        #expect(h.text.hasSuffix("\r\n\r\n"))
    }

    @Test func sendsNoLengthForNoContent() {
        var h = Harness()
        h.receive(get("/"))
        h.respond(0, HTTPResponse(status: .noContent, body: Array("ignored".utf8)))
        #expect(h.text.hasPrefix("HTTP/1.1 204 No Content\r\n"))
        #expect(!h.text.contains("Content-Length"))
        #expect(h.text.hasSuffix("\r\n\r\n"))
    }

    @Test func closesAfterTheResponseWhenTheClientAsksForClose() {
        var h = Harness()
        h.receive(get("/", "Connection: close\r\n") + get("/ignored"))
        #expect(h.dispatched.count == 1)
        h.respond(0, HTTPResponse())
        #expect(h.text.contains("Connection: close\r\n"))
        #expect(h.closed)
    }

    @Test func keepsHTTP10AliveOnlyWhenAsked() {
        var plain = Harness()
        plain.receive("GET / HTTP/1.0\r\n\r\n")
        plain.respond(0, HTTPResponse())
        #expect(plain.closed)
        #expect(plain.text.contains("Connection: close"))
        var alive = Harness()
        alive.receive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        alive.respond(0, HTTPResponse())
        #expect(!alive.closed)
        #expect(alive.text.contains("Connection: keep-alive"))
    }

    @Test func sendsContinueOnlyWhileTheBodyIsAwaited() {
        var h = Harness()
        h.receive("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        #expect(h.text == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(h.dispatched.isEmpty)
        h.receive("abc")
        #expect(h.dispatched.first?.1.body == Array("abc".utf8))

        var eager = Harness()
        eager.receive("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
        #expect(eager.written.isEmpty)
        #expect(eager.dispatched.count == 1)
    }

    @Test func answersTooLargeBeforeTheBodyAndWithoutContinue() {
        var h = Harness()
        h.receive("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
        #expect(h.text.hasPrefix("HTTP/1.1 413 Content Too Large\r\n"))
        #expect(h.text.contains("Content-Type: application/problem+json"))
        #expect(h.text.contains("\"status\":413"))
        #expect(h.closed)
        #expect(h.dispatched.isEmpty)
    }

    @Test func answersAParseErrorAfterTheResponsesAlreadyOwed() {
        var h = Harness()
        h.receive(get("/ok") + "NOT HTTP\r\n\r\n")
        #expect(h.dispatched.count == 1)
        #expect(h.written.isEmpty)
        h.respond(0, HTTPResponse(text: "fine"))
        let text = h.text
        let ok = text.range(of: "200 OK")!, bad = text.range(of: "400 Bad Request")!
        #expect(ok.lowerBound < bad.lowerBound)
        #expect(text.contains("{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,\"detail\":"))
        #expect(h.closed)
    }

    @Test func timesOutAnIncompleteHeadWith408() {
        var h = Harness()
        h.receive("GET / HTTP/1.1\r\nHo", at: 1 * second)
        #expect(h.machine.deadline == 11 * second)
        h.tick(10 * second)
        #expect(!h.closed)
        h.tick(11 * second)
        #expect(h.text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(h.closed)
    }

    @Test func aBodyThatNeverFallsSilentStillTimesOutAtItsTotalDeadline() {
        var h = Harness(bodyTimeout: 30 * second)
        h.receive("POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n", at: 0)
        // One byte every 5 s: never 10 s of silence, but past 30 s in all.
        for step in 1...5 {
            h.receive("x", at: UInt64(step) * 5 * second)
            h.tick(UInt64(step) * 5 * second + second)
        }
        #expect(h.written.isEmpty && h.machine.deadline == 30 * second)
        h.tick(30 * second)
        #expect(h.text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n") && h.closed)
        #expect(h.dispatched.isEmpty)
    }

    @Test func anUploadTricklingBelowItsMinimumRateGets408OnceItsBytesNoLongerPayForItsTime() {
        var h = Harness(streamingWithMinimumRate: 1000, grace: 10 * second)
        h.receive("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n", at: 0)
        #expect(h.dispatched.count == 1, "a streamed body's handler runs from its head")
        // 2,000 bytes buy 2 s beyond the 10 s grace; a byte every 5 s never falls silent for 10 s.
        h.receive(String(repeating: "x", count: 2000), at: 5 * second)
        h.receive("x", at: 9 * second)
        #expect(h.machine.deadline == 12 * second + 1_000_000)
        h.tick(12 * second)
        #expect(h.written.isEmpty && !h.closed)
        h.tick(12 * second + 1_000_000)
        // The upload's handler hears why its body ended, and answers for itself.
        #expect(h.machine.deadline == nil, "reading has ended")
        guard h.machine.deadline == nil, let stream = h.dispatched.first?.1.bodyStream else { return }
        var failure: RequestBodyStream.Failure?
        do {
            while try stream.read() != nil {}
        } catch {
            failure = error
        }
        #expect(failure?.status == .requestTimeout)
        #expect(failure?.detail.contains("slower than 1000 bytes per second") == true, "\(String(describing: failure))")
    }

    @Test func anUploadAtItsMinimumRateIsNeverCutOff() {
        var h = Harness(streamingWithMinimumRate: 1000, grace: 10 * second)
        h.receive("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 30000\r\n\r\n", at: 0)
        // 1,000 bytes a second for 30 s: the deadline stays 10 s ahead of the bytes.
        for step in 1...30 {
            let now = UInt64(step) * second
            h.tick(now)
            h.receive(String(repeating: "x", count: 1000), at: now)
        }
        #expect(h.written.isEmpty && !h.closed)
    }

    @Test func defaultHeadersAreAddedUnlessTheResponseSetsThem() {
        var h = Harness(defaultHeaders: ["X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"])
        h.receive(get("/a"))
        h.respond(0, HTTPResponse(headers: ["Cache-Control": "max-age=60"], text: "ok"))
        #expect(h.text.contains("X-Content-Type-Options: nosniff\r\n"))
        #expect(h.text.contains("Cache-Control: max-age=60\r\n") && !h.text.contains("no-store"))
    }

    @Test func timesOutASilentNewConnectionWith408() {
        var h = Harness(now: 5 * second)
        h.tick(14 * second)
        #expect(!h.closed)
        h.tick(15 * second)
        #expect(h.text.contains("408"))
        #expect(h.closed)
    }

    @Test func closesAnIdleKeepAliveConnectionSilentlyAfterTheIdleTimeout() {
        var h = Harness()
        h.receive(get("/"))
        h.respond(0, HTTPResponse(), at: 2 * second)
        let responseBytes = h.written.count
        h.tick(30 * second)
        #expect(!h.closed)
        h.tick(62 * second)
        #expect(h.closed)
        #expect(h.written.count == responseBytes)
    }

    @Test func hasNoReadTimeoutWhileTheHandlerWorks() {
        var h = Harness()
        h.receive(get("/slow"))
        #expect(h.machine.deadline == nil)
        h.tick(1000 * second)
        #expect(!h.closed)
    }

    @Test func streamsChunksThenServesTheNextPipelinedRequest() {
        var h = Harness()
        h.receive(get("/events") + get("/after"))
        let writer = ResponseStreamWriter()
        h.respond(1, HTTPResponse(text: "after"))
        h.respond(0, .eventStream(writer))
        #expect(h.attached.map(\.0) == [0])
        #expect(h.text.contains("Transfer-Encoding: chunked\r\n"))
        #expect(h.text.contains("Content-Type: text/event-stream\r\n"))
        #expect(!h.text.contains("after"))
        h.take(h.machine.streamData(0, Array("data: 1\n\n".utf8)))
        #expect(h.text.hasSuffix("9\r\ndata: 1\n\n\r\n"))
        h.take(h.machine.streamFinished(0, now: 0))
        #expect(h.text.contains("\r\n0\r\n\r\nHTTP/1.1 200 OK"))
        #expect(h.text.hasSuffix("after"))
    }

    @Test func streamsToHTTP10ClientsUntilClose() {
        var h = Harness()
        h.receive("GET /events HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        h.respond(0, .eventStream(ResponseStreamWriter()))
        #expect(!h.text.contains("chunked"))
        #expect(h.text.contains("Connection: close"))
        h.take(h.machine.streamData(0, Array("raw".utf8)))
        #expect(h.text.hasSuffix("\r\n\r\nraw"))
        h.take(h.machine.streamFinished(0, now: 0))
        #expect(h.closed)
    }

    @Test func tellsTheProducerWhenTheClientLeavesMidStream() {
        var h = Harness()
        h.receive(get("/events"))
        h.respond(0, .eventStream(ResponseStreamWriter()))
        h.take(h.machine.peerClosed(now: 0))
        #expect(h.terminated == [.clientDisconnected])
        #expect(h.closed)
    }

    @Test func stopsAtOnceWhenIdleAndAfterTheOwedResponseOtherwise() {
        var idle = Harness()
        idle.take(idle.machine.stop(now: 0))
        #expect(idle.closed)

        var busy = Harness()
        busy.receive(get("/"))
        busy.take(busy.machine.stop(now: 0))
        #expect(!busy.closed)
        busy.respond(0, HTTPResponse(text: "done"))
        #expect(busy.text.contains("Connection: close"))
        #expect(busy.text.hasSuffix("done"))
        #expect(busy.closed)
    }

    @Test func asksForALingeringCloseOnlyWhenInputMayStillBeUnread() {
        var idle = Harness()
        idle.receive(get("/"))
        idle.respond(0, HTTPResponse())
        idle.take(idle.machine.stop(now: 0))
        #expect(idle.closed)
        #expect(idle.machine.closedWhileIdle)

        var failed = Harness()
        failed.receive("BROKEN\r\n\r\n")
        #expect(failed.closed)
        #expect(!failed.machine.closedWhileIdle)
    }

    @Test func endsAStreamCleanlyWhenStopping() {
        var h = Harness()
        h.receive(get("/events"))
        h.respond(0, .eventStream(ResponseStreamWriter()))
        h.take(h.machine.stop(now: 0))
        #expect(h.terminated == [.serverStopping])
        #expect(h.text.hasSuffix("0\r\n\r\n"))
        #expect(h.closed)
    }

    @Test func onceClosedItIgnoresBytesAndEveryLaterEvent() {
        var h = Harness()
        h.receive(get("/", "Connection: close\r\n"))
        h.respond(0, HTTPResponse(text: "bye"))
        #expect(h.closed)
        let written = h.written.count
        #expect(h.machine.bytesReceived(Array(get("/late").utf8), now: 1).isEmpty)
        #expect(h.machine.peerClosed(now: 2).isEmpty)
        #expect(h.machine.stop(now: 3).isEmpty)
        #expect(h.machine.timerFired(now: 1000 * second).isEmpty)
        #expect(h.machine.responseReady(1, HTTPResponse(), now: 4).isEmpty)
        #expect(h.dispatched.count == 1)
        #expect(h.written.count == written)
        #expect(!h.machine.wantsRead)
        #expect(h.machine.deadline == nil)
    }

    @Test func reportsClosedWhileIdleOnlyWhenNoRequestWasInProgress() {
        var idle = Harness()
        idle.receive(get("/"))
        idle.respond(0, HTTPResponse())
        idle.tick(62 * second)
        #expect(idle.closed)
        #expect(idle.machine.closedWhileIdle)

        var owed = Harness()
        owed.receive(get("/"))
        owed.take(owed.machine.peerClosed(now: 0))
        #expect(!owed.closed)
        #expect(!owed.machine.isClosed)
        owed.respond(0, HTTPResponse(text: "done"))
        #expect(owed.text.contains("Connection: close"))
        #expect(owed.closed)
        #expect(!owed.machine.closedWhileIdle)
    }
}
