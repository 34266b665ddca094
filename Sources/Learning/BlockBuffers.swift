/// One `InformationBuffer` per parameter block, so that the two threads of a `WorkerTeam` can run
/// the buffer work of different blocks at the same time.
///
/// The blocks are dealt into two fixed groups of about equal parameter count (in block order, each
/// to the lighter group), and each group's multiplies or divides run as one half of a team section.
/// Every block's digits go through the same operations in the same order whatever the thread
/// count, so the bits do not depend on it.
final class BlockBuffers {
    /// Block indices of each half.
    let groups: ([Int], [Int])
    private let buffers: UnsafeMutablePointer<InformationBuffer>
    private let count: Int
    /// The largest total `storedBits` seen after a step's multiplies or divides.
    private(set) var peakStoredBits = 0

    init(blocks: [ParameterBlock]) {
        count = blocks.count
        buffers = .allocate(capacity: count)
        var first: [Int] = [], second: [Int] = [], weights = (0, 0)
        for (k, block) in blocks.enumerated() {
            if weights.0 <= weights.1 {
                first.append(k)
                weights.0 += block.range.count
            } else {
                second.append(k)
                weights.1 += block.range.count
            }
            (buffers + k).initialize(to: InformationBuffer(segments: [block.range]))
        }
        groups = (first, second)
    }

    deinit {
        buffers.deinitialize(count: count)
        buffers.deallocate()
    }

    /// values ← values · n/d exactly over every block, one group per half of `team`.
    func multiply(_ values: UnsafeMutableBufferPointer<Int64>, by factors: [RationalFactor], team: WorkerTeam) {
        team.run(
            { self.multiply(values, blocks: self.groups.0, by: factors) },
            { self.multiply(values, blocks: self.groups.1, by: factors) })
        notePeak()
    }

    /// The exact inverse of the last `multiply`, over every block.
    func divide(_ values: UnsafeMutableBufferPointer<Int64>, by factors: [RationalFactor], team: WorkerTeam) {
        team.run(
            { self.divide(values, blocks: self.groups.0, by: factors) },
            { self.divide(values, blocks: self.groups.1, by: factors) })
    }

    /// True when every block's buffer is empty.
    var isEmpty: Bool { (0..<count).allSatisfy { buffers[$0].isEmpty } }

    private func multiply(_ values: UnsafeMutableBufferPointer<Int64>, blocks: [Int], by factors: [RationalFactor]) {
        for k in blocks { buffers[k].multiply(values, segment: 0, by: factors[k]) }
    }

    private func divide(_ values: UnsafeMutableBufferPointer<Int64>, blocks: [Int], by factors: [RationalFactor]) {
        for k in blocks { buffers[k].divide(values, segment: 0, by: factors[k]) }
    }

    private func notePeak() {
        var total = 0
        for k in 0..<count { total += buffers[k].storedBits }
        peakStoredBits = max(peakStoredBits, total)
    }
}
