import Foundation
import JSON
import RewindTestSupport
import Synchronization
import Testing

/// `GET /v1/jobs/{id}/events`: live progress as Server-Sent Events.
@Suite("Event stream")
struct EventStreamTests {
    /// Reads the whole stream (it ends after the terminal status) and splits it into events.
    static func events(
        _ service: TestService, _ path: String, lastEventID: String? = nil
    ) throws -> (head: HTTPTestResponse, events: [(name: String, id: Int, data: JSONValue)]) {
        try events(port: service.port, path, lastEventID: lastEventID)
    }

    static func events(
        port: Int, _ path: String, lastEventID: String? = nil
    ) throws -> (head: HTTPTestResponse, events: [(name: String, id: Int, data: JSONValue)]) {
        let client = try HTTPTestClient(port: port, timeout: .seconds(30))
        defer { client.close() }
        var request = "GET \(path) HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
        if let lastEventID { request += "Last-Event-ID: \(lastEventID)\r\n" }
        try client.send(request + "\r\n")
        let head = try client.readHead()
        var text = ""
        while let chunk = try client.readChunk() { text += String(decoding: chunk, as: UTF8.self) }
        var parsed: [(String, Int, JSONValue)] = []
        for block in text.components(separatedBy: "\n\n") where !block.isEmpty && !block.hasPrefix(":") {
            var name = "", id = -1, data = JSONValue.null
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("id: ") { id = Int(line.dropFirst(4)) ?? -1 }
                if line.hasPrefix("data: ") { data = (try? JSONValue.parse(String(line.dropFirst(6)))) ?? .null }
            }
            parsed.append((name, id, data))
        }
        return (head, parsed)
    }

    @Test("a watcher sees every meta-iteration, monotone progress and the final status, then the stream ends")
    func liveStream() throws {
        let service = try TestService()
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        let (head, events) = try Self.events(service, "/v1/jobs/\(id)/events")
        #expect(head.status == 200)
        #expect(head.header("Content-Type")?.hasPrefix("text/event-stream") == true)
        let items = events.filter { $0.name == "meta_iteration" }
        #expect(items.map { $0.data["meta_iteration"]?.intValue ?? -1 } == [0, 1, 2, 3])
        #expect(items.map(\.id) == [1, 2, 3, 4])
        let fractions = events.filter { $0.name == "progress" }.compactMap { $0.data["fraction"]?.doubleValue }
        #expect(!fractions.isEmpty && zip(fractions, fractions.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(events.last?.name == "status")
        #expect(events.last?.data["status"]?.stringValue == "succeeded")
    }

    @Test("Last-Event-ID replays only what the watcher missed, from the database")
    func resume() throws {
        let service = try TestService()
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")
        let (_, events) = try Self.events(service, "/v1/jobs/\(id)/events", lastEventID: "2")
        #expect(events.filter { $0.name == "meta_iteration" }.map(\.id) == [3, 4])
        #expect(events.last?.data["status"]?.stringValue == "succeeded")
        let (_, everything) = try Self.events(service, "/v1/jobs/\(id)/events")
        #expect(everything.filter { $0.name == "meta_iteration" }.count == 4)
    }

    @Test("many watchers of one job each get the whole stream, and leave nothing subscribed")
    func manyWatchers() throws {
        let service = try TestService()
        let id = try APISession(service).submit(TestSpecs.small)
        let counts = Mutex<[Int]>([])
        let port = service.port
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            let items =
                (try? Self.events(port: port, "/v1/jobs/\(id)/events").events.filter { $0.name == "meta_iteration" }
                    .count) ?? -1
            counts.withLock { $0.append(items) }
        }
        #expect(counts.withLock { $0 } == Array(repeating: 4, count: 6))
        let deadline = ContinuousClock.now + .seconds(5)
        while service.runner.events.watcherCount > 1, ContinuousClock.now < deadline { usleep(10_000) }
        // Only the API's own metrics subscription remains.
        #expect(service.runner.events.watcherCount == 1)
    }

    @Test("an unknown job answers 404 and a bad Last-Event-ID 422, as problem+json")
    func errors() throws {
        let service = try TestService(startsWorkers: false)
        let session = APISession(service)
        #expect(try session.get("/v1/jobs/nope/events").status == 404)
        let id = try session.submit(TestSpecs.small)
        let bad = try session.get("/v1/jobs/\(id)/events", headers: [("Last-Event-ID", "soon")])
        #expect(bad.status == 422)
        #expect(bad.header("Content-Type") == "application/problem+json")
    }
}
