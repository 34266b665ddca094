import CBufferKernels

extension InformationBuffer {
    /// The coders of one segment's parameters: per parameter the state x = high·2^32 + low and a
    /// stack of `depth` words, the stacks stored tile by tile, row-major within a tile (word j of
    /// parameter p in row j of the tile, at slot p mod tileWidth), so that one row of a tile is
    /// one cache line's worth of neighbours.
    ///
    /// Every array is allocated once except a tile's rows, which only that tile's calls add:
    /// calls on disjoint whole tiles share no memory. Rows come in chunks that are never moved or
    /// freed before the coder is (`chunkRows`), so a run's memory is what its stacks hold plus
    /// less than one chunk a tile — never a copy in flight or a freed block the allocator keeps.
    final class SegmentCoder: @unchecked Sendable {
        let count: Int
        let tileCount: Int
        /// x div 2^32, below 2^63.  // (count)
        private let high: UnsafeMutablePointer<UInt64>
        /// x mod 2^32: the digit the latest multiply pushed.  // (count)
        private let low: UnsafeMutablePointer<UInt32>
        /// Words on the parameter's stack.  // (count)
        private let depth: UnsafeMutablePointer<UInt32>
        /// Per tile: its stacks (rows × tileWidth words), rows allocated, Σ depth, bits held now
        /// and the most it has held after any call.  // (tileCount) each
        private let words: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<UInt32>>?>
        private let rows: UnsafeMutablePointer<Int>
        private let depthSum: UnsafeMutablePointer<Int>
        private let bits: UnsafeMutablePointer<Int>
        private let peak: UnsafeMutablePointer<Int>

        /// Whether the AVX-512 kernels run the tiles (else the scalar Swift loops, same bits).
        let vectorised: Bool

        /// Whether this CPU runs the AVX-512 kernels.
        static let vectorKernelsAvailable = rewind_buffer_kernels_available() != 0

        init(count: Int, vectorised: Bool) {
            self.count = count
            self.vectorised = vectorised
            tileCount = (count + InformationBuffer.tileWidth - 1) / InformationBuffer.tileWidth
            high = .allocate(capacity: count)
            high.initialize(repeating: 0, count: count)
            low = .allocate(capacity: count)
            low.initialize(repeating: 0, count: count)
            depth = .allocate(capacity: count)
            depth.initialize(repeating: 0, count: count)
            words = .allocate(capacity: tileCount)
            words.initialize(repeating: nil, count: tileCount)
            rows = .allocate(capacity: tileCount)
            depthSum = .allocate(capacity: tileCount)
            bits = .allocate(capacity: tileCount)
            peak = .allocate(capacity: tileCount)
            for counter in [rows, depthSum, bits, peak] { counter.initialize(repeating: 0, count: tileCount) }
        }

        deinit {
            for t in 0..<tileCount {
                guard let chunks = words[t] else { continue }
                for c in 0..<Self.chunkCount(rows: rows[t]) { chunks[c].deallocate() }
                chunks.deallocate()
            }
            for pointer in [rows, depthSum, bits, peak] { pointer.deallocate() }
            words.deallocate()
            high.deallocate()
            low.deallocate()
            depth.deallocate()
        }

        var storedBits: Int { (0..<tileCount).reduce(0) { $0 + bits[$1] } }
        var peakBits: Int { (0..<tileCount).reduce(0) { $0 + peak[$1] } }
        var allocatedBytes: Int {
            count * 16 + tileCount * 48
                + (0..<tileCount).reduce(0) {
                    $0 + rows[$1] * InformationBuffer.tileWidth * 4 + Self.chunkCount(rows: rows[$1]) * 8
                }
        }

        /// The numerators of one call: one n for every parameter (the vector kernels' case), or
        /// one per parameter (`numerators[i]` for the parameter `values[i]`; the scalar loops).
        enum Factors {
            case uniform(Divisor)
            case each(UnsafePointer<UInt64>)

            /// The factors of the parameters from `offset` on.
            func advanced(by offset: Int) -> Factors {
                switch self {
                case .uniform: self
                case .each(let numerators): .each(numerators + offset)
                }
            }

            /// The divisor of parameter i (relative to the call's first).
            @inline(__always)
            func divisor(_ i: Int) -> Divisor {
                switch self {
                case .uniform(let divisor): divisor
                case .each(let numerators): Divisor(numerators[i])
                }
            }
        }

        /// `multiply` of the buffer for parameters `first..<first + n` of the segment (`first`
        /// tile-aligned); `values` points at the first of them.
        func multiply(_ values: UnsafeMutablePointer<Int64>, from first: Int, count: Int, by factors: Factors) {
            let width = InformationBuffer.tileWidth
            for start in stride(from: first, to: first + count, by: width) {
                multiplyTile(
                    start / width, values: values + (start - first), width: min(width, first + count - start),
                    factors: factors.advanced(by: start - first))
            }
        }

        /// `divide` of the buffer for parameters `first..<first + count`; see `multiply`.
        func divide(_ values: UnsafeMutablePointer<Int64>, from first: Int, count: Int, by factors: Factors) {
            let width = InformationBuffer.tileWidth
            var overflow: UInt64 = 0
            for start in stride(from: first, to: first + count, by: width) {
                divideTile(
                    start / width, values: values + (start - first), width: min(width, first + count - start),
                    factors: factors.advanced(by: start - first), overflow: &overflow)
            }
            precondition(overflow == 0, "InformationBuffer.divide overflowed: it undoes no multiply")
        }

        /// Pop base n, X = c·n + r, push X mod 2^32, c ← X div 2^32, for one tile.
        private func multiplyTile(_ t: Int, values: UnsafeMutablePointer<Int64>, width: Int, factors: Factors) {
            let offset = t * InformationBuffer.tileWidth
            let high = self.high + offset, low = self.low + offset
            var pushed = 0
            var length = 0
            if vectorised, case .uniform(let divisor) = factors {
                let n = divisor.numerator
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: width) { words in
                    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2) { emitted in
                        emitted.initialize(repeating: 0)
                        length = Int(
                            rewind_buffer_multiply(
                                high, low, values, Int64(width), n, divisor.normalized, divisor.reciprocal,
                                Int64(divisor.shift), emitted.baseAddress, words.baseAddress))
                        finishMultiply(
                            tile: t, emitted: (emitted[0], emitted[1]), words: UnsafePointer(words.baseAddress!),
                            length: length)
                    }
                }
                return
            }
            for i in 0..<width {
                let divisor = factors.divisor(i), n = divisor.numerator
                let h = high[i], l = low[i]
                // x ≥ n·2^63 ⇔ x div 2^32 ≥ n·2^31: the state leaves [n·2^31, n·2^63) upwards.
                let emit = h >= n &<< 31
                // x, shifted down one word when a word leaves; either way x < n·2^64.
                let x = emit ? UInt128(h) : UInt128(h) &<< 32 | UInt128(l)
                let (y, popped) = divisor.divide(x)
                // X = c·n + r exactly: |X| < 2^63 · 2^32, so X div 2^32 fits an Int64.
                let product = values[i].multipliedFullWidth(by: Int64(bitPattern: n))
                let (sum, carry) = product.low.addingReportingOverflow(popped)
                let top = product.high &+ (carry ? 1 : 0)
                let digit = UInt32(truncatingIfNeeded: sum)
                values[i] = (top &<< 32) | Int64(bitPattern: sum &>> 32)
                high[i] = y
                low[i] = digit
                length &+= Self.bitLength(high: y, low: digit)
                if emit {
                    push(l, tile: t, slot: i)
                    pushed += 1
                }
            }
            depthSum[t] += pushed
            account(t, length: length)
        }

        /// The exact inverse of `multiplyTile`: digit = x mod 2^32, (c, r) = divmod(c'·2^32 +
        /// digit, n), x ← (x div 2^32)·n + r, and a word back from the stack when x < 2^63.
        private func divideTile(
            _ t: Int, values: UnsafeMutablePointer<Int64>, width: Int, factors: Factors, overflow: inout UInt64
        ) {
            let offset = t * InformationBuffer.tileWidth
            let high = self.high + offset, low = self.low + offset, depth = self.depth + offset
            var length = 0
            var popped = 0
            if vectorised, case .uniform(let divisor) = factors {
                let n = divisor.numerator
                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2) { below in
                    below.initialize(repeating: 0)
                    length = Int(
                        rewind_buffer_divide(
                            high, low, values, Int64(width), n, divisor.normalized, divisor.reciprocal,
                            Int64(divisor.shift), below.baseAddress, &overflow))
                    finishDivide(tile: t, below: (below[0], below[1]), length: length)
                }
                return
            }
            for i in 0..<width {
                let divisor = factors.divisor(i), n = divisor.numerator
                let (value, remainder) = Self.unmultiply(
                    values[i], digit: low[i], divisor: divisor, overflow: &overflow)
                values[i] = value
                // x = y·n + r < 2^63 · 2^32: `top` < 2^31.
                let product = high[i].multipliedFullWidth(by: n)
                let (sum, carry) = product.low.addingReportingOverflow(UInt64(remainder))
                let top = product.high &+ (carry ? 1 : 0)
                let d = depth[i]
                if top == 0 && sum < 1 << 63 && d > 0 {
                    // Below the resting interval with words stacked: the multiply had pushed one.
                    depth[i] = d - 1
                    high[i] = sum
                    low[i] = word(tile: t, row: Int(d - 1), slot: i)
                    popped += 1
                } else {
                    high[i] = top &<< 32 | sum &>> 32
                    low[i] = UInt32(truncatingIfNeeded: sum)
                }
                length &+= Self.bitLength(high: high[i], low: low[i])
            }
            depthSum[t] -= popped
            account(t, length: length)
        }

        /// The state registers (x div 2^32, x mod 2^32) of tile t's parameters, for a kernel that
        /// steps them in place and then hands what it did to `finishMultiply` or `finishDivide`.
        func registers(tile t: Int) -> (high: UnsafeMutablePointer<UInt64>, low: UnsafeMutablePointer<UInt32>) {
            let offset = t * InformationBuffer.tileWidth
            return (high + offset, low + offset)
        }

        /// After a kernel multiplied tile t: pushes `words[i]` for every bit i of `emitted` and
        /// counts the bits held (`length`: Σ bit lengths of the new states).
        func finishMultiply(tile t: Int, emitted: (UInt64, UInt64), words: UnsafePointer<UInt32>, length: Int) {
            var pushed = 0
            Self.forEachSetBit(of: emitted) { i in
                push(words[i], tile: t, slot: i)
                pushed += 1
            }
            depthSum[t] += pushed
            account(t, length: length)
        }

        /// Calls `body` with every i < 128 whose bit is set in the pair of words (bit i of word
        /// i / 64), in increasing order.
        @inline(__always)
        private static func forEachSetBit(of flags: (UInt64, UInt64), _ body: (Int) -> Void) {
            for index in 0..<2 {
                var mask = index == 0 ? flags.0 : flags.1
                while mask != 0 {
                    body(index * 64 + mask.trailingZeroBitCount)
                    mask &= mask &- 1
                }
            }
        }

        /// After a kernel divided tile t: for every bit i of `below` (a state that fell below
        /// 2^63) whose stack is not empty, x moves into `high` whole and a word comes back below
        /// it; then counts the bits held (`length` as the kernel left the states).
        func finishDivide(tile t: Int, below: (UInt64, UInt64), length: Int) {
            let offset = t * InformationBuffer.tileWidth
            let high = self.high + offset, low = self.low + offset, depth = self.depth + offset
            var popped = 0
            Self.forEachSetBit(of: below) { i in
                let d = depth[i]
                guard d > 0 else { return }
                // V and so the bit count are unchanged: 32 bits leave the stack for x.
                depth[i] = d - 1
                high[i] = high[i] &<< 32 | UInt64(low[i])
                low[i] = word(tile: t, row: Int(d - 1), slot: i)
                popped += 1
            }
            depthSum[t] -= popped
            account(t, length: length + 32 * popped)
        }

        /// Stores `word` on top of the stack of slot `slot` of tile `t`, growing the tile if needed.
        @inline(never)
        private func push(_ word: UInt32, tile t: Int, slot: Int) {
            let p = t * InformationBuffer.tileWidth + slot
            let d = Int(depth[p])
            if d >= rows[t] { grow(tile: t) }
            let (chunk, row) = Self.chunk(ofRow: d)
            words[t]![chunk][row * InformationBuffer.tileWidth + slot] = word
            depth[p] = UInt32(d + 1)
        }

        /// Adds tile t's next chunk of rows; the chunks before it stay where they are.
        private func grow(tile t: Int) {
            let count = Self.chunkCount(rows: rows[t])
            let table = UnsafeMutablePointer<UnsafeMutablePointer<UInt32>>.allocate(capacity: count + 1)
            if let old = words[t] {
                table.moveInitialize(from: old, count: count)
                old.deallocate()
            }
            let size = Self.rows(inChunk: count)
            table[count] = .allocate(capacity: size * InformationBuffer.tileWidth)
            words[t] = table
            rows[t] += size
        }

        @inline(__always)
        private func word(tile t: Int, row: Int, slot: Int) -> UInt32 {
            let (chunk, offset) = Self.chunk(ofRow: row)
            return words[t]![chunk][offset * InformationBuffer.tileWidth + slot]
        }

        /// Rows of a tile's chunk c: 4, 8, 16, 32, then `chunkRows` each (32 KiB), so a short run
        /// holds little and a long one wastes less than one chunk a tile.
        static func rows(inChunk c: Int) -> Int { c < 4 ? 4 << c : InformationBuffer.chunkRows }

        /// Rows in the first four (growing) chunks.
        static let growingRows = 4 + 8 + 16 + 32

        /// The chunk holding row `row` and the row's place in it.
        @inline(__always)
        static func chunk(ofRow row: Int) -> (chunk: Int, row: Int) {
            if row < growingRows {
                let c = Int.bitWidth - 1 - (row >> 2 + 1).leadingZeroBitCount
                return (c, row - 4 * ((1 << c) - 1))
            }
            let beyond = row - growingRows
            return (4 + beyond / InformationBuffer.chunkRows, beyond % InformationBuffer.chunkRows)
        }

        /// Chunks making up `rows` allocated rows (a sum of whole chunks).
        static func chunkCount(rows: Int) -> Int {
            rows == 0 ? 0 : chunk(ofRow: rows - 1).chunk + 1
        }

        private func account(_ t: Int, length: Int) {
            bits[t] = depthSum[t] * 32 + length
            peak[t] = max(peak[t], bits[t])
        }

        /// Bit length of x = high·2^32 + low.
        @inline(__always)
        static func bitLength(high: UInt64, low: UInt32) -> Int {
            high != 0 ? 96 - high.leadingZeroBitCount : 32 - low.leadingZeroBitCount
        }

        /// From c' and the pushed digit, X = c'·2^32 + digit, then c = X div n and r = X mod n
        /// (floor semantics), by one division with the reciprocal. Negative X is
        /// divided as ~X = −X − 1 ≥ 0: ⌊X/n⌋ = −1 − ⌊~X/n⌋ and X mod n = n − 1 − (~X mod n).
        /// Flags a quotient beyond Int64 range.
        @inline(__always)
        static func unmultiply(
            _ value: Int64, digit: UInt32, divisor: Divisor, overflow: inout UInt64
        ) -> (value: Int64, remainder: UInt32) {
            let negative = value < 0
            let magnitude = UInt64(bitPattern: negative ? ~value : value)
            let x = UInt128(magnitude) &<< 32 | UInt128(negative ? ~digit : digit)
            // A quotient of 2^63 or more does not fit; divide zero instead and flag it.
            let tooLarge = UInt64(truncatingIfNeeded: x &>> 63) >= divisor.numerator
            overflow |= tooLarge ? 1 : 0
            let (quotient, remainder) = divisor.divide(tooLarge ? 0 : x)
            if negative {
                return (~Int64(bitPattern: quotient), UInt32(truncatingIfNeeded: divisor.numerator &- 1 &- remainder))
            }
            return (Int64(bitPattern: quotient), UInt32(truncatingIfNeeded: remainder))
        }
    }
}
