/// Per-parameter mixed-radix stack of the bits that multiplying by n/d destroys (paper Alg. 3),
/// stored as vectorised 32-bit limbs over all parameters of a segment.
///
/// Multiplying a fixed-point value c by n/2^32 loses the low digit of c·n. Popping a digit r of
/// base n from a per-parameter integer B, computing X = c·n + r exactly, keeping X div 2^32 and
/// pushing X mod 2^32 back onto B (base d) makes the step a bijection on (c, B), and B grows by
/// only `log2(d/n)` bits per step on average: a mixed-radix arithmetic code of the destroyed
/// information (PAPER.md §3).
///
/// The paper's Algorithm 3 does the same with the push first (c div d, then ·n, then the popped
/// digit added at the bottom); with d = 2^32 that leaves up to n ≈ 2^32 units of noise in c, i.e.
/// 2^-20 in value. Popping first and multiplying in full width keeps c within one unit (2^-52)
/// of c·n/d, at the same cost in buffer bits.
/// Every B obeys `B + 1 ≤ ⌈…⌈(d/n_1)⌉…·d/n_T⌉`, so storage is the information-theoretic amount
/// plus at most one limb per parameter.
public struct InformationBuffer: Sendable {
    /// Disjoint ranges of the parameter vector, one per model block.
    public let segments: [Range<Int>]
    /// One stack per segment.
    private var stacks: [LimbStack]
    /// Σ over segments of rows in use × parameters, kept current so `storedBits` is O(1).
    private var storedLimbs = 0
    private var peakStoredLimbs = 0

    /// A buffer holding nothing for the given disjoint, non-negative parameter ranges.
    ///
    /// All parameters of a segment are multiplied by the same factor at a step, so they share a
    /// limb count.
    public init(segments: [Range<Int>]) {
        // Empty segments hold nothing and may sit anywhere, even inside another range.
        let sorted = segments.filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        for (index, range) in sorted.enumerated() {
            precondition(range.lowerBound >= 0, "segment \(range) starts before the parameter vector")
            if index > 0 {
                precondition(sorted[index - 1].upperBound <= range.lowerBound, "segments \(sorted[index - 1]) and \(range) overlap")
            }
        }
        self.segments = segments
        self.stacks = segments.map { LimbStack(count: $0.count) }
    }

    /// `values[i] ← values[i] · n/d` exactly for i in `segments[s]`, pushing the destroyed digit.
    ///
    /// Per parameter, with floor semantics:
    /// `r ← B mod n; B ← B div n; X ← c·n + r; B ← B·d + (X mod d); c ← X div d`.
    /// Never traps, for any Int64 input; the result satisfies `|c'| ≤ |c|·n/d + 1`.
    public mutating func multiply(
        _ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, by factor: RationalFactor
    ) {
        let range = segments[s]
        precondition(values.count >= range.upperBound, "values shorter than segment \(range)")
        guard let base = values.baseAddress, !range.isEmpty else { return }
        let before = stacks[s].limbCount
        stacks[s].multiply(base + range.lowerBound, by: factor.numerator)
        account(segment: s, rowsBefore: before)
    }

    /// The exact inverse of the most recent un-undone `multiply` on segment `s` (LIFO).
    ///
    /// Per parameter: `X ← c·d + (B mod d); B ← B div d; c ← X div n; B ← B·n + (X mod n)`.
    /// On an empty buffer this pops a zero digit, as the paper's buffer does. A result that would
    /// not fit in an Int64 traps: it can only come from a divide that undoes no multiply.
    public mutating func divide(
        _ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, by factor: RationalFactor
    ) {
        let range = segments[s]
        precondition(values.count >= range.upperBound, "values shorter than segment \(range)")
        guard let base = values.baseAddress, !range.isEmpty else { return }
        let before = stacks[s].limbCount
        stacks[s].divide(base + range.lowerBound, by: factor.numerator)
        account(segment: s, rowsBefore: before)
    }

    /// Bits of digit storage held right now: every limb in use, of every parameter, × 32.
    ///
    /// Spare capacity kept for growth is not counted (see `allocatedBits`).
    public var storedBits: Int { storedLimbs * 32 }

    /// The largest `storedBits` seen since the buffer was created.
    public var peakStoredBits: Int { peakStoredLimbs * 32 }

    /// Bits of limb memory allocated, including spare rows kept for growth.
    public var allocatedBits: Int { stacks.reduce(0) { $0 + $1.capacity * $1.count } * 32 }

    /// True when every stored digit is zero (it must be after a full reversal).
    public var isEmpty: Bool { storedLimbs == 0 }

    /// Limbs in use per parameter for segment `s`: `⌈log2(max B + 1) / 32⌉` over its parameters.
    public func limbCount(segment s: Int) -> Int { stacks[s].limbCount }

    private mutating func account(segment s: Int, rowsBefore: Int) {
        storedLimbs += (stacks[s].limbCount - rowsBefore) * stacks[s].count
        peakStoredLimbs = max(peakStoredLimbs, storedLimbs)
    }
}
