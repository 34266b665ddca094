import Foundation
import Jobs
import RewindTestSupport
import Storage
import Testing

/// Issue 15, row 12: with many watchers of one job, an event costs one database read and one
/// serialisation for all of them, not one per stream; a stream never reads an item itself.
@Suite("Event fan-out", .serialized)
struct EventFanOutTests {
    /// Under the per-client cap (16): every stream here comes from 127.0.0.1.
    static let streams = 12

    @Test func oneEventOfAJobWatchedByManyStreamsIsReadOnceForAllOfThem() throws {
        var counting: FlakyCommitStore?
        let service = try TestService(
            startsWorkers: false,
            wrappingStore: { base in
                let store = FlakyCommitStore(base, failures: 0)
                counting = store
                return store
            })
        defer { service.stop() }
        let store = try #require(counting)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let id = "watched"
        guard
            case .created = try store.insertJob(
                NewJob(id: id, name: "watched", specJSON: #"{"name":"watched"}"#, progressTotal: 5),
                idempotency: nil, maxQueued: 10, nowMs: now)
        else { throw ServerProcessError("the job was not created") }
        let worker = WorkerID("test-writer")
        _ = try #require(try store.claimJob(worker: worker, nowMs: now, leaseMs: 3_600_000))

        var clients: [HTTPTestClient] = []
        defer { clients.forEach { $0.close() } }
        for _ in 0..<Self.streams {
            let client = try service.client()
            try client.send("GET /v1/jobs/\(id)/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try client.readHead().status == 200)
            // The replay's progress event.
            #expect(String(decoding: try #require(try client.readChunk()), as: UTF8.self).contains("event: progress"))
            clients.append(client)
        }

        func next(_ client: HTTPTestClient) throws -> String {
            String(decoding: try #require(try client.readChunk()), as: UTF8.self)
        }
        for index in 0..<3 {
            let row = HistoryRow(
                metaIteration: index,
                itemJSON: #"{"meta_iteration":\#(index),"padding":"\#(String(repeating: "x", count: 100_000))"}"#,
                trainingLoss: 1, validationLoss: 0.5 + Double(index), validationError: 0.25, hypergradientNorm: 2,
                seconds: 0.5, createdMs: now)
            #expect(
                try store.commitMetaIteration(
                    jobID: JobID(id), worker: worker, item: row, checkpoint: [0], progressDone: index + 1,
                    progressFraction: 0.2, latestJSON: nil, bestJSON: nil, nowMs: now))
            store.historyReads.withLock { $0 = 0 }
            service.runner.events.publish(jobID: id, .metaIteration(index, seconds: 0.5))
            for client in clients {
                let event = try next(client)
                #expect(event.contains("event: meta_iteration\nid: \(index + 1)\n"), "\(event)")
                #expect(event.contains(#""validation_loss":\#(0.5 + Double(index))"#) && !event.contains("padding"))
            }
            #expect(store.historyReads.withLock { $0 } == 1, "history reads for one event of \(Self.streams) streams")

            store.jobReads.withLock { $0 = 0 }
            service.runner.events.publish(jobID: id, .progress(done: index + 1, fraction: 0.5))
            for client in clients { #expect(try next(client).contains("event: progress\nid: \(index + 1)\n")) }
            #expect(store.historyReads.withLock { $0 } == 1 && store.jobReads.withLock { $0 } == 0)
        }

        // A status change reads the job once for all the streams, which then end.
        #expect(
            try store.finishJob(
                jobID: JobID(id), worker: worker, status: .succeeded, errorCode: nil, errorMessage: nil, nowMs: now))
        store.jobReads.withLock { $0 = 0 }
        service.runner.events.publish(jobID: id, .status("succeeded"))
        for client in clients { #expect(try next(client).contains(#"event: status"#)) }
        #expect(store.jobReads.withLock { $0 } == 1, "job reads for one status event of \(Self.streams) streams")
    }
}
