extension InformationBuffer {
    /// Exact division by a fixed 32-bit numerator n of any x < n·2^64, with a precomputed
    /// reciprocal.
    ///
    /// A call divides every parameter of a segment by the same n, so the reciprocal is computed
    /// once per call and each division costs two multiplies and a few adds instead of a hardware
    /// divide (Möller & Granlund, "Improved division by invariant integers", IEEE Trans.
    /// Computers 2011, algorithm 4, with 64-bit words). n is normalised to D = n·2^shift with
    /// the top bit of a 64-bit word set; x is shifted alike, which keeps its top word below D.
    struct Divisor: Sendable {
        /// The divisor n itself.
        let numerator: UInt64
        /// Left shift that sets the top bit of a 64-bit word: 32 + the leading zeros of n.
        let shift: Int
        /// `n << shift`, in [2^63, 2^64).
        let normalized: UInt64
        /// `floor((2^128 − 1) / normalized) − 2^64`.
        let reciprocal: UInt64

        init(_ n: UInt64) {
            precondition(n >= 1 && n < 1 << 32, "divisor must be a 32-bit numerator")
            numerator = n
            shift = 32 + UInt32(n).leadingZeroBitCount
            normalized = n << shift
            // ⌊(2^128 − 1)/D⌋ − 2^64 = ⌊(~D·2^64 + 2^64 − 1)/D⌋: one 128-by-64-bit division (with
            // ~D < D), cheap enough to build a divisor per parameter for per-parameter factors.
            reciprocal = normalized.dividingFullWidth((high: ~normalized, low: UInt64.max)).quotient
        }

        /// `(x div n, x mod n)` for `x < n·2^64`.
        @inline(__always)
        func divide(_ x: UInt128) -> (quotient: UInt64, remainder: UInt64) {
            let shifted = x &<< shift
            let u1 = UInt64(truncatingIfNeeded: shifted &>> 64)
            let u0 = UInt64(truncatingIfNeeded: shifted)
            let product = reciprocal.multipliedFullWidth(by: u1)
            let (q0, carry) = product.low.addingReportingOverflow(u0)
            var quotient = product.high &+ u1 &+ (carry ? 1 : 0) &+ 1
            var remainder = u0 &- quotient &* normalized
            // The estimate is at most one too large, or (rarely) one too small.
            if remainder > q0 {
                quotient &-= 1
                remainder &+= normalized
            }
            if remainder >= normalized {
                quotient &+= 1
                remainder &-= normalized
            }
            return (quotient, remainder &>> shift)
        }
    }
}
