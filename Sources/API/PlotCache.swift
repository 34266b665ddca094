import Synchronization

/// Rendered plots by job and name, each valid for one version of its job (items written and
/// status): a running job's plot is rendered once per meta-iteration however many watch it.
///
/// Bounded by bytes; past the bound the least recently used plots go.
final class PlotCache: Sendable {
    private struct Entry {
        var version: String
        var svg: String
        var used: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var tick: UInt64 = 0
    }

    let maxBytes: Int
    private let state = Mutex(State())

    init(maxBytes: Int = 32 << 20) {
        self.maxBytes = maxBytes
    }

    func get(jobID: String, name: String, version: String) -> String? {
        state.withLock { state in
            let key = jobID + "/" + name
            guard var entry = state.entries[key], entry.version == version else { return nil }
            state.tick += 1
            entry.used = state.tick
            state.entries[key] = entry
            return entry.svg
        }
    }

    func put(jobID: String, name: String, version: String, svg: String) {
        let size = svg.utf8.count
        guard size <= maxBytes / 4 else { return }
        state.withLock { state in
            let key = jobID + "/" + name
            if let old = state.entries[key] { state.bytes -= old.svg.utf8.count }
            state.tick += 1
            state.entries[key] = Entry(version: version, svg: svg, used: state.tick)
            state.bytes += size
            while state.bytes > maxBytes, let oldest = state.entries.min(by: { $0.value.used < $1.value.used }) {
                state.bytes -= oldest.value.svg.utf8.count
                state.entries[oldest.key] = nil
            }
        }
    }
}
