import Foundation
import Testing

@testable import NodeResources

@Suite("Memory budget")
struct MemoryBudgetTests {
    @Test("reservations that fit are granted and counted; one that does not is refused")
    func grantsAndRefuses() throws {
        let budget = MemoryBudget(capacity: 100)
        let first = try #require(budget.tryReserve(60))
        #expect(budget.inUse == 60)
        #expect(budget.tryReserve(41) == nil)
        #expect(budget.refusals == 1)
        let second = try #require(budget.tryReserve(40))
        #expect(budget.inUse == 100)
        first.release()
        second.release()
        #expect(budget.inUse == 0)
    }

    @Test("more than the whole capacity is refused at once, even with a wait")
    func neverFits() {
        let budget = MemoryBudget(capacity: 10)
        let start = Date()
        #expect(budget.reserve(11, waitingAtMost: 5) == nil)
        #expect(Date().timeIntervalSince(start) < 4)
    }

    @Test("a waiting reservation is granted when another is released")
    func waitsForRelease() throws {
        let budget = MemoryBudget(capacity: 100)
        var holder = budget.tryReserve(90)
        try #require(holder != nil)
        let granted = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            if budget.reserve(50, waitingAtMost: 30) != nil { granted.signal() }
        }
        while budget.waiters == 0 { usleep(1000) }
        holder = nil  // deinit releases
        #expect(holder == nil)
        #expect(granted.wait(timeout: .now() + 30) == .success)
    }

    @Test("a reservation grows while it fits and shrinks to what it still holds")
    func growsAndShrinks() throws {
        let budget = MemoryBudget(capacity: 100)
        let reservation = try #require(budget.tryReserve(10))
        #expect(reservation.grow(by: 80))
        #expect(!reservation.grow(by: 20))
        #expect(reservation.bytes == 90)
        reservation.shrink(to: 30)
        #expect(budget.inUse == 30)
        reservation.release()
        reservation.release()
        #expect(budget.inUse == 0)
    }

    @Test("the default budget is half of the least limit that is set")
    func defaultBudget() {
        let limits = MemoryLimits(physical: 24 << 30, cgroup: nil, addressSpace: 2 << 30)
        #expect(limits.effective == 2 << 30)
        #expect(limits.defaultBudget == 1 << 30)
        #expect(MemoryLimits(physical: nil, cgroup: nil, addressSpace: nil).defaultBudget == 1 << 30)
        #expect(MemoryLimits.parseLimit("max\n") == nil)
        #expect(MemoryLimits.parseLimit("9223372036854771712") == nil)
        #expect(MemoryLimits.parseLimit("536870912\n") == 536_870_912)
    }
}
