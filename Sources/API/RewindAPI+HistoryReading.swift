import Foundation
import HTTPServer
import Jobs
import NodeResources
import Storage
import Tuning

/// Reading a job's history for pages (history, compare, plots) bounded by bytes, not by items: a
/// job's items may be megabytes each (distillation stores its learned rows in every item), so a
/// page reads as many rows at once as fit in `historyReadBytes` judging by the largest seen so far
/// (one at first), and holds its working memory from the node's budget while it builds.
extension RewindAPI {
    /// Bytes of stored items one read may bring into memory at once (always at least one row).
    static let historyReadBytes = 4 << 20

    /// Calls `body` with the history rows of `jobID` after meta-iteration `after`, in order, until
    /// it returns false or the rows run out.
    func forEachHistoryRow(
        jobID: String, after: Int, _ body: (HistoryRow) throws(APIError) -> Bool
    ) throws(APIError) {
        var cursor = after
        var largest = 0
        var want = 1
        while true {
            let rows = try storage { try store.history(jobID: jobID, after: cursor, limit: want) }
            for row in rows {
                largest = max(largest, row.itemJSON.utf8.count)
                cursor = row.metaIteration
                guard try body(row) else { return }
            }
            if rows.count < want { return }
            want = max(1, min(16, Self.historyReadBytes / max(1, largest)))
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

    /// What a page holds while it builds besides its rows: their parsed form and the output.
    static let pageWorkingBytes = 4 * historyReadBytes
}

extension APIError {
    /// The node's memory budget could not hold a page's working memory: 503 with `Retry-After`.
    static let pageMemoryBusy = unavailable(
        slug: "memory-busy", title: "The server is short of memory",
        detail: "this node's memory budget cannot hold the page now; try again shortly")
}
