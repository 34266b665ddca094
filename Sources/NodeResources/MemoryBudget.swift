import Foundation

/// One node's memory, shared by everything that can grow with what a client sends or asks for:
/// request bodies while they arrive, responses while they are built (history pages, comparisons,
/// plots, exports) and running jobs. Each draws a `MemoryReservation` before it allocates; what does
/// not fit waits briefly or is refused (the HTTP layer answers 503 with `Retry-After`), so a node
/// under attack degrades into refusals instead of an allocation failure.
///
/// The budget counts bytes the callers declare, not the allocator's: callers reserve an upper
/// bound of what they are about to hold and give it back when they no longer hold it.
public final class MemoryBudget: @unchecked Sendable {
    /// Bytes the budget hands out at most.
    public let capacity: Int

    private let condition = NSCondition()
    private var used = 0
    private var waiting = 0
    private var refused = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a memory budget needs a positive capacity")
        self.capacity = capacity
    }

    /// Bytes reserved now.
    public var inUse: Int { condition.withLock { used } }

    /// Callers blocked in `reserve(_:waitingAtMost:)` now.
    public var waiters: Int { condition.withLock { waiting } }

    /// Reservations refused since start (after any wait).
    public var refusals: Int { condition.withLock { refused } }

    /// Reserves `bytes` if they fit now, or returns nil.
    public func tryReserve(_ bytes: Int) -> MemoryReservation? {
        reserve(bytes, waitingAtMost: 0)
    }

    /// Reserves `bytes`, waiting up to `seconds` for other reservations to be released; nil if
    /// they did not fit by then (or can never fit: more than the whole capacity).
    public func reserve(_ bytes: Int, waitingAtMost seconds: Double) -> MemoryReservation? {
        precondition(bytes >= 0, "a reservation cannot be negative")
        guard take(bytes, waitingAtMost: seconds) else { return nil }
        return MemoryReservation(budget: self, bytes: bytes)
    }

    /// Takes `bytes` from the budget, waiting up to `seconds`; false if they did not fit.
    fileprivate func take(_ bytes: Int, waitingAtMost seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if bytes > capacity {
            refused += 1
            return false
        }
        if used + bytes <= capacity {
            used += bytes
            return true
        }
        guard seconds > 0 else {
            refused += 1
            return false
        }
        let deadline = Date(timeIntervalSinceNow: seconds)
        waiting += 1
        defer { waiting -= 1 }
        while used + bytes > capacity {
            if !condition.wait(until: deadline) {
                if used + bytes <= capacity { break }
                refused += 1
                return false
            }
        }
        used += bytes
        return true
    }

    fileprivate func give(_ bytes: Int) {
        guard bytes > 0 else { return }
        condition.lock()
        used -= bytes
        precondition(used >= 0, "a memory budget released more than it reserved")
        condition.broadcast()
        condition.unlock()
    }
}

/// Bytes held from a `MemoryBudget`. Grows and shrinks with what its owner holds; released once,
/// explicitly or when it is deinitialised.
public final class MemoryReservation: @unchecked Sendable {
    private let budget: MemoryBudget
    private let lock = NSLock()
    private var held: Int

    fileprivate init(budget: MemoryBudget, bytes: Int) {
        self.budget = budget
        self.held = bytes
    }

    deinit { budget.give(held) }

    /// Bytes this reservation holds now.
    public var bytes: Int { lock.withLock { held } }

    /// Holds `extra` more bytes if they fit (waiting up to `seconds`); false, holding what it held,
    /// if they did not.
    public func grow(by extra: Int, waitingAtMost seconds: Double = 0) -> Bool {
        precondition(extra >= 0, "grow takes a non-negative number of bytes")
        guard budget.take(extra, waitingAtMost: seconds) else { return false }
        lock.withLock { held += extra }
        return true
    }

    /// Gives back all but `bytes` (no effect if it holds no more than that).
    public func shrink(to bytes: Int) {
        let returned: Int = lock.withLock {
            let excess = max(0, held - max(0, bytes))
            held -= excess
            return excess
        }
        budget.give(returned)
    }

    /// Gives everything back; the reservation holds nothing afterwards.
    public func release() { shrink(to: 0) }
}
