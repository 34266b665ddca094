import Foundation
import RewindTestSupport
import Testing

@testable import Storage

@Suite("Store: opening, closing, reopening and datasets")
struct StoreLifecycleTests {
    @Test("A store closed and reopened sees every accepted job, and leaves no WAL behind")
    func reopenSeesEverything() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-reopen")
        let path = directory.file("rewind.db")
        var store = try SQLiteStore(path: path, nowMs: 0)
        var accepted: [String] = []
        for i in 0..<40 {
            let id = TimeOrderedID.make(nowMs: Int64(i))
            let outcome = try store.insertJob(
                NewJob(id: id, name: "j", specJSON: "{}", progressTotal: 1), idempotency: nil,
                maxQueued: 100, nowMs: Int64(i))
            if case .created = outcome { accepted.append(id) }
        }
        _ = try store.claimJob(worker: "w", nowMs: 100, leaseMs: 10)
        try store.close()
        #expect(throws: StoreError.closed) { try store.job(id: accepted[0]) }
        #expect(throws: StoreError.closed) { try store.claimJob(worker: "w", nowMs: 1, leaseMs: 1) }
        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize == 0)

        store = try SQLiteStore(path: path, nowMs: 200)
        defer { try? store.close() }
        let listed = try store.listJobs(limit: 100).jobs.map(\.id)
        #expect(Set(listed) == Set(accepted) && listed.count == 40)
        #expect(try store.jobCounts()[.running] == 1)
        #expect(store.schemaVersion == Migration.embedded(for: .sqlite).count)
    }

    @Test("A file that is not a database is refused")
    func notADatabaseRefused() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-garbage")
        let path = directory.file("rewind.db")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SQLiteError.self) { try SQLiteStore(path: path, nowMs: 0) }
        #expect(error?.code == 26)  // SQLITE_NOTADB
    }

    @Test("A database with a damaged page is refused at open, naming the file and the damage")
    func damagedPageRefused() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-damaged")
        let path = directory.file("rewind.db")
        let store = try SQLiteStore(path: path, nowMs: 0)
        for i in 0..<300 {
            _ = try store.insertJob(
                NewJob(id: "job-\(i)", name: "j", specJSON: String(repeating: "{}", count: 50), progressTotal: 1),
                idempotency: nil, maxQueued: 1_000, nowMs: Int64(i))
        }
        try store.close()
        // Scribble over the header of page 11 (cell count, content offset): a b-tree page SQLite
        // can no longer parse.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count > 12 * 4096)
        for offset in 3..<8 { bytes[10 * 4096 + offset] = 0xFF }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StoreError.self) { try SQLiteStore(path: path, nowMs: 1) }
        guard case .integrityCheckFailed(let reportedPath, let details) = error else {
            Issue.record("expected an integrity failure, got \(String(describing: error))"); return
        }
        #expect(reportedPath == path && details.contains("Page 11"))
    }

    @Test("Time-ordered ids are UUIDv7 strings that sort by their millisecond")
    func timeOrderedIDs() {
        let ids = (0..<50).map { TimeOrderedID.make(nowMs: 1_700_000_000_000 + Int64($0) * 1_000) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 50)
        for id in ids {
            let characters = Array(id)
            #expect(id.count == 36 && characters[14] == "7" && "89ab".contains(characters[19]))
        }
    }

    @Test("Ids made in one millisecond, or after the clock stepped back, still sort in the order they were made")
    func timeOrderedIDsAreMonotonic() {
        let now = Int64(1_900_000_000_000)
        let sameMillisecond = (0..<2000).map { _ in TimeOrderedID.make(nowMs: now) }
        #expect(sameMillisecond == sameMillisecond.sorted())
        #expect(Set(sameMillisecond).count == 2000)
        #expect(sameMillisecond.allSatisfy { $0.hasPrefix("01ba60d3-3800-7") })  // 1_900_000_000_000 ms
        let afterStepBack = TimeOrderedID.make(nowMs: now - 5_000)
        #expect(afterStepBack > sameMillisecond.last!)
        #expect(TimeOrderedID.make(nowMs: now + 1) > afterStepBack)
    }
}

@Suite("Store: datasets")
struct StoreDatasetTests {
    private func dataset(_ id: String, sha: Character = "a", builtin: Bool = false) -> NewDataset {
        NewDataset(
            id: id, name: "name-\(id)", rows: 10, features: 4, classes: 3,
            sha256: String(repeating: sha, count: 64), content: [1, 2, 3, 4], builtin: builtin)
    }

    @Test(
        "A dataset is stored with its metadata and content, and the same bytes dedupe", arguments: StoreFixture.engines)
    func insertAndDedupe(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        guard case .created(let record) = try store.insertDataset(dataset("d1"), nowMs: 5) else {
            Issue.record("not created"); return
        }
        #expect(
            record
                == DatasetRecord(
                    id: "d1", name: "name-d1", rows: 10, features: 4, classes: 3,
                    sha256: String(repeating: "a", count: 64), builtin: false,
                    createdMs: 5, contentBytes: 4))
        #expect(try store.insertDataset(dataset("d2"), nowMs: 6) == .existing(record))
        #expect(try store.dataset(id: "d1") == record)
        #expect(try store.dataset(id: "d2") == nil)
        #expect(try store.datasetContent(id: "d1") == [1, 2, 3, 4])
        #expect(try store.datasetContent(id: "d2") == nil)
    }

    @Test("Listing puts built-ins first", arguments: StoreFixture.engines)
    func listing(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        _ = try store.insertDataset(dataset("up", sha: "b"), nowMs: 1)
        _ = try store.insertDataset(dataset("digits", sha: "c", builtin: true), nowMs: 2)
        #expect(try store.listDatasets().map(\.id) == ["digits", "up"])
    }

    @Test(
        "A dataset in use by a live job cannot be deleted; afterwards the job keeps its spec",
        arguments: StoreFixture.engines)
    func deleteRules(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        _ = try store.insertDataset(dataset("d"), nowMs: 1)
        _ = try store.insertDataset(dataset("digits", sha: "c", builtin: true), nowMs: 1)
        try fixture.submit("j", datasetID: "d")
        #expect(try store.deleteDataset(id: "d") == .inUse)
        _ = try store.claimJob(worker: "w", nowMs: 10, leaseMs: 100)
        #expect(try store.deleteDataset(id: "d") == .inUse)
        #expect(try store.finishJob(jobID: "j", worker: "w", status: .succeeded, nowMs: 20))
        #expect(try store.deleteDataset(id: "d") == .deleted)
        #expect(try store.deleteDataset(id: "d") == .notFound)
        #expect(try store.deleteDataset(id: "digits") == .builtin)
        let job = try #require(try store.job(id: "j"))
        #expect(job.datasetID == nil && job.specJSON.contains("j"))
    }
}
