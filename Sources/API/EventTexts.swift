import Dispatch
import Foundation
import JSON
import Jobs
import Storage
import Synchronization

/// The text of events as every stream of a job sends them, built once per event, not once per
/// stream: a thousand watchers of one job cost one database read and one serialisation per
/// event, then a thousand writes of the same bytes.
///
/// A `meta_iteration` event is the same for every watcher (its id is the item's count); a
/// progress event's id is the watcher's count of items sent, the same for all watchers that are
/// up to date, so the last one built per job is kept with its id; a status change reads the job
/// once for all watchers. Bounded: the whole table is dropped past `maxEntries` and rebuilt on
/// demand.
final class EventTexts: Sendable {
    private struct Progress {
        var done: Int
        var fraction: Double
        var id: Int
        var text: [UInt8]
    }

    private struct State {
        var items: [String: [Int: [UInt8]]] = [:]
        var itemCount = 0
        var progress: [String: Progress] = [:]
        /// The job as read for a status event, by job: the status and when it was read.
        var records: [String: (status: String, readAt: UInt64, record: JobRecord)] = [:]

        /// Drops everything once the table outgrows its bound.
        mutating func bound(adding count: Int) {
            guard itemCount + count + progress.count + records.count > EventTexts.maxEntries else { return }
            self = State()
        }
    }

    private let state = Mutex(State())
    let store: Store
    /// Entries kept at most before the table is dropped and rebuilt on demand.
    static let maxEntries = 4096
    /// Outlines read per database call when an item's text is missing: cheap, a few numbers each.
    static let readAhead = 64

    init(store: Store) {
        self.store = store
    }

    /// The `meta_iteration` events of `jobID` for items `from..<to` (fewer if storage has fewer),
    /// read from storage once for every stream that asks.
    func items(jobID: String, from: Int, to: Int) -> [(index: Int, text: [UInt8])] {
        let known: [(Int, [UInt8])] = state.withLock { state in
            guard let texts = state.items[jobID] else { return [] }
            var run: [(Int, [UInt8])] = []
            for index in from..<to {
                guard let text = texts[index] else { break }
                run.append((index, text))
            }
            return run
        }
        if known.count == to - from { return known }
        let start = from + known.count
        guard
            let outlines = try? store.historyOutline(
                jobID: jobID, after: start - 1, limit: max(to - start, Self.readAhead)),
            !outlines.isEmpty
        else { return known }
        let built = outlines.map { ($0.metaIteration, Self.itemText($0)) }
        state.withLock { state in
            state.bound(adding: built.count)
            for (index, text) in built where state.items[jobID]?[index] == nil {
                state.items[jobID, default: [:]][index] = text
                state.itemCount += 1
            }
        }
        return known + built.filter { $0.0 >= start && $0.0 < to }
    }

    /// The progress event with id `id`, built once for all the streams at that id.
    func progress(jobID: String, done: Int, total: Int, fraction: Double, id: Int) -> [UInt8] {
        if let cached = state.withLock({ state -> [UInt8]? in
            guard let last = state.progress[jobID], last.done == done, last.fraction == fraction, last.id == id
            else { return nil }
            return last.text
        }) {
            return cached
        }
        let text = Self.frame(
            event: "progress", id: id, data: JobEventStream.progress(done: done, total: total, fraction: fraction))
        state.withLock { state in
            state.bound(adding: 1)
            state.progress[jobID] = Progress(done: done, fraction: fraction, id: id, text: text)
        }
        return text
    }

    /// The job as a status event of `status` found it, read once for all its streams (a read
    /// serves the same status for `recordLifetime`; a job retried to that status again is read
    /// anew).
    func record(jobID: String, status: String) -> JobRecord? {
        let now = DispatchTime.now().uptimeNanoseconds
        if let cached = state.withLock({ $0.records[jobID] }), cached.status == status,
            now &- cached.readAt < Self.recordLifetime
        {
            return cached.record
        }
        guard let record = try? store.job(id: jobID) else { return nil }
        state.withLock { state in
            state.bound(adding: 1)
            state.records[jobID] = (status, now, record)
        }
        return record
    }

    /// Nanoseconds a job read for a status event serves the other streams.
    static let recordLifetime: UInt64 = 2_000_000_000

    /// One Server-Sent Event.
    static func frame(event: String, id: Int, data: JSONValue) -> [UInt8] {
        Array("event: \(event)\nid: \(id)\ndata: \(data.serializedString())\n\n".utf8)
    }

    /// The `meta_iteration` event of an item: the numbers storage keeps beside it (the item itself
    /// is never read).
    static func itemText(_ outline: HistoryOutline) -> [UInt8] {
        var summary = RewindAPI.outlineNumbers(outline)
        summary["hypergradient_norm"] = outline.hypergradientNorm.map(JSONValue.number) ?? .null
        return frame(event: "meta_iteration", id: outline.metaIteration + 1, data: .object(summary))
    }
}
