extension InformationBuffer {
    /// The buffers B of one segment's parameters: one big non-negative integer per parameter,
    /// stored as 32-bit limbs, limb-major, so every inner loop runs over parameters.
    ///
    /// Invariant: rows `0..<limbCount` hold the digits, and unless `limbCount == 0` some parameter
    /// has a non-zero top row. A multiply adds at most one row and a divide removes at most one,
    /// so checking the top row after each step keeps the count exact and the work per step
    /// proportional to the bits actually held.
    struct LimbStack: Sendable {
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
        ///
        /// Long division of `B·2^32 + (c mod 2^32)` by n from the top row down: row j's quotient
        /// lands in row j + 1 (the push of base d is that one-row shift), the digit's in row 0,
        /// and the final remainder is the digit popped into c.
        mutating func multiply(_ values: UnsafeMutablePointer<Int64>, by n: UInt64) {
            guard count > 0 else { return }
            let rows = limbCount
            reserve(rows: rows + 1)
            let divisor = Divisor(n)
            let count = self.count
            let numerator = Int64(n)
            var topRow: UInt32 = 0
            limbs.withUnsafeMutableBufferPointer { limbBuffer in
                carries.withUnsafeMutableBufferPointer { carryBuffer in
                    let limbs = limbBuffer.baseAddress!
                    let remainders = carryBuffer.baseAddress!
                    if rows > 0 {
                        // The top row starts the division with a zero remainder.
                        let source = limbs + (rows - 1) * count
                        let target = limbs + rows * count
                        for i in 0..<count {
                            let (q, r) = divisor.step(0, source[i])
                            target[i] = q
                            remainders[i] = r
                            topRow |= q
                        }
                        for row in stride(from: rows - 2, through: 0, by: -1) {
                            let source = limbs + row * count
                            let target = source + count
                            for i in 0..<count {
                                let (q, r) = divisor.step(remainders[i], source[i])
                                target[i] = q
                                remainders[i] = r
                            }
                        }
                    } else {
                        remainders.update(repeating: 0, count: count)
                    }
                    for i in 0..<count {
                        let c = values[i]
                        let (q, r) = divisor.step(remainders[i], UInt32(truncatingIfNeeded: c))
                        limbs[i] = q
                        if rows == 0 { topRow |= q }
                        // (c >> 32)·n + r cannot overflow for any Int64 c: |c >> 32| ≤ 2^31, n < 2^32.
                        values[i] = (c &>> 32) &* numerator &+ Int64(divisor.denormalize(r))
                    }
                }
            }
            if topRow != 0 { limbCount = rows + 1 }
        }

        /// The exact inverse of the latest `multiply`: `c ← c·d/n`, popping the digit it pushed.
        ///
        /// `B·n + (c mod n)` is a multiply-add with carry from the bottom row up; its bottom row
        /// is the digit that returns to c, and dropping it (the pop of base d) is writing each
        /// row's low half one row down.
        mutating func divide(_ values: UnsafeMutablePointer<Int64>, by n: UInt64) {
            guard count > 0 else { return }
            let rows = limbCount
            let count = self.count
            let numerator = Int64(n)
            let factor = UInt64(n)
            var overflow: UInt64 = 0
            var topRow: UInt32 = 0
            limbs.withUnsafeMutableBufferPointer { limbBuffer in
                carries.withUnsafeMutableBufferPointer { carryBuffer in
                    let limbs = limbBuffer.baseAddress
                    let carries = carryBuffer.baseAddress!
                    // Row 0 (or the bare remainder when B is empty) gives the digit back to c.
                    for i in 0..<count {
                        let (quotient, remainder) = floorDivMod(values[i], numerator)
                        let digit: UInt32
                        if rows == 0 {
                            digit = UInt32(truncatingIfNeeded: remainder)
                        } else {
                            let t = UInt64(limbs![i]) &* factor &+ UInt64(remainder)
                            digit = UInt32(truncatingIfNeeded: t)
                            let carry = UInt32(truncatingIfNeeded: t &>> 32)
                            if rows == 1 {
                                limbs![i] = carry
                                topRow |= carry
                            } else {
                                carries[i] = carry
                            }
                        }
                        // quotient·2^32 must fit: a value out of range here means the history
                        // was not a valid multiply sequence, i.e. a bug in the caller.
                        let shifted = quotient &<< 32
                        overflow |= UInt64(bitPattern: (shifted &>> 32) ^ quotient)
                        values[i] = shifted | Int64(digit)
                    }
                    guard rows > 1, let limbs else { return }
                    for row in 1..<rows {
                        let source = limbs + row * count
                        let below = source - count
                        let last = row == rows - 1
                        for i in 0..<count {
                            let t = UInt64(source[i]) &* factor &+ UInt64(carries[i])
                            below[i] = UInt32(truncatingIfNeeded: t)
                            let carry = UInt32(truncatingIfNeeded: t &>> 32)
                            if last {
                                source[i] = carry
                                topRow |= carry
                            } else {
                                carries[i] = carry
                            }
                        }
                    }
                }
            }
            precondition(overflow == 0, "InformationBuffer.divide overflowed: not the inverse of a multiply")
            if rows > 0 && topRow == 0 { limbCount = rows - 1 }
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
