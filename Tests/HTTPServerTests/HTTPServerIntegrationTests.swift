import Dispatch
import Foundation
import HTTPServer
import RewindTestSupport
import Synchronization
import Testing

/// Starts a real server on 127.0.0.1:0 with `configure` applied, runs `body`, then stops it.
func withServer(
    configure: (inout HTTPServer.Configuration) -> Void = { _ in },
    handler: @escaping HTTPServer.Handler = echoHandler,
    _ body: (HTTPServer, Int) throws -> Void
) throws {
    var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, handler: handler)
    let port = try server.start()
    defer { server.stop(gracePeriod: .seconds(2)) }
    try body(server, port)
}

/// Answers `METHOD path body-length` plus the body, so tests can see what arrived.
let echoHandler: HTTPServer.Handler = { request in
    HTTPResponse(
        text: "\(request.method) \(request.path) \(request.body.count)\n"
            + String(decoding: request.body, as: UTF8.self))
}

/// Polls `condition` until it holds or `timeout` passes; the deadline only bounds a failure.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

@Suite("HTTP server over loopback", .serialized)
struct HTTPServerIntegrationTests {
    @Test func keepAliveConnectionServesSeveralRequestsInOrder() throws {
        try withServer { _, port in
            let client = try HTTPTestClient(port: port)
            for index in 0..<5 {
                let response = try client.request("POST", "/items/\(index)", body: Array("x\(index)".utf8))
                #expect(response.status == 200)
                #expect(response.text == "POST /items/\(index) 2\nx\(index)")
                #expect(response.header("Connection") == nil)
                #expect(response.header("Date")?.hasSuffix("GMT") == true)
            }
        }
    }

    @Test func pipelinedRequestsInOneWriteAreAnsweredInOrder() throws {
        try withServer { _, port in
            let client = try HTTPTestClient(port: port)
            try client.send((1...3).map { "GET /p\($0) HTTP/1.1\r\nHost: h\r\n\r\n" }.joined())
            let texts = try (1...3).map { _ in try client.readResponse().text }
            #expect(texts == ["GET /p1 0\n", "GET /p2 0\n", "GET /p3 0\n"])
        }
    }

    @Test func handlersSeeThePeerAddress() throws {
        try withServer(handler: { HTTPResponse(text: $0.remoteAddress ?? "none") }) { _, port in
            let response = try HTTPTestClient(port: port).request("GET", "/")
            #expect(response.text.hasPrefix("127.0.0.1:"))
        }
    }

    @Test func chunkedUploadSentInPiecesArrivesWhole() throws {
        try withServer { _, port in
            let client = try HTTPTestClient(port: port)
            try client.send("POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
            try client.send("4\r\nabcd\r\n")
            try client.send("6\r\nefghij\r\n0\r\nX-Trailer: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.text == "POST /upload 10\nabcdefghij")
        }
    }

    @Test func expectContinueGetsAnInterimResponseBeforeTheBodyIsSent() throws {
        try withServer { _, port in
            let client = try HTTPTestClient(port: port)
            try client.send("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            let interim = try client.readResponse()
            #expect(interim.status == 100)
            try client.send("data")
            let final = try client.readResponse()
            #expect(final.status == 200)
            #expect(final.text == "PUT /x 4\ndata")
        }
    }

    @Test func oversizedHeadIsAnswered431AndClosed() throws {
        try withServer { _, port in
            let client = try HTTPTestClient(port: port)
            try client.send("GET / HTTP/1.1\r\nHost: h\r\nX-Big: \(String(repeating: "a", count: 17 * 1024))\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 431)
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.header("Connection") == "close")
            #expect(client.waitForClose())
        }
    }

    @Test func oversizedBodyIsRefused413BeforeItIsSent() throws {
        try withServer(configure: { $0.bodyLimit = { $0.path == "/big" ? 64 << 20 : 1 << 20 } }) { _, port in
            let client = try HTTPTestClient(port: port)
            try client.send("POST /json HTTP/1.1\r\nHost: h\r\nContent-Length: \(2 << 20)\r\n\r\n")
            let response = try client.readResponse()  // no body byte was sent
            #expect(response.status == 413)
            #expect(response.text.contains("\"status\":413"))
            #expect(client.waitForClose())

            let upload = try HTTPTestClient(port: port)
            let body = [UInt8](repeating: 0x61, count: 2 << 20)
            #expect(try upload.request("POST", "/big", body: body).text.hasPrefix("POST /big \(2 << 20)\n"))
        }
    }

    @Test func garbageIsAnswered400AndClosedWhileAnotherClientIsServed() throws {
        try withServer { _, port in
            let good = try HTTPTestClient(port: port)
            #expect(try good.request("GET", "/before").status == 200)
            let bad = try HTTPTestClient(port: port)
            try bad.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a])
            let response = try bad.readResponse()
            #expect(response.status == 400)
            #expect(response.text.hasPrefix("{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400"))
            #expect(bad.waitForClose())
            #expect(try good.request("GET", "/after").text == "GET /after 0\n")
        }
    }

    @Test func silentClientTimesOutWhileOthersAreServed() throws {
        try withServer(configure: { $0.headerReadTimeout = .milliseconds(300) }) { _, port in
            let silent = try HTTPTestClient(port: port)
            let partial = try HTTPTestClient(port: port)
            try partial.send("GET / HTTP/1.1\r\nHo")
            let busy = try HTTPTestClient(port: port)
            for index in 0..<3 { #expect(try busy.request("GET", "/\(index)").status == 200) }
            #expect(try silent.readResponse().status == 408)
            #expect(silent.waitForClose())
            #expect(try partial.readResponse().status == 408)
            #expect(try HTTPTestClient(port: port).request("GET", "/fresh").status == 200)
        }
    }

    @Test func moreThan300IdleConnectionsDoNotStopNewClientsBeingServed() throws {
        try withServer { _, port in
            var idle: [HTTPTestClient] = []
            for index in 0..<320 {
                let client = try HTTPTestClient(port: port)
                #expect(try client.request("GET", "/idle/\(index)").status == 200)
                idle.append(client)  // kept open: a keep-alive connection doing nothing
            }
            let fresh = try HTTPTestClient(port: port)
            #expect(try fresh.request("GET", "/fresh").text == "GET /fresh 0\n")
            #expect(try idle[0].request("GET", "/again").status == 200)
            #expect(try idle[319].request("GET", "/again").status == 200)
        }
    }

    @Test func excessConnectionsAreAnswered503() throws {
        try withServer(configure: { $0.maxConnections = 2 }) { _, port in
            let first = try HTTPTestClient(port: port), second = try HTTPTestClient(port: port)
            #expect(try first.request("GET", "/").status == 200)
            #expect(try second.request("GET", "/").status == 200)
            let third = try HTTPTestClient(port: port)
            #expect(try third.readResponse().status == 503)
            #expect(third.waitForClose())
            first.close()
            #expect(
                eventually {
                    (try? HTTPTestClient(port: port).request("GET", "/").status) == 200
                })
        }
    }

    @Test func streamIsDeliveredInPiecesAndItsProducerLearnsTheClientLeft() throws {
        let writers = Mutex<[ResponseStreamWriter]>([])
        let reasons = Mutex<[ResponseStreamWriter.CloseReason]>([])
        let handler: HTTPServer.Handler = { _ in
            let writer = ResponseStreamWriter()
            writer.onClose { reason in reasons.withLock { $0.append(reason) } }
            writers.withLock { $0.append(writer) }
            return .eventStream(writer)
        }
        try withServer(handler: handler) { _, port in
            let client = try HTTPTestClient(port: port)
            try client.send("GET /events HTTP/1.1\r\nHost: h\r\n\r\n")
            let head = try client.readHead()
            #expect(head.header("Content-Type") == "text/event-stream")
            #expect(head.header("Transfer-Encoding") == "chunked")
            let writer = try #require(writers.withLock { $0.first })
            for index in 1...3 {
                #expect(writer.write("id: \(index)\ndata: {\"n\":\(index)}\n\n"))
                #expect(try client.readChunk() == Array("id: \(index)\ndata: {\"n\":\(index)}\n\n".utf8))
            }
            client.close()
            #expect(eventually { reasons.withLock { $0 } == [.clientDisconnected] })
            #expect(!writer.write("late"))
        }
    }

    @Test func finishedStreamLeavesTheConnectionUsable() throws {
        let handler: HTTPServer.Handler = { request in
            guard request.path == "/stream" else { return HTTPResponse(text: "plain") }
            let writer = ResponseStreamWriter()
            DispatchQueue.global().async {
                writer.write("a")
                writer.write("b")
                writer.finish()
            }
            return HTTPResponse(stream: writer)
        }
        try withServer(handler: handler) { _, port in
            let client = try HTTPTestClient(port: port)
            #expect(try client.request("GET", "/stream").text == "ab")
            #expect(try client.request("GET", "/next").text == "plain")
        }
    }

    @Test func gracefulStopFinishesInFlightWorkAndClosesIdleConnections() throws {
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let handler: HTTPServer.Handler = { request in
            if request.path == "/slow" {
                entered.signal()
                release.wait()
            }
            return HTTPResponse(text: request.path)
        }
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.lingerTimeout = .milliseconds(200)
        let server = HTTPServer(configuration: configuration, handler: handler)
        let port = try server.start()
        let idle = try HTTPTestClient(port: port)
        #expect(try idle.request("GET", "/quick").text == "/quick")
        let busy = try HTTPTestClient(port: port)
        try busy.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        // Stop only once the request is in flight; before that the connection is merely idle.
        #expect(entered.wait(timeout: .now() + 10) == .success)
        let stopped = Mutex(false)
        Thread.detachNewThread {
            server.stop(gracePeriod: .seconds(10))
            stopped.withLock { $0 = true }
        }
        #expect(idle.waitForClose())
        #expect(eventually { (try? HTTPTestClient(port: port)) == nil })  // no longer accepting
        #expect(!stopped.withLock { $0 })
        release.signal()
        let response = try busy.readResponse()
        #expect(response.text == "/slow")
        #expect(response.header("Connection") == "close")
        #expect(eventually { stopped.withLock { $0 } })
    }
}
