extension InformationBuffer {
    /// The buffers B of one segment's parameters: one big non-negative integer per parameter,
    /// stored as 32-bit limbs, limb-major, so every inner loop runs over parameters.
    ///
    /// Invariant: rows `0..<limbCount` hold the digits, and unless `limbCount == 0` some parameter
    /// has a non-zero top row. A multiply adds at most one row and a divide removes at most one,
    /// so checking the top row after each step keeps the count exact and the work per step
    /// proportional to the bits actually held.
    struct LimbStack: Sendable {
        /// Parameters per tile: a tile's running remainders and rows stay in L1 cache while the
        /// long division walks down all rows, however large the segment.
        static let tileWidth = 1024

        /// Parameters in the segment.
        let count: Int
        /// Rows in use.
        private(set) var limbCount = 0
        /// Row j of parameter i at `j * count + i`; rows past `limbCount` are spare capacity.  // (capacity, count)
        private var limbs: [UInt32] = []
        /// One running remainder (multiply) or carry (divide) per parameter between rows.  // (count)
        private var carries: [UInt32]

        init(count: Int) {
            self.count = count
            self.carries = Array(repeating: 0, count: count)
        }

        /// Rows allocated, in use or not.
        var capacity: Int { count == 0 ? 0 : limbs.count / count }

        /// `c ← c·n/d` for each of the `count` values at `values`, pushing the destroyed digit.
        mutating func multiply(_ values: UnsafeMutablePointer<Int64>, by n: UInt64) {
            guard count > 0 else { return }
            let rows = limbCount
            reserve(rows: rows + 1)
            let divisor = Divisor(n)
            let count = self.count
            var topRow: UInt32 = 0
            limbs.withUnsafeMutableBufferPointer { limbBuffer in
                carries.withUnsafeMutableBufferPointer { carryBuffer in
                    let limbs = limbBuffer.baseAddress!
                    let remainders = carryBuffer.baseAddress!
                    for start in stride(from: 0, to: count, by: Self.tileWidth) {
                        topRow |= Self.multiplyTile(
                            limbs + start, stride: count, rows: rows, width: min(Self.tileWidth, count - start),
                            values: values + start, remainders: remainders + start, divisor: divisor)
                    }
                }
            }
            if topRow != 0 { limbCount = rows + 1 }
        }

        /// The exact inverse of the latest `multiply`: `c ← c·d/n`, popping the digit it pushed.
        mutating func divide(_ values: UnsafeMutablePointer<Int64>, by n: UInt64) {
            guard count > 0 else { return }
            let rows = limbCount
            let count = self.count
            var overflow: UInt64 = 0
            guard rows > 0 else {
                // B = 0: the pop yields c ← (c div n)·d + (c mod n) and B stays 0, as in the paper.
                let numerator = Int64(n)
                for i in 0..<count {
                    let (quotient, remainder) = floorDivMod(values[i], numerator)
                    values[i] = Self.shiftedIn(quotient, digit: UInt32(truncatingIfNeeded: remainder), overflow: &overflow)
                }
                Self.checkNoOverflow(overflow)
                return
            }
            var topRow: UInt32 = 0
            limbs.withUnsafeMutableBufferPointer { limbBuffer in
                carries.withUnsafeMutableBufferPointer { carryBuffer in
                    let limbs = limbBuffer.baseAddress!
                    let carries = carryBuffer.baseAddress!
                    for start in stride(from: 0, to: count, by: Self.tileWidth) {
                        topRow |= Self.divideTile(
                            limbs + start, stride: count, rows: rows, width: min(Self.tileWidth, count - start),
                            values: values + start, carries: carries + start, numerator: n, overflow: &overflow)
                    }
                }
            }
            Self.checkNoOverflow(overflow)
            if topRow == 0 { limbCount = rows - 1 }
        }

        /// Makes room for `rows` rows, growing geometrically so a long run reallocates O(log T) times.
        private mutating func reserve(rows: Int) {
            let current = capacity
            guard rows > current else { return }
            let target = max(rows, current + current / 2 + 1)
            limbs.reserveCapacity(target * count)
            limbs.append(contentsOf: repeatElement(0, count: (target - current) * count))
        }
    }
}

extension InformationBuffer.LimbStack {
    /// Long division of `B·2^32 + (c mod 2^32)` by n from the top row down, for one tile.
    ///
    /// Row j's quotient lands in row j + 1 (that one-row shift is the push of base d), the
    /// digit's in row 0, and the final remainder is the digit popped into c. Returns the OR of
    /// the new top row (row `rows`), which decides whether the stack grew.
    @inline(__always)
    fileprivate static func multiplyTile(
        _ limbs: UnsafeMutablePointer<UInt32>, stride: Int, rows: Int, width: Int,
        values: UnsafeMutablePointer<Int64>, remainders: UnsafeMutablePointer<UInt32>,
        divisor: InformationBuffer.Divisor
    ) -> UInt32 {
        guard rows > 0 else {
            return multiplyDigits(limbs, width: width, values: values, remainders: nil, divisor: divisor)
        }
        // The top row starts the division with a zero remainder; its quotients form the new top.
        var top: UInt32 = 0
        let source = limbs + (rows - 1) * stride
        let target = source + stride
        for i in 0..<width {
            let (q, r) = divisor.step(0, source[i])
            target[i] = q
            remainders[i] = r
            top |= q
        }
        for row in Swift.stride(from: rows - 2, through: 0, by: -1) {
            let source = limbs + row * stride
            let target = source + stride
            for i in 0..<width {
                let (q, r) = divisor.step(remainders[i], source[i])
                target[i] = q
                remainders[i] = r
            }
        }
        _ = multiplyDigits(limbs, width: width, values: values, remainders: remainders, divisor: divisor)
        return top
    }

    /// The last step of the long division: the digits `c mod 2^32` go to row 0 and the
    /// remainders become c's new low digits. Returns the OR of row 0.
    @inline(__always)
    private static func multiplyDigits(
        _ row0: UnsafeMutablePointer<UInt32>, width: Int, values: UnsafeMutablePointer<Int64>,
        remainders: UnsafeMutablePointer<UInt32>?, divisor: InformationBuffer.Divisor
    ) -> UInt32 {
        let numerator = Int64(divisor.numerator)
        var any: UInt32 = 0
        for i in 0..<width {
            let c = values[i]
            let (q, r) = divisor.step(remainders?[i] ?? 0, UInt32(truncatingIfNeeded: c))
            row0[i] = q
            any |= q
            // (c >> 32)·n + r cannot overflow for any Int64 c: |c >> 32| ≤ 2^31, n < 2^32.
            values[i] = (c &>> 32) &* numerator &+ Int64(divisor.denormalize(r))
        }
        return any
    }

    /// `B·n + (c mod n)` as a multiply-add with carry from the bottom row up, for one tile.
    ///
    /// Its bottom row is the digit that returns to c; dropping it (the pop of base d) is writing
    /// each row's low half one row down. Needs `rows ≥ 1`; returns the OR of the new top row
    /// (row `rows − 1`), which decides whether the stack shrank.
    @inline(__always)
    fileprivate static func divideTile(
        _ limbs: UnsafeMutablePointer<UInt32>, stride: Int, rows: Int, width: Int,
        values: UnsafeMutablePointer<Int64>, carries: UnsafeMutablePointer<UInt32>,
        numerator n: UInt64, overflow: inout UInt64
    ) -> UInt32 {
        let numerator = Int64(n)
        var any: UInt32 = 0
        // Row 0 and the values. Each loop writes its carries through one known pointer (a
        // single row is its own top row and keeps its carry in place) so that it vectorises.
        if rows == 1 {
            for i in 0..<width {
                let (quotient, remainder) = floorDivMod(values[i], numerator)
                let t = UInt64(limbs[i]) &* n &+ UInt64(remainder)
                let carry = UInt32(truncatingIfNeeded: t &>> 32)
                limbs[i] = carry
                any |= carry
                values[i] = shiftedIn(quotient, digit: UInt32(truncatingIfNeeded: t), overflow: &overflow)
            }
            return any
        }
        for i in 0..<width {
            let (quotient, remainder) = floorDivMod(values[i], numerator)
            let t = UInt64(limbs[i]) &* n &+ UInt64(remainder)
            carries[i] = UInt32(truncatingIfNeeded: t &>> 32)
            values[i] = shiftedIn(quotient, digit: UInt32(truncatingIfNeeded: t), overflow: &overflow)
        }
        for row in 1..<rows - 1 {
            let source = limbs + row * stride
            let below = source - stride
            for i in 0..<width {
                let t = UInt64(source[i]) &* n &+ UInt64(carries[i])
                below[i] = UInt32(truncatingIfNeeded: t)
                carries[i] = UInt32(truncatingIfNeeded: t &>> 32)
            }
        }
        let top = limbs + (rows - 1) * stride
        let below = top - stride
        for i in 0..<width {
            let t = UInt64(top[i]) &* n &+ UInt64(carries[i])
            below[i] = UInt32(truncatingIfNeeded: t)
            let carry = UInt32(truncatingIfNeeded: t &>> 32)
            top[i] = carry
            any |= carry
        }
        return any
    }

    /// `quotient·2^32 + digit`, flagging (not trapping inside the vector loop) a quotient of 32 bits or more.
    @inline(__always)
    fileprivate static func shiftedIn(_ quotient: Int64, digit: UInt32, overflow: inout UInt64) -> Int64 {
        let shifted = quotient &<< 32
        overflow |= UInt64(bitPattern: (shifted &>> 32) ^ quotient)
        return shifted | Int64(digit)
    }

    /// Traps if some `(c div n)·2^32` did not fit in an Int64: that can only come from a divide
    /// that undoes no multiply, i.e. a bug in the caller.
    fileprivate static func checkNoOverflow(_ overflow: UInt64) {
        precondition(overflow == 0, "InformationBuffer.divide overflowed: it undoes no multiply")
    }
}
