import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The memory a process may use, as the machine, its cgroup and its address-space limit tell it.
public struct MemoryLimits: Sendable, Equatable {
    /// Physical memory of the machine.
    public var physical: Int?
    /// The cgroup's limit (v2 `memory.max`, or v1 `memory.limit_in_bytes`), when one is set.
    public var cgroup: Int?
    /// The process's `RLIMIT_AS` (as `prlimit --as` or `ulimit -v` set it), when one is set.
    public var addressSpace: Int?

    public init(physical: Int?, cgroup: Int?, addressSpace: Int?) {
        self.physical = physical
        self.cgroup = cgroup
        self.addressSpace = addressSpace
    }

    /// The least of the three limits that are set.
    public var effective: Int? { [physical, cgroup, addressSpace].compactMap { $0 }.min() }

    /// The default node budget: half of the effective limit, leaving the rest to the runtime, the
    /// allocator's slack, thread stacks, SQLite's cache and the address space that shared
    /// libraries map (which `RLIMIT_AS` counts though it is not resident). 1 GiB when nothing is known.
    public var defaultBudget: Int {
        guard let limit = effective else { return 1 << 30 }
        return max(64 << 20, limit / 2)
    }

    /// Reads the limits of this process.
    public static func current() -> MemoryLimits {
        MemoryLimits(
            physical: Int(exactly: ProcessInfo.processInfo.physicalMemory),
            cgroup: cgroupLimit(),
            addressSpace: addressSpaceLimit())
    }

    static func cgroupLimit() -> Int? {
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            if let value = parseLimit(text) { return value }
        }
        return nil
    }

    /// A cgroup file's limit: a number of bytes, or nil for "max" and for the v1 "no limit" value
    /// (a number near `Int64.max`, rounded to pages).
    static func parseLimit(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = Int(trimmed), value > 0, value < (1 << 62) else { return nil }
        return value
    }

    static func addressSpaceLimit() -> Int? {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur == rlim_t.max { return nil }  // RLIM_INFINITY
        return Int(exactly: limit.rlim_cur)
        #else
        return nil
        #endif
    }
}
