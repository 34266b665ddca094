import Dashboard
import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

/// Issue 15, point 4: history pages, the comparison, plots and exports are bounded by bytes, not
/// by items. A small distillation job on the built-in digits runs for real (its items carry the
/// 1,500 learned training rows); a job with many such items is then made directly
/// in the store, its items padded to about 2.3 MB, and every page is read over it with a 3 MiB history page.
@Suite("Pages over large items are bounded by bytes", .serialized)
struct LargeItemPagesTests {
    static let spec =
        #"{"dataset":{"name":"digits"},"split":{"train":1500,"validation":297},"model":{"hidden":[4]},"#
        + #""training":{"iterations":2,"batch_size":10},"hyperparameters":{"training_data":{"learn":true}},"#
        + #""meta":{"iterations":1}}"#
    static let pageBytes = 3 << 20
    static let items = 12

    /// A service whose job `id` has `items` items of about 2.3 MB each, made in the store; its
    /// workers are stopped so that nothing else runs.
    static func serviceWithLargeJob() throws -> (service: TestService, id: String, itemBytes: Int) {
        var configuration = TestService.defaultAPIConfiguration
        configuration.historyPageBytes = pageBytes
        let service = try TestService(api: configuration)
        let session = APISession(service)
        let small = try session.submit(spec)
        _ = try session.waitForStatus(small, "succeeded", timeout: .seconds(300))
        _ = service.runner.shutdown(timeout: 10)
        let store = service.store
        let record = try #require(try store.job(id: small))
        let template = try #require(try store.history(jobID: small, limit: 10).last)
        // Six times the learned rows (the pages do not check their count): items of megabytes.
        guard case .object(var item) = try JSONValue.parse(template.itemJSON),
            case .object(var hyperparameters)? = item["hyperparameters"],
            let rows = hyperparameters["training_data"]?.arrayValue
        else { throw ServerProcessError("a distillation item has learned rows") }
        hyperparameters["training_data"] = .array(Array(repeating: rows, count: 6).flatMap { $0 })
        item["hyperparameters"] = .object(hyperparameters)
        let id = "large-items"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard
            case .created = try store.insertJob(
                NewJob(
                    id: id, name: "large items", specJSON: record.specJSON, datasetID: nil, priority: 0,
                    progressTotal: items, maxAttempts: 1, owner: record.owner),
                idempotency: nil, maxQueued: 100, nowMs: now)
        else { throw ServerProcessError("the job was not created") }
        let worker = WorkerID("test-writer")
        let claimed = try #require(try store.claimJob(worker: worker, nowMs: now, leaseMs: 3_600_000))
        #expect(claimed.job.id == id)
        var bytes = 0
        for index in 0..<items {
            var object = item
            object["meta_iteration"] = .number(Double(index))
            object["validation_loss"] = .number(2 - Double(index) / 10)
            let text = JSONValue.object(object).serializedString()
            bytes = max(bytes, text.utf8.count)
            let row = HistoryRow(
                metaIteration: index, itemJSON: text, trainingLoss: 1, validationLoss: 2 - Double(index) / 10,
                validationError: 0.5, hypergradientNorm: index == items - 1 ? nil : 1 + Double(index),
                seconds: 0.1, createdMs: now)
            #expect(
                try store.commitMetaIteration(
                    jobID: JobID(id), worker: worker, item: row, checkpoint: [0], progressDone: index + 1,
                    progressFraction: Double(index + 1) / Double(items), latestJSON: text,
                    bestJSON: index == items - 1 ? text : nil, nowMs: now))
        }
        #expect(
            try store.finishJob(
                jobID: JobID(id), worker: worker, status: .succeeded, errorCode: nil, errorMessage: nil, nowMs: now))
        return (service, id, bytes)
    }

    @Test func historyPagesStopAtTheirByteBoundAndTheNextPageContinues() throws {
        let (service, id, itemBytes) = try Self.serviceWithLargeJob()
        defer { service.stop() }
        #expect(itemBytes > 1_000_000, "items of \(itemBytes) bytes")
        let session = APISession(service)
        var seen: [Int] = []
        var after = -1
        var pages = 0
        while true {
            let response = try session.get("/v1/jobs/\(id)/history?after=\(after)&limit=1000")
            #expect(response.status == 200)
            let items = try #require(response.json["items"]?.arrayValue)
            #expect(items.count >= 1)
            #expect(items.count == 1 || response.body.count <= Self.pageBytes + 64, "page of \(response.body.count)")
            seen += items.compactMap { $0["meta_iteration"]?.intValue }
            pages += 1
            guard let next = response.json["next_after"]?.intValue else { break }
            after = next
        }
        #expect(seen == Array(0..<Self.items))
        #expect(pages >= Self.items * itemBytes / Self.pageBytes)
    }

    @Test func plotsCompareAndExportsAnswerOverLargeItems() throws {
        let (service, id, _) = try Self.serviceWithLargeJob()
        defer { service.stop() }
        let session = APISession(service)
        let spec = try JSONValue.parse(try #require(try service.store.job(id: id)).specJSON)
        for name in JobPlots.names(for: spec) {
            let plot = try session.get("/v1/jobs/\(id)/plots/\(name).svg")
            #expect(plot.status == 200, "\(name): \(plot.status) \(plot.text.prefix(200))")
            #expect(plot.text.hasPrefix("<svg") && plot.body.count < 2_000_000, "\(name): \(plot.body.count) bytes")
        }
        // The learned rows come from the latest item; the loss from every item's stored numbers.
        #expect(try session.get("/v1/jobs/\(id)/plots/training_data.svg").text.contains("row 0"))
        let compare = try session.get("/compare?jobs=\(id)")
        #expect(compare.status == 200 && compare.body.count < 200_000)
        let schedule = try session.get("/v1/jobs/\(id)/schedule?item=\(Self.items - 1)")
        #expect(schedule.status == 200, "\(schedule.text.prefix(300))")
        #expect(schedule.json["learning_rate"]?.arrayValue?.count == 2)
        let result = try session.get("/v1/jobs/\(id)/result")
        #expect(result.status == 200 && result.json["final"]?["meta_iteration"]?.intValue == Self.items - 1)
    }

    @Test func aBudgetTooTightForAPageAnswers503AndChangesNothing() throws {
        let (service, id, _) = try Self.serviceWithLargeJob()
        defer { service.stop() }
        let session = APISession(service)
        // Another holder (a running job, say) leaves 18 MiB: enough for the comparison (which
        // reads no item), not for a page of items.
        let budget = service.runner.memoryBudget
        let others = try #require(budget.reserve(budget.capacity - budget.inUse - (18 << 20), waitingAtMost: 0))
        for target in ["/v1/jobs/\(id)/history", "/v1/jobs/\(id)/plots/training_data.svg", "/v1/jobs/\(id)/result"] {
            let refused = try session.get(target)
            #expect(refused.status == 503, "\(target): \(refused.status)")
            #expect(
                refused.header("Retry-After") != nil
                    && refused.json["type"]?.stringValue?.hasSuffix("memory-busy") == true)
        }
        #expect(try session.get("/compare?jobs=\(id)").status == 200)
        #expect(try session.get("/healthz").status == 200)
        others.release()
        #expect(budget.inUse == 0)
        #expect(try session.get("/v1/jobs/\(id)/history").status == 200)
        #expect(try session.get("/v1/jobs/\(id)/plots/training_data.svg").status == 200)
    }
}
