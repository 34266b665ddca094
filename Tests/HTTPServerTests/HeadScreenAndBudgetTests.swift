import NodeResources
import Testing

@testable import HTTPServer

/// The connection state machine's head screen and its charging of bodies to a memory budget.
@Suite("HTTP connection: head screen and body budget")
struct HeadScreenAndBudgetTests {
    private struct Run {
        var machine: HTTPConnectionStateMachine
        var written: [UInt8] = []
        var dispatched: [HTTPRequest] = []
        var screened: [(Int, HTTPRequestHead)] = []
        var closed = false

        init(budget: MemoryBudget? = nil, screens: Bool = true) {
            machine = HTTPConnectionStateMachine(
                configuration: .init(
                    headerReadTimeout: 10_000_000_000, idleTimeout: 60_000_000_000, maxPipelinedRequests: 16,
                    maxBufferedBytes: 80 * 1024, parserLimits: .init(), bodyLimit: { _ in 64 << 20 },
                    date: { "Sun, 06 Nov 1994 08:49:37 GMT" }, budget: budget, screensHeads: screens),
                now: 0)
        }

        var text: String { String(decoding: written, as: UTF8.self) }

        mutating func take(_ actions: [HTTPConnectionStateMachine.Action]) {
            for action in actions {
                switch action {
                case .write(let bytes): written += bytes
                case .dispatch(_, let request): dispatched.append(request)
                case .screen(let id, let head): screened.append((id, head))
                case .close: closed = true
                case .attachStream, .terminateStream: break
                }
            }
        }

        mutating func receive(_ bytes: [UInt8]) { take(machine.bytesReceived(bytes, now: 0)) }
    }

    @Test func aRefusedHeadIsAnsweredWithoutReadingItsBodyOrSendingContinue() {
        var run = Run()
        run.receive(
            Array("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 67108864\r\nExpect: 100-continue\r\n\r\nabc".utf8))
        #expect(run.screened.count == 1 && run.dispatched.isEmpty)
        #expect(!run.text.contains("100 Continue"))
        run.take(
            run.machine.headScreened(run.screened[0].0, refusal: .problem(.unauthorized, detail: "no key"), now: 0))
        #expect(run.text.hasPrefix("HTTP/1.1 401"))
        #expect(!run.text.contains("100 Continue"))
        #expect(run.closed && run.dispatched.isEmpty)
    }

    @Test func anAllowedHeadGetsContinueThenItsBodyIsRead() {
        var run = Run()
        run.receive(Array("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n".utf8))
        #expect(run.written.isEmpty)
        run.take(run.machine.headScreened(run.screened[0].0, refusal: nil, now: 0))
        #expect(run.text == "HTTP/1.1 100 Continue\r\n\r\n")
        run.receive(Array("hello".utf8))
        #expect(run.dispatched.map(\.body) == [Array("hello".utf8)])
    }

    @Test func bodilessRequestsAreNotScreened() {
        var run = Run()
        run.receive(Array("GET /x HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(run.screened.isEmpty && run.dispatched.count == 1)
    }

    @Test func aBodyIsChargedAsItArrivesAndPastTheBudgetGets503WithRetryAfter() {
        let budget = MemoryBudget(capacity: 256 << 10)
        var run = Run(budget: budget, screens: false)
        // A declared 64 MiB costs nothing until it is sent.
        run.receive(Array("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 67108864\r\n\r\n".utf8))
        #expect(budget.inUse == 0)
        run.receive([UInt8](repeating: 49, count: 100 << 10))
        #expect(budget.inUse >= 100 << 10 && budget.inUse <= 256 << 10)
        for _ in 0..<4 { run.receive([UInt8](repeating: 49, count: 64 << 10)) }
        #expect(run.text.hasPrefix("HTTP/1.1 503") && run.text.contains("Retry-After: 2"))
        #expect(run.closed && run.dispatched.isEmpty && budget.refusals == 1)
    }

    @Test func aDispatchedBodyKeepsItsChargeUntilItsResponseIsWritten() {
        let budget = MemoryBudget(capacity: 1 << 20)
        var run = Run(budget: budget, screens: false)
        run.receive(
            Array("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n".utf8)
                + [UInt8](repeating: 49, count: 1000))
        #expect(run.dispatched.count == 1 && budget.inUse >= 1000)
        run.take(run.machine.responseReady(0, HTTPResponse(text: "ok"), now: 0))
        #expect(budget.inUse == 0)
    }
}
