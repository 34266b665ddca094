import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

/// Issue 15, row 2: a tenant's own distillation job over 33,000 training rows stores its learned
/// rows in every item (about 9.9 MB each); `GET /compare?jobs=ID` read and parsed all 28 items at
/// once, 1,521 MiB, and the server under a 2 GiB address-space limit went down. Pages now plan
/// their reads by the items' sizes: compare reads no item, history pages stop by bytes, plots read
/// only the members they draw, and every page holds its bytes from the node's budget first. The
/// job is made directly in the store: 28 items of 21 MB (the learned rows, and their hypergradient).
@Suite("Security: pages over large items stay bounded", .serialized)
struct LargeItemPagesProcessTests {
    static let items = 28
    /// The learned rows of each item: 33,000 × 16, about 9.9 MB of JSON.
    static let rows = 33_000, features = 16

    static let spec =
        #"{"dataset":{"name":"digits"},"model":{"hidden":[4]},"training":{"iterations":2,"batch_size":10},"#
        + #""hyperparameters":{"training_data":{"learn":true}},"meta":{"iterations":27}}"#

    /// Writes the succeeded job `id` with its 28 large items into the database: the SQLite file
    /// at `database`, or the PostgreSQL database its `postgres://` URL names.
    static func writeJob(_ id: String, into database: String) throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let store = try openStore(database, nowMs: now)
        defer { try? store.close() }
        guard
            case .created = try store.insertJob(
                NewJob(id: id, name: "distillation", specJSON: spec, progressTotal: items, maxAttempts: 1),
                idempotency: nil, maxQueued: 10, nowMs: now)
        else { throw ServerProcessError("the job was not created") }
        let worker = WorkerID("test-writer")
        _ = try store.claimJob(worker: worker, nowMs: now, leaseMs: 3_600_000)
        var table = "["
        for row in 0..<rows {
            if row > 0 { table += "," }
            table +=
                "[" + (0..<features).map { "\(Double((row * 31 + $0 * 17) % 1000) / 999 - 0.5)" }.joined(separator: ",")
                + "]"
        }
        table += "]"
        for index in 0..<items {
            let loss = 2.0 - Double(index) / 20
            let item =
                #"{"meta_iteration":\#(index),"training_loss":\#(loss),"validation_loss":\#(loss),"validation_error":0.5,"#
                + #""seconds":1,"hyperparameters":{"learning_rate":[[0.1,0.1,0.1,0.1]],"momentum":[[0.9,0.9,0.9,0.9]],"#
                + #""l2":[0.001,0.001],"init_scale":[0.1,0.1,0.1,0.1],"training_data":\#(table)},"#
                + #""training_curve":{"every":1,"losses":[2.3,2.2]},"hypergradient":{"training_data":\#(table)}}"#
            let row = HistoryRow(
                metaIteration: index, itemJSON: item, trainingLoss: loss, validationLoss: loss, validationError: 0.5,
                hypergradientNorm: index == items - 1 ? nil : 1, seconds: 1, createdMs: now)
            guard
                try store.commitMetaIteration(
                    jobID: JobID(id), worker: worker, item: row, checkpoint: [0], progressDone: index + 1,
                    progressFraction: Double(index + 1) / Double(items), latestJSON: nil, bestJSON: nil, nowMs: now)
            else { throw ServerProcessError("commit \(index) refused") }
        }
        _ = try store.finishJob(
            jobID: JobID(id), worker: worker, status: .succeeded, errorCode: nil, errorMessage: nil, nowMs: now)
    }

    static let pages = [
        "/compare?jobs=large", "/v1/jobs/large/history?limit=1000", "/v1/jobs/large/result",
        "/v1/jobs/large/plots/loss.svg", "/v1/jobs/large/plots/hypergradient_norm.svg",
        "/v1/jobs/large/plots/learning_rate.svg", "/v1/jobs/large/plots/l2.svg",
        "/v1/jobs/large/plots/training_data.svg",
    ]

    @Test func everyPageOverTwentyEightTenMegabyteItemsAnswersWithinItsBoundAndTheServerStaysSmall() throws {
        let limited = try LimitedServer(prefix: "rewind-large-items", workers: 1) { path in
            try Self.writeJob("large", into: path)
        }
        defer { limited.stop() }
        try Self.expectEveryPageBounded(limited)
    }

    /// The same pages served from PostgreSQL, whose driver holds a result's text as well.
    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func everyPageOverLargeItemsOnPostgreSQLAnswersWithinItsBoundAndTheServerStaysSmall() throws {
        let cluster = try PostgresCluster()
        let limited = try LimitedServer(prefix: "rewind-large-items-pg", workers: 1, database: cluster.url()) {
            url in try Self.writeJob("large", into: url)
        }
        defer { limited.stop() }
        try Self.expectEveryPageBounded(limited)
    }

    static func expectEveryPageBounded(_ limited: LimitedServer) throws {
        let session = limited.session
        let one = try session.get("/v1/jobs/large/history?limit=1")
        #expect(one.body.count > 9_000_000, "items of \(one.body.count) bytes")
        for target in Self.pages {
            let before = try limited.resetPeak()
            let started = ContinuousClock.now
            let response = try session.request("GET", target, timeout: .seconds(600))
            let peak = limited.peak
            print(
                "GET \(target): \(response.status), \(response.body.count) bytes in \(started.duration(to: .now)); RSS \(before >> 20) MiB, peak \(peak >> 20) MiB"
            )
            #expect(response.status == 200, "\(target): \(response.status)")
            // It was 1,521 MiB for /compare. A page now holds an item or two (plots: the parsed
            // members of the latest one).
            #expect(peak - before < 256 << 20, "\(target) grew RSS by \((peak - before) >> 20) MiB")
        }
        // A history page past its 4 MiB holds one item, and the next page continues.
        let page = try session.get("/v1/jobs/large/history?limit=1000")
        #expect(page.json["items"]?.arrayValue?.count == 1 && page.json["next_after"]?.intValue == 0)
        #expect(try session.get("/healthz").status == 200)
        #expect(
            limited.server.waitForExit(timeout: .milliseconds(1)) == nil, "the server exited:\n\(limited.server.log)")
    }

    @Test func aTightNodeBudgetAnswers503WithRetryAfterAndTheServerStaysUp() throws {
        // 64 MiB: a page's 16 MiB of working memory and one 21 MB item read (twice: the driver's
        // copy and ours) fit, so compare (which reads no item) and the plots that parse small
        // members of one item answer; a history page that also holds the item in its body, the
        // result's two items, and the learned rows parsed (12× their text) do not.
        let limited = try LimitedServer(
            prefix: "rewind-large-items-tight", workers: 1, arguments: ["--memory-budget-mb", "64"]
        ) { path in try Self.writeJob("large", into: path) }
        defer { limited.stop() }
        let session = limited.session
        let refused = ["/v1/jobs/large/history", "/v1/jobs/large/result", "/v1/jobs/large/plots/training_data.svg"]
        for target in refused {
            let response = try session.request("GET", target, timeout: .seconds(300))
            #expect(response.status == 503, "\(target): \(response.status) \(response.text.prefix(200))")
            #expect(response.header("Retry-After") != nil, "\(target)")
            #expect(response.json["type"]?.stringValue == "/problems/memory-busy", "\(target)")
        }
        // What needs no more than the items' stored numbers, or small members of them, still answers.
        for target in Self.pages where !refused.contains(where: target.hasPrefix) {
            let response = try session.request("GET", target, timeout: .seconds(300))
            #expect(response.status == 200, "\(target): \(response.status)")
        }
        #expect(try session.get("/healthz").status == 200)
        #expect(
            limited.server.waitForExit(timeout: .milliseconds(1)) == nil, "the server exited:\n\(limited.server.log)")
    }
}
