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

        /// `c ← (c·n + (B mod n)) div d` for each of the `count` values, with `B ← (B div n)·d +
        /// (c·n + (B mod n)) mod d`: pop base n, multiply in full width, push base d.
        mutating func multiply(_ values: UnsafeMutablePointer<Int64>, by n: UInt64) {
            guard count > 0 else { return }
            let rows = limbCount
            reserve(rows: rows + 1)
            let divisor = Divisor(n)
            let count = self.count
            var topRow: UInt32 = 0
            var bottomRow: UInt32 = 0
            limbs.withUnsafeMutableBufferPointer { limbBuffer in
                carries.withUnsafeMutableBufferPointer { carryBuffer in
                    let limbs = limbBuffer.baseAddress!
                    let remainders = carryBuffer.baseAddress!
                    for start in stride(from: 0, to: count, by: Self.tileWidth) {
                        let rowsOred = Self.multiplyTile(
                            limbs + start, stride: count, rows: rows, width: min(Self.tileWidth, count - start),
                            values: values + start, remainders: remainders + start, divisor: divisor)
                        topRow |= rowsOred.top
                        bottomRow |= rowsOred.bottom
                    }
                }
            }
            // The new B is (B div n)·2^32 + digit: one row more than B div n, which has `rows` or
            // `rows − 1` rows, or none at all when B was a single row smaller than n.
            if topRow != 0 {
                limbCount = rows + 1
            } else if rows <= 1 {
                limbCount = bottomRow != 0 ? 1 : 0
            }
        }

        /// The exact inverse of the latest `multiply`: pops the pushed digit, restores c and pushes
        /// back the digit of base n the multiply had popped.
        mutating func divide(_ values: UnsafeMutablePointer<Int64>, by n: UInt64) {
            guard count > 0 else { return }
            // An empty buffer (a divide that undoes no multiply) pops a zero digit and may then
            // need one row for the remainder.
            let rows = max(limbCount, 1)
            reserve(rows: rows)
            let divisor = Divisor(n)
            let count = self.count
            var overflow: UInt64 = 0
            var topRow: UInt32 = 0
            limbs.withUnsafeMutableBufferPointer { limbBuffer in
                carries.withUnsafeMutableBufferPointer { carryBuffer in
                    let limbs = limbBuffer.baseAddress!
                    let carries = carryBuffer.baseAddress!
                    for start in stride(from: 0, to: count, by: Self.tileWidth) {
                        topRow |= Self.divideTile(
                            limbs + start, stride: count, rows: rows, width: min(Self.tileWidth, count - start),
                            values: values + start, carries: carries + start, divisor: divisor, overflow: &overflow)
                    }
                }
            }
            Self.checkNoOverflow(overflow)
            limbCount = topRow == 0 ? rows - 1 : rows
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
    /// Long division of B by n from the top row down (the pop of base n), for one tile, then the
    /// multiply of the values with the popped digits.
    ///
    /// Row j's quotient lands in row j + 1: that one-row shift is the push of base d = 2^32, whose
    /// digit `multiplyDigits` writes into row 0. Returns the OR of the new top row (row `rows`)
    /// and of row 0, which decide whether the stack grew or emptied.
    @inline(__always)
    fileprivate static func multiplyTile(
        _ limbs: UnsafeMutablePointer<UInt32>, stride: Int, rows: Int, width: Int,
        values: UnsafeMutablePointer<Int64>, remainders: UnsafeMutablePointer<UInt32>,
        divisor: InformationBuffer.Divisor
    ) -> (top: UInt32, bottom: UInt32) {
        guard rows > 0 else {
            let digits = multiplyDigits(limbs, width: width, values: values, remainders: nil, divisor: divisor)
            return (0, digits)
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
        let digits = multiplyDigits(limbs, width: width, values: values, remainders: remainders, divisor: divisor)
        return (top, digits)
    }

    /// Finishes a multiply: with r = B mod n (the remainders of the long division, or 0 for an
    /// empty buffer), X = c·n + r exactly in 128 bits; X mod 2^32 is pushed into row 0 and
    /// c ← X div 2^32. Returns the OR of row 0.
    @inline(__always)
    private static func multiplyDigits(
        _ row0: UnsafeMutablePointer<UInt32>, width: Int, values: UnsafeMutablePointer<Int64>,
        remainders: UnsafeMutablePointer<UInt32>?, divisor: InformationBuffer.Divisor
    ) -> UInt32 {
        let numerator = Int64(divisor.numerator)
        var any: UInt32 = 0
        for i in 0..<width {
            let popped = UInt64(divisor.denormalize(remainders?[i] ?? 0))
            let product = values[i].multipliedFullWidth(by: numerator)
            let (low, carry) = product.low.addingReportingOverflow(popped)
            let high = product.high &+ (carry ? 1 : 0)
            let digit = UInt32(truncatingIfNeeded: low)
            row0[i] = digit
            any |= digit
            // |X| < 2^62 · 2^32, so X div 2^32 = high·2^32 + (low >> 32) fits an Int64.
            values[i] = (high &<< 32) | Int64(bitPattern: low &>> 32)
        }
        return any
    }

    /// The exact inverse of `multiplyDigits` for one value: from c' and the pushed digit,
    /// X = c'·2^32 + digit, then c = X div n and r = X mod n (floor semantics), by a three-limb
    /// long division with the reciprocal. Negative X is divided as ~X = −X − 1 ≥ 0:
    /// ⌊X/n⌋ = −1 − ⌊~X/n⌋ and X mod n = n − 1 − (~X mod n). Flags a quotient beyond Int64 range.
    @inline(__always)
    fileprivate static func unmultiply(
        _ value: Int64, digit: UInt32, divisor: InformationBuffer.Divisor, overflow: inout UInt64
    ) -> (value: Int64, remainder: UInt32) {
        let negative = value < 0
        let magnitude = UInt64(bitPattern: negative ? ~value : value)
        let low = negative ? ~digit : digit
        let (q2, r2) = divisor.step(0, UInt32(truncatingIfNeeded: magnitude &>> 32))
        let (q1, r1) = divisor.step(r2, UInt32(truncatingIfNeeded: magnitude))
        let (q0, r0) = divisor.step(r1, low)
        let quotient = UInt64(q1) &<< 32 | UInt64(q0)
        overflow |= UInt64(q2) | (quotient &>> 63)
        let remainder = divisor.denormalize(r0)
        if negative {
            return (~Int64(bitPattern: quotient), UInt32(truncatingIfNeeded: divisor.numerator) &- 1 &- remainder)
        }
        return (Int64(bitPattern: quotient), remainder)
    }

    /// Pops the digit a multiply pushed (row 0) and undoes the multiply on the values, then
    /// pushes the remainder back as `B ← (B div 2^32)·n + r`: a multiply-add with carry from
    /// row 1 up, each row landing one row down. Needs `rows ≥ 1`; returns the OR of the new top
    /// row (row `rows − 1`), which decides whether the stack shrank.
    @inline(__always)
    fileprivate static func divideTile(
        _ limbs: UnsafeMutablePointer<UInt32>, stride: Int, rows: Int, width: Int,
        values: UnsafeMutablePointer<Int64>, carries: UnsafeMutablePointer<UInt32>,
        divisor: InformationBuffer.Divisor, overflow: inout UInt64
    ) -> UInt32 {
        let n = divisor.numerator
        var any: UInt32 = 0
        for i in 0..<width {
            let (value, remainder) = unmultiply(values[i], digit: limbs[i], divisor: divisor, overflow: &overflow)
            values[i] = value
            carries[i] = remainder
        }
        guard rows > 1 else {
            // B div 2^32 = 0: the new B is the remainder alone.
            for i in 0..<width {
                limbs[i] = carries[i]
                any |= carries[i]
            }
            return any
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

    /// Traps if some `(c'·2^32 + digit) div n` did not fit in an Int64: that can only come from a
    /// divide that undoes no multiply, i.e. a bug in the caller.
    fileprivate static func checkNoOverflow(_ overflow: UInt64) {
        precondition(overflow == 0, "InformationBuffer.divide overflowed: it undoes no multiply")
    }
}
