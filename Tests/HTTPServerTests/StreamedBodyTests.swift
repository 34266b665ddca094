import Dispatch
import Foundation
import NodeResources
import RewindTestSupport
import Synchronization
import Testing

@testable import HTTPServer

/// The pipe a streamed request body flows through, alone.
@Suite("Streamed request bodies: the pipe")
struct RequestBodyPipeTests {
    @Test func piecesComeOutInOrderAndTheEndIsNil() throws {
        let pipe = RequestBodyStream(capacity: 100)
        pipe.append([1, 2])
        pipe.append([3])
        pipe.finish(trailers: ["X-Sum": "6"])
        #expect(try pipe.read() == [1, 2])
        #expect(try pipe.read() == [3])
        #expect(try pipe.read() == nil)
        #expect(pipe.trailers["X-Sum"] == "6" && pipe.bytesReceived == 3)
    }

    @Test func aFullPipeAsksTheLoopToPauseAndDrainingToHalfResumesItOnce() throws {
        let pipe = RequestBodyStream(capacity: 10)
        let resumed = Atomic<Int>(0)
        pipe.onResume { resumed.add(1, ordering: .relaxed) }
        for _ in 0..<3 { pipe.append([UInt8](repeating: 7, count: 4)) }
        #expect(pipe.isFull)
        _ = try pipe.read()  // 8 left: more than half
        #expect(pipe.isFull && resumed.load(ordering: .relaxed) == 0)
        _ = try pipe.read()  // 4 left
        #expect(!pipe.isFull && resumed.load(ordering: .relaxed) == 1)
        _ = try pipe.read()
        #expect(resumed.load(ordering: .relaxed) == 1)
    }

    @Test func aFailureReachesAReaderWaitingForBytes() throws {
        let pipe = RequestBodyStream(capacity: 10)
        let outcome = Mutex<RequestBodyStream.Failure?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do throws(RequestBodyStream.Failure) {
                while try pipe.read() != nil {}
            } catch {
                outcome.withLock { $0 = error }
            }
            done.signal()
        }
        pipe.append([1])
        pipe.fail(.clientDisconnected)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(outcome.withLock { $0 }?.reason == .clientDisconnected)
    }

    @Test func anAbandonedPipeDropsWhatStillArrivesAndNeverPauses() throws {
        let pipe = RequestBodyStream(capacity: 4)
        pipe.append([1, 2, 3, 4])
        pipe.abandon()
        pipe.append([5, 6, 7, 8, 9])
        #expect(!pipe.isFull && pipe.isAbandoned)
        #expect(try pipe.read() == nil)
    }
}

/// Streamed request bodies over real sockets: the handler runs once the head is accepted and
/// reads the body as it arrives, with back-pressure, chunked framing, and a clean end when the
/// client leaves or is too slow.
@Suite("Streamed request bodies over loopback", .serialized)
struct StreamedBodyIntegrationTests {
    /// What a streaming handler saw: its body's bytes and how the body ended.
    final class Seen: Sendable {
        let bytes = Mutex<[UInt8]>([])
        let failure = Mutex<RequestBodyStream.Failure?>(nil)
        let ended = DispatchSemaphore(value: 0)
        let startedBeforeBody = Atomic<Bool>(false)
    }

    /// A server whose `/stream` route streams its body into `seen` and answers how many bytes it read.
    func withStreamingServer(
        pipeBytes: Int = 64 << 10, bodyTimeout: Duration = .seconds(300), budget: MemoryBudget? = nil,
        readDelay: @escaping @Sendable (RequestBodyStream) -> Void = { _ in },
        _ body: (Int, Seen) throws -> Void
    ) throws {
        let seen = Seen()
        try withServer(
            configure: {
                $0.streamsBody = { $0.path == "/stream" }
                $0.bodyPipeBytes = pipeBytes
                $0.bodyLimit = { _ in 1 << 30 }
                $0.bodyTimeout = bodyTimeout
                $0.headerReadTimeout = .seconds(2)
                $0.memoryBudget = budget
            },
            handler: { request in
                guard let stream = request.bodyStream else { return echoHandler(request) }
                seen.startedBeforeBody.store(stream.bytesReceived == 0, ordering: .relaxed)
                readDelay(stream)
                do throws(RequestBodyStream.Failure) {
                    while let piece = try stream.read() { seen.bytes.withLock { $0 += piece } }
                } catch {
                    seen.failure.withLock { $0 = error }
                    seen.ended.signal()
                    return .problem(error.status, detail: error.detail)
                }
                seen.ended.signal()
                return HTTPResponse(text: "read \(seen.bytes.withLock { $0.count })")
            }
        ) { _, port in try body(port, seen) }
    }

    @Test func aDribbledBodyIsReadAsItArrivesAndTheConnectionStaysAlive() throws {
        try withStreamingServer { port, seen in
            let client = try HTTPTestClient(port: port)
            try client.send("POST /stream HTTP/1.1\r\nHost: h\r\nContent-Length: 300\r\n\r\n")
            // The handler runs before any body byte was sent.
            #expect(eventually { seen.startedBeforeBody.load(ordering: .relaxed) })
            for index in 0..<30 {
                try client.send([UInt8](repeating: UInt8(index), count: 10))
                #expect(eventually { seen.bytes.withLock { $0.count } == (index + 1) * 10 })
            }
            let answer = try client.readResponse()
            #expect(answer.status == 200 && answer.text == "read 300")
            #expect(seen.bytes.withLock { $0 } == (0..<30).flatMap { [UInt8](repeating: UInt8($0), count: 10) })
            // Other routes still get their body whole, on the same connection.
            let echoed = try client.request("POST", "/echo", body: Array("hello".utf8))
            #expect(echoed.text == "POST /echo 5\nhello")
        }
    }

    @Test func aChunkedBodyStreamsItsDataWithoutTheFraming() throws {
        try withStreamingServer { port, seen in
            let client = try HTTPTestClient(port: port)
            try client.send("POST /stream HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
            try client.send("5\r\nhello\r\n")
            #expect(eventually { seen.bytes.withLock { $0 } == Array("hello".utf8) })
            try client.send("7\r\n, world\r\n0\r\n\r\n")
            let answer = try client.readResponse()
            #expect(answer.status == 200 && answer.text == "read 12")
            #expect(String(decoding: seen.bytes.withLock { $0 }, as: UTF8.self) == "hello, world")
        }
    }

    @Test func aClientLeavingMidBodyEndsTheHandlerWithAFailure() throws {
        try withStreamingServer { port, seen in
            let client = try HTTPTestClient(port: port)
            try client.send("POST /stream HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")
            try client.send([UInt8](repeating: 1, count: 1000))
            #expect(eventually { seen.bytes.withLock { $0.count } == 1000 })
            client.close()
            #expect(seen.ended.wait(timeout: .now() + 10) == .success)
            #expect(seen.failure.withLock { $0 }?.reason == .clientDisconnected)
        }
    }

    @Test func aBodyPastItsTimeoutEndsTheHandlerAndTheClientGets408() throws {
        try withStreamingServer(bodyTimeout: .milliseconds(300)) { port, seen in
            let client = try HTTPTestClient(port: port)
            try client.send("POST /stream HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\nabc")
            #expect(seen.ended.wait(timeout: .now() + 10) == .success)
            #expect(seen.failure.withLock { $0 }?.reason == .timedOut)
            #expect(try client.readResponse().status == 408)
        }
    }

    @Test func aHandlerThatDoesNotReadStopsTheServerReadingThenGetsEveryByte() throws {
        let pipe = 64 << 10
        let gate = DispatchSemaphore(value: 0)
        let heldAtMost = Atomic<Int>(0)
        try withStreamingServer(
            pipeBytes: pipe,
            readDelay: { stream in
                // Wait until the pipe has filled, give the loop time to overrun it if it would, and
                // record what it holds: a socket read past the capacity at most.
                _ = eventually(timeout: .seconds(20)) { stream.bytesReceived >= pipe }
                _ = gate.wait(timeout: .now() + .milliseconds(300))
                heldAtMost.store(stream.bytesReceived, ordering: .relaxed)
            }
        ) { port, seen in
            let total = 8 << 20
            let body = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let client = try HTTPTestClient(port: port, timeout: .seconds(60))
            let sent = DispatchSemaphore(value: 0)
            nonisolated(unsafe) let sender = client
            DispatchQueue.global().async {
                try? sender.send(
                    Array("POST /stream HTTP/1.1\r\nHost: h\r\nContent-Length: \(total)\r\n\r\n".utf8) + body)
                sent.signal()
            }
            let answer = try client.readResponse()
            #expect(answer.status == 200 && answer.text == "read \(total)")
            #expect(sent.wait(timeout: .now() + 30) == .success)
            #expect(heldAtMost.load(ordering: .relaxed) <= pipe + (64 << 10), "the pipe overran its capacity")
            #expect(seen.bytes.withLock { $0 } == body)
        }
    }

    @Test func aPipeTheBudgetCannotHoldIsRefused503WithRetryAfter() throws {
        try withStreamingServer(pipeBytes: 1 << 20, budget: MemoryBudget(capacity: 512 << 10)) { port, _ in
            let client = try HTTPTestClient(port: port)
            try client.send("POST /stream HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789")
            let answer = try client.readResponse()
            #expect(answer.status == 503 && answer.header("Retry-After") != nil)
        }
    }
}

/// The connection state machine's side of a streamed body: dispatch once the head passes its
/// screen, pieces into the pipe, reading paused (and no timeout running) while the pipe is full.
@Suite("HTTP connection: streamed bodies")
struct StreamedBodyStateMachineTests {
    static func machine() -> HTTPConnectionStateMachine {
        HTTPConnectionStateMachine(
            configuration: .init(
                headerReadTimeout: 10_000_000_000, idleTimeout: 60_000_000_000, maxPipelinedRequests: 16,
                maxBufferedBytes: 80 * 1024, parserLimits: .init(), bodyLimit: { _ in 64 << 20 },
                date: { "Sun, 06 Nov 1994 08:49:37 GMT" }, screensHeads: true,
                streamsBody: { $0.path == "/up" }, bodyPipeBytes: 8),
            now: 0)
    }

    static func dispatched(_ actions: [HTTPConnectionStateMachine.Action]) -> [HTTPRequest] {
        actions.compactMap { if case .dispatch(_, let request) = $0 { request } else { nil } }
    }

    @Test func aScreenedHeadIsDispatchedWithItsPipeAndThePiecesFollow() throws {
        var machine = Self.machine()
        let head = machine.bytesReceived(
            Array("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nab".utf8), now: 0)
        guard case .screen(let id, _)? = head.first else {
            Issue.record("the head was not screened: \(head)")
            return
        }
        #expect(Self.dispatched(head).isEmpty)
        let passed = machine.headScreened(id, refusal: nil, now: 0)
        let body = try #require(Self.dispatched(passed).first?.bodyStream)
        #expect(try body.read() == Array("ab".utf8))
        _ = machine.bytesReceived(Array("cdef".utf8), now: 0)
        #expect(try body.read() == Array("cdef".utf8))
        #expect(try body.read() == nil)
        // The next request on the connection is read as usual.
        let next = machine.bytesReceived(Array("GET /x HTTP/1.1\r\nHost: h\r\n\r\n".utf8), now: 0)
        #expect(Self.dispatched(next).map(\.path) == ["/x"])
    }

    @Test func aFullPipePausesReadingAndItsTimeoutUntilItIsDrained() throws {
        var machine = Self.machine()
        var actions = machine.bytesReceived(
            Array("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n".utf8), now: 0)
        guard case .screen(let id, _)? = actions.first else { return }
        actions = machine.headScreened(id, refusal: nil, now: 0)
        let body = try #require(Self.dispatched(actions).first?.bodyStream)
        #expect(machine.wantsRead && machine.deadline != nil)
        _ = machine.bytesReceived([UInt8](repeating: 1, count: 10), now: 1)
        #expect(!machine.wantsRead && machine.deadline == nil)
        _ = try body.read()
        machine.bodyResumed(now: 5_000_000_000)
        #expect(machine.wantsRead && machine.deadline == 15_000_000_000)
    }
}
