import Foundation
import HTTPServer
import Jobs
import NodeResources
import Storage
import Tuning

/// Reading a job's history for pages (history, compare, plots, exports) bounded by bytes, not by
/// items: a job's items may be megabytes each (distillation stores its learned rows in every
/// item). A page first reads the items' outlines (their numbers and sizes, never the items), then
/// plans its reads by those sizes: it holds a read's bytes from the node's memory budget before
/// reading it, and reads at most `historyReadBytes` of items at once (one item at least).
extension RewindAPI {
    /// Bytes of stored items one read may bring into memory at once (always at least one row).
    static let historyReadBytes = 4 << 20

    /// Outlines read per database call: each is a few numbers.
    static let outlinePage = 1000

    /// The outlines of `jobID`'s items after meta-iteration `after`, at most `limit`, in order.
    func historyOutlines(jobID: String, after: Int = -1, limit: Int = .max) throws(APIError) -> [HistoryOutline] {
        var outlines: [HistoryOutline] = []
        var cursor = after
        while outlines.count < limit {
            let want = min(Self.outlinePage, limit - outlines.count)
            let page = try storage { try store.historyOutline(jobID: jobID, after: cursor, limit: want) }
            outlines += page
            guard page.count == want, let last = page.last else { break }
            cursor = last.metaIteration
        }
        return outlines
    }

    /// Calls `body` with the rows of `wanted` (outlines in order; the rows between them are not
    /// read), reading consecutive ones together up to `historyReadBytes`, and growing
    /// `reservation` to `held()` plus twice a read's bytes (the driver's copy and the row's)
    /// before each read. Stops when `body` returns false.
    func forEachHistoryRow(
        jobID: String, _ wanted: [HistoryOutline], reservation: MemoryReservation, held: () -> Int,
        _ body: (HistoryRow) throws(APIError) -> Bool
    ) throws(APIError) {
        var start = 0
        while start < wanted.count {
            // A run of consecutive meta-iterations that fits one read.
            var end = start + 1
            var bytes = wanted[start].itemBytes
            while end < wanted.count, wanted[end].metaIteration == wanted[end - 1].metaIteration + 1,
                bytes + wanted[end].itemBytes <= Self.historyReadBytes
            {
                bytes += wanted[end].itemBytes
                end += 1
            }
            try ensurePageMemory(reservation, held() + 2 * bytes)
            let first = wanted[start].metaIteration
            let rows = try storage { try store.history(jobID: jobID, after: first - 1, limit: end - start) }
            for row in rows {
                guard try body(row) else { return }
            }
            start = end
        }
    }

    /// Working memory for building a page, drawn from the node's budget; waits up to a second for
    /// it, else answers 503 with `Retry-After`.
    func reservePageMemory(_ bytes: Int) throws(APIError) -> MemoryReservation {
        guard let reservation = runner.memoryBudget.reserve(bytes, waitingAtMost: 1) else { throw .pageMemoryBusy }
        return reservation
    }

    /// Grows a page's reservation to at least `bytes`, or 503 as `reservePageMemory`.
    func ensurePageMemory(_ reservation: MemoryReservation, _ bytes: Int) throws(APIError) {
        let held = reservation.bytes
        guard bytes > held else { return }
        guard reservation.grow(by: bytes - held, waitingAtMost: 1) else { throw .pageMemoryBusy }
    }

    /// What a page holds while it builds besides its rows: outlines, parsed members and output.
    static let pageWorkingBytes = 4 * historyReadBytes

    /// Parsed JSON takes several times its text (a number's text of ~20 bytes becomes a value
    /// and its place in an array): what a page holds per byte of member text it parses.
    static let parsedBytesPerTextByte = 12
}

extension APIError {
    /// The node's memory budget could not hold a page's working memory: 503 with `Retry-After`.
    static let pageMemoryBusy = unavailable(
        slug: "memory-busy", title: "The server is short of memory",
        detail: "this node's memory budget cannot hold the page now; try again shortly")
}
