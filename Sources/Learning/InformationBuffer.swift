/// Per-parameter store of the bits that multiplying by n/d destroys (paper Alg. 3), kept as a
/// streaming coder so that every step costs O(1) per parameter however long the run.
///
/// Multiplying a fixed-point value c by n/2^32 loses the low digit of c·n. A step pops a digit r
/// of base n from the parameter's buffer, computes X = c·n + r exactly, keeps c ← X div 2^32 and
/// pushes X mod 2^32 back (base d = 2^32). That is a bijection on (c, buffer), and the buffer
/// grows by `log2(d/n)` bits per step. Popping first and multiplying in full width (rather than
/// the paper's push first, c div d, then ·n) keeps c within one unit (2^-52) of c·n/d.
///
/// **The coder.** A parameter's buffer is the integer V = x·b^j + Σ s_i·b^i (b = 2^32): a state
/// x of at most 95 bits and a stack of j words s, the top word the most significant below x.
/// V has one *normal form* for each lower bound k: x = V with no words if V < b·k, else x in
/// [k, b·k). Moving words between x and the stack (renormalising) changes the form, never V.
/// Between steps x rests in the form of k = L = 2^63, i.e. x ∈ [2^63, 2^95) (any x < 2^95 with an
/// empty stack).
/// - Pop of base n: go to the form of k = n·K, K = L/b = 2^31. Because K·n ≤ L ≤ b·K·n, that
///   moves at most one word, from x to the stack: exactly when x ≥ n·2^63. Then r = x mod n and
///   y = x div n. Since x ∈ [nK, b·nK) ⇔ y ∈ [K, bK) and that residue class is hit once, (y, words)
///   is precisely V' in the form of k = K: V ↦ (r, V') is a bijection ℕ → [0, n) × ℕ for **every**
///   n in [1, b]. A fixed interval [L, bL) would need n | L for all n (rANS's b-uniqueness);
///   choosing the bound per step as a multiple of that step's n, and renormalising in between,
///   is what makes a base that changes every step exact.
/// - Push of base b: from the form of K (x = y), x ← y·b + digit lands in [bK, b²K) = [L, bL),
///   the resting form. The inverse reads the digit as x mod b and then, at most one word back.
///
/// So `multiply` is: if x ≥ n·2^63 push the low word of x and shift it out; (y, r) = divmod(x, n);
/// X = c·n + r; x ← y·2^32 + (X mod 2^32); c ← X div 2^32. `divide` runs it backwards and reads a
/// word exactly when the restored x is below 2^63 and the stack is not empty. Each pop differs
/// from V div n by a factor within 1 ± 1/K, so V stays within 2^-30 bits per step of the
/// information-theoretic Σ log2(d/n_t) (+ the first 32-bit digit, which an empty buffer cannot
/// offset): as tight as one big integer per parameter, but no step touches more than one word.
///
/// Conditions, for any word size b: 1 ≤ n ≤ b every step; L a multiple of b, K = L/b (then
/// n·K ≤ L ≤ b·n·K, so each pop or push moves at most one word); a register for x < b·L; and
/// K ≫ 1 for the rate. Here b = 2^32, L = 2^63: x fits 96 bits (stored as 64 + 32) and n·2^64
/// bounds every dividend, so one 128-by-64-bit division with a reciprocal does each step. The
/// tests check the same coder at 2- to 4-bit words on every state, digit and base.
///
/// A segment's parameters are grouped in tiles of `tileWidth`; each tile owns its words and its
/// accounting, so calls on disjoint tile-aligned parameter ranges (`parameterRanges`) may run on
/// different threads at once, with results bit-identical to one whole-segment call. Where the CPU
/// has AVX-512 the tiles run through eight-lane C kernels (CBufferKernels), chosen at run time:
/// the arithmetic is integer, so every CPU gets the same bits, about 2.8× faster than the scalar
/// loops, which remain the fallback.
public final class InformationBuffer: @unchecked Sendable {
    /// Parameters per tile: the unit of storage growth, accounting and thread splitting.
    public static let tileWidth = 128

    /// Rows of stacked words per storage chunk of a tile once it is past its first 60 rows.
    public static let chunkRows = 64

    /// Rows a tile holds allocated once one of its parameters has `depth` words stacked:
    /// the bytes a buffer holds are `tileWidth · 4` per row, fixed ahead by the deepest stack.
    public static func allocatedRows(forDepth depth: Int) -> Int {
        guard depth > 0 else { return 0 }
        let chunks = SegmentCoder.chunkCount(rows: depth)
        return (0..<chunks).reduce(0) { $0 + SegmentCoder.rows(inChunk: $1) }
    }

    /// Whether this CPU runs the AVX-512 kernels (x86-64 with AVX-512 F, DQ, CD and VL).
    public static var vectorKernelsAvailable: Bool { SegmentCoder.vectorKernelsAvailable }

    /// Disjoint ranges of the parameter vector, one per model block.
    public let segments: [Range<Int>]
    let coders: [SegmentCoder]

    /// A buffer holding nothing for the given disjoint, non-negative parameter ranges.
    ///
    /// `vectorised` picks the AVX-512 kernels (the default where the CPU has them) or the scalar
    /// loops; both give the same bits, so it only matters to tests and benchmarks.
    public init(segments: [Range<Int>], vectorised: Bool = InformationBuffer.vectorKernelsAvailable) {
        // Empty segments hold nothing and may sit anywhere, even inside another range.
        let sorted = segments.filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        for (index, range) in sorted.enumerated() {
            precondition(range.lowerBound >= 0, "segment \(range) starts before the parameter vector")
            if index > 0 {
                precondition(
                    sorted[index - 1].upperBound <= range.lowerBound,
                    "segments \(sorted[index - 1]) and \(range) overlap")
            }
        }
        self.segments = segments
        self.coders = segments.map { SegmentCoder(count: $0.count, vectorised: vectorised) }
    }

    /// `values[i] ← values[i] · n/d` exactly for i in `segments[s]`, pushing the destroyed digit.
    ///
    /// Never traps, for any Int64 input; the result satisfies `|c'| ≤ |c|·n/d + 1`.
    public func multiply(_ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, by factor: RationalFactor) {
        multiply(values, segment: s, parameters: segments[s], by: factor)
    }

    /// `multiply` restricted to `parameters`, a tile-aligned sub-range of `segments[s]` (one of
    /// `parameterRanges(segment:parts:)`, or a union of adjacent ones).
    ///
    /// Calls on disjoint such ranges touch disjoint memory, so they may run concurrently.
    public func multiply(
        _ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, parameters: Range<Int>, by factor: RationalFactor
    ) {
        guard let base = checked(values, segment: s, parameters: parameters) else { return }
        coders[s].multiply(
            base + parameters.lowerBound, from: parameters.lowerBound - segments[s].lowerBound,
            count: parameters.count, by: .uniform(Divisor(factor.numerator)))
    }

    /// `values[i] ← values[i] · numerators[i]/2^32` exactly for i in `segments[s]`: `multiply`
    /// with a factor per parameter (each numerator in [1, 2^32), indexed like `values`).
    ///
    /// The same coder and the same bits per parameter as `multiply` with that parameter's
    /// factor; it runs the scalar loops (the vector kernels take one factor per call).
    public func multiply(
        _ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, numerators: UnsafeBufferPointer<UInt64>
    ) {
        guard let call = checked(values, segment: s, numerators: numerators) else { return }
        coders[s].multiply(call.start, from: 0, count: call.count, by: call.factors)
    }

    /// The exact inverse of `multiply(_:segment:numerators:)` with the same numerators (LIFO).
    public func divide(
        _ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, numerators: UnsafeBufferPointer<UInt64>
    ) {
        guard let call = checked(values, segment: s, numerators: numerators) else { return }
        coders[s].divide(call.start, from: 0, count: call.count, by: call.factors)
    }

    /// The exact inverse of the most recent un-undone `multiply` on segment `s` (LIFO).
    ///
    /// On an empty buffer this pops a zero digit, as the paper's buffer does. A result that would
    /// not fit in an Int64 traps: it can only come from a divide that undoes no multiply.
    public func divide(_ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, by factor: RationalFactor) {
        divide(values, segment: s, parameters: segments[s], by: factor)
    }

    /// `divide` restricted to a tile-aligned sub-range of `segments[s]`; see the `multiply` twin.
    public func divide(
        _ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, parameters: Range<Int>, by factor: RationalFactor
    ) {
        guard let base = checked(values, segment: s, parameters: parameters) else { return }
        coders[s].divide(
            base + parameters.lowerBound, from: parameters.lowerBound - segments[s].lowerBound,
            count: parameters.count, by: .uniform(Divisor(factor.numerator)))
    }

    /// `segments[s]` cut into `parts` consecutive tile-aligned ranges of near-equal size (some
    /// possibly empty), for splitting one segment's work across threads.
    public func parameterRanges(segment s: Int, parts: Int) -> [Range<Int>] {
        precondition(parts >= 1, "parts must be positive")
        let range = segments[s]
        let tiles = (range.count + Self.tileWidth - 1) / Self.tileWidth
        return (0..<parts).map { part in
            let lower = min(range.lowerBound + tiles * part / parts * Self.tileWidth, range.upperBound)
            let upper = min(range.lowerBound + tiles * (part + 1) / parts * Self.tileWidth, range.upperBound)
            return lower..<upper
        }
    }

    /// Bits held right now: Σ over parameters of the bit length of the integer V its coder holds
    /// (32 per stacked word plus the significant bits of the state).
    ///
    /// The state registers themselves (96 bits a parameter) and spare capacity are memory, not
    /// information; `allocatedBits` counts them.
    public var storedBits: Int { coders.reduce(0) { $0 + $1.storedBits } }

    /// `storedBits` of segment `s` alone.
    public func storedBits(segment s: Int) -> Int { coders[s].storedBits }

    /// The largest `storedBits` seen, as the sum over tiles of each tile's largest total after any
    /// call. That is exact when all multiplies precede all divides (training: the peak is at the
    /// end of the forward pass) and never below the true peak otherwise.
    public var peakStoredBits: Int { coders.reduce(0) { $0 + $1.peakBits } }

    /// Bits of memory allocated: state registers, word counts and stack capacity, in use or not.
    public var allocatedBits: Int { coders.reduce(0) { $0 + $1.allocatedBytes } * 8 }

    /// True when every parameter's buffer holds zero (it must after a full reversal).
    public var isEmpty: Bool { storedBits == 0 }

    /// The checks of the per-parameter-factor calls, which always cover the whole segment: its
    /// first value, its length and its numerators, nil when it is empty.
    private func checked(
        _ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, numerators: UnsafeBufferPointer<UInt64>
    ) -> (start: UnsafeMutablePointer<Int64>, count: Int, factors: SegmentCoder.Factors)? {
        let range = segments[s]
        guard let base = checked(values, segment: s, parameters: range) else { return nil }
        precondition(numerators.count >= range.upperBound, "numerators shorter than segment \(range)")
        return (base + range.lowerBound, range.count, .each(numerators.baseAddress! + range.lowerBound))
    }

    private func checked(
        _ values: UnsafeMutableBufferPointer<Int64>, segment s: Int, parameters: Range<Int>
    ) -> UnsafeMutablePointer<Int64>? {
        let range = segments[s]
        precondition(values.count >= range.upperBound, "values shorter than segment \(range)")
        precondition(
            parameters.lowerBound >= range.lowerBound && parameters.upperBound <= range.upperBound,
            "parameters \(parameters) outside segment \(range)")
        guard !parameters.isEmpty else { return nil }
        precondition(
            (parameters.lowerBound - range.lowerBound) % Self.tileWidth == 0
                && (parameters.upperBound == range.upperBound
                    || (parameters.upperBound - range.lowerBound) % Self.tileWidth == 0),
            "parameters \(parameters) are not aligned to tiles of segment \(range); use parameterRanges")
        return values.baseAddress
    }
}
