import Dispatch
import Foundation
import RewindTestSupport
import Synchronization
import Testing

/// Garbage, oversized and stalled clients get their error (or are dropped) while a well-behaved
/// client on another connection keeps getting normal answers.
@Suite("Hostile clients beside a normal one")
struct HostileClientTests {
    /// A short head timeout so the stalled client is dropped within the test.
    static func service() throws -> TestService {
        try TestService(startsWorkers: false) { $0.headerReadTimeout = .seconds(1) }
    }

    /// A well-behaved request on its own connection: the service still answers normally.
    static func expectServed(_ session: APISession, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let response = try session.get("/v1/jobs?limit=1")
        #expect(response.status == 200, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.json["jobs"]?.arrayValue != nil, sourceLocation: sourceLocation)
    }

    @Test func garbageBytesAnswer400AndCloseWhileOthersAreServed() throws {
        let service = try Self.service()
        defer { service.stop() }
        let session = APISession(service)
        let garbage = try service.client()
        var generator = SeededGenerator(seed: 42)
        let bytes = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) } + Array("\r\n\r\n".utf8)
        try garbage.send(bytes)
        try Self.expectServed(session)
        garbage.expectProblemThenClose(400)
        try Self.expectServed(session)
    }

    @Test func nonNumericContentLengthAnswers400() throws {
        let service = try Self.service()
        defer { service.stop() }
        let client = try service.client()
        try client.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n{}")
        client.expectProblemThenClose(400)
        try Self.expectServed(APISession(service))
    }

    @Test func oversizedHeadAndBodyAreRefusedWhileOthersAreServed() throws {
        let service = try Self.service()
        defer { service.stop() }
        let session = APISession(service)

        let header = try service.client()
        try header.send("GET / HTTP/1.1\r\nHost: localhost\r\n")
        let line = "X-Padding: " + String(repeating: "p", count: 1000) + "\r\n"
        for _ in 0..<17 { try header.send(line) }
        try Self.expectServed(session)
        header.expectProblemThenClose(431)

        let body = try service.client()
        try body.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000000\r\n\r\n")
        try Self.expectServed(session)
        body.expectProblemThenClose(413)
        try Self.expectServed(session)
    }

    @Test func stalledHalfRequestDoesNotHoldUpOthersAndIsDroppedAfterTheHeadTimeout() throws {
        let service = try Self.service()
        defer { service.stop() }
        let session = APISession(service)
        let stalled = try service.client()
        try stalled.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Le")
        let stalledBody = try service.client()
        // A well-formed head (its media type passes the head's screen), then a body that stalls.
        try stalledBody.send(
            "POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"dataset\":"
        )

        for _ in 0..<5 { try Self.expectServed(session) }
        #expect(try session.submit(TestSpecs.small).isEmpty == false)

        // The stalled clients get 408 (or a bare close) once the 1 s head timeout passes.
        for client in [stalled, stalledBody] {
            if let response = try? client.readResponse() {
                response.expectProblem(408)
            }
            #expect(client.waitForClose())
        }
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.count == 1)
    }

    @Test func manyHostileConnectionsAtOnceLeaveTheServiceAnswering() throws {
        let service = try Self.service()
        defer { service.stop() }
        let session = APISession(service)
        let port = service.port
        let failures = Mutex<[String]>([])
        // Each hostile kind four times, concurrently with a normal client.
        let payloads: [String] = [
            "\u{0}\u{1}\u{2}garbage\r\n\r\n",
            "GET /v1/jobs HTTP/9.9\r\nHost: x\r\n\r\n",
            "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /v1/jobs HTTP/1.1\r\n\r\n",
        ]
        DispatchQueue.concurrentPerform(iterations: payloads.count * 4 + 1) { index in
            do {
                if index == payloads.count * 4 {
                    for _ in 0..<10 {
                        let response = try session.get("/healthz")
                        if response.status != 200 { failures.withLock { $0.append("healthz \(response.status)") } }
                    }
                    return
                }
                let client = try HTTPTestClient(port: port, timeout: .seconds(5))
                try client.send(payloads[index % payloads.count])
                let response = try client.readResponse()
                if !(400..<600).contains(response.status) {
                    failures.withLock { $0.append("payload \(index % payloads.count) answered \(response.status)") }
                }
            } catch {
                failures.withLock { $0.append("\(index): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        try Self.expectServed(session)
    }
}

extension HTTPTestClient {
    /// Reads a problem answer with `status`, then requires the server to close the connection,
    /// since after a framing error the position of the next request is unknown.
    func expectProblemThenClose(_ status: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let response = try readResponse()
            response.expectProblem(status, sourceLocation: sourceLocation)
            #expect(waitForClose(), "the connection stayed open", sourceLocation: sourceLocation)
        } catch {
            Issue.record("no \(status) answer: \(error)", sourceLocation: sourceLocation)
        }
    }
}
