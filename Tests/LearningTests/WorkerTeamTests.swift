import Learning
import Testing

@Suite("WorkerTeam")
struct WorkerTeamTests {
    @Test(
        "every half of every section runs exactly once, before run returns",
        arguments: [(1, WorkerTeam.defaultSpinLimit), (2, WorkerTeam.defaultSpinLimit), (2, 0), (2, 50)])
    func eachHalfRunsOnce(threads: Int, spinLimit: Int) {
        // spinLimit 0: every wait of either thread goes through the condition variables; 50: a mix.
        let team = WorkerTeam(threads: threads, spinLimit: spinLimit)
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

    @Test("a helper that has gone to sleep wakes for the next section, and a slow half is waited for")
    func sleepingHelperAndSlowHalf() {
        let team = WorkerTeam(threads: 2, spinLimit: 0)
        for round in 0..<200 {
            // A long serial stretch between sections: the helper is asleep when the next one comes.
            var serial = 0.0
            for i in 0..<20_000 { serial += Double(i & 7) }
            var first = 0.0, second = 0.0
            team.run(
                { first = serial + Double(round) },
                {
                    // A half much slower than the other: whoever runs it, run returns after it.
                    var sum = 0.0
                    for i in 0..<(round % 3 == 0 ? 200_000 : 10) { sum += Double(i & 3) }
                    second = sum
                })
            #expect(first == serial + Double(round))
            #expect(second == (round % 3 == 0 ? 300_000 : 13))
        }
    }
}
