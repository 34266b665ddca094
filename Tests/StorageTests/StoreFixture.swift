import RewindTestSupport
@testable import Storage

/// A store on a fresh file in a temporary directory that disappears with the fixture.
final class StoreFixture {
    let directory: TemporaryDirectory
    let store: Store
    var path: String { directory.file("rewind.db") }

    init(readerCount: Int = 2) throws {
        directory = try TemporaryDirectory(prefix: "rewind-storage")
        store = try Store(path: directory.file("rewind.db"), readerCount: readerCount, nowMs: 1_000)
    }

    deinit { try? store.close() }

    /// Opens a second store on the same file, as another process would.
    func openAnother() throws -> Store {
        try Store(path: path, nowMs: 1_000)
    }

    /// Submits a job with defaults; fails the test if it is not created.
    @discardableResult
    func submit(
        _ id: String, priority: Int = 0, nowMs: Int64 = 1_000, maxAttempts: Int = 3,
        datasetID: String? = nil
    ) throws -> JobRecord {
        let outcome = try store.insertJob(
            NewJob(id: id, name: "job \(id)", specJSON: #"{"name":"\#(id)"}"#, datasetID: datasetID,
                   priority: priority, progressTotal: 3, maxAttempts: maxAttempts),
            idempotency: nil, maxQueued: 1_000, nowMs: nowMs)
        guard case .created(let job) = outcome else {
            throw FixtureError.unexpected("submit \(id): \(outcome)")
        }
        return job
    }

    /// A history row for `metaIteration` with recognisable numbers.
    static func historyRow(_ metaIteration: Int, loss: Double = 0.5, nowMs: Int64 = 2_000) -> HistoryRow {
        HistoryRow(
            metaIteration: metaIteration, itemJSON: #"{"meta_iteration":\#(metaIteration)}"#,
            trainingLoss: loss, validationLoss: loss + 0.1, validationError: 0.125,
            hypergradientNorm: 3.5, seconds: 0.25, createdMs: nowMs)
    }
}

enum FixtureError: Error { case unexpected(String) }
