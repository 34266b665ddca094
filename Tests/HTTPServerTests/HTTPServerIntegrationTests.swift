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
    HTTPResponse(text: "\(request.method) \(request.path) \(request.body.count)\n" + String(decoding: request.body, as: UTF8.self))
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
}
