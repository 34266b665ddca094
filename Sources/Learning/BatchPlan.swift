/// Which training rows each inner iteration uses.
///
/// A plan is a pure function of (step → rows): the reverse pass asks for step t again and must get
/// the very same rows, or the recomputed gradient — and with it the exact reversal — breaks.
public struct BatchPlan: Sendable, Equatable {
    public enum Order: Sendable, Equatable {
        /// Rows drawn uniformly with replacement from a stream seeded by (seed, step).
        case random(seed: UInt64)
        /// Consecutive rows; batch t starts at row (t · batchSize) mod rows and wraps around.
        case cyclic
    }

    public let rows: Int
    public let batchSize: Int
    public let order: Order

    public init(rows: Int, batchSize: Int, order: Order) {
        precondition(rows > 0 && batchSize > 0, "a batch plan needs rows and a positive batch size")
        self.rows = rows
        self.batchSize = batchSize
        self.order = order
    }

    /// Writes the row indices of iteration `step` (0-based) into `indices` (length `batchSize`).
    public func fill(step: Int, into indices: UnsafeMutableBufferPointer<Int32>) {
        precondition(indices.count == batchSize)
        switch order {
        case .random(let seed):
            var generator = SplitMix64(mixing: seed, UInt64(step))
            for j in 0..<batchSize {
                indices[j] = Int32(generator.nextIndex(below: rows))
            }
        case .cyclic:
            var row = (step % rows) * (batchSize % rows) % rows
            for j in 0..<batchSize {
                indices[j] = Int32(row)
                row += 1
                if row == rows { row = 0 }
            }
        }
    }
}
