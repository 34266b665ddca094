import Learning
import Testing

@Suite("WorkerTeam")
struct WorkerTeamTests {
    @Test("every half of every section runs exactly once, before run returns", arguments: [1, 2])
    func eachHalfRunsOnce(threads: Int) {
        let team = WorkerTeam(threads: threads)
        let sections = 50_000
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2 * sections)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0)
        for section in 0..<sections {
            team.run({ counts[2 * section] += 1 }, { counts[2 * section + 1] += 1 })
            // Both halves are visible as soon as run returns.
            #expect(counts[2 * section] == 1 && counts[2 * section + 1] == 1)
        }
        #expect(counts.allSatisfy { $0 == 1 })
        let (a, b) = team.map { $0 * 10 }
        #expect(a == 0 && b == 10)
    }
}
