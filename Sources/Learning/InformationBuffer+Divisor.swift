extension InformationBuffer {
    /// Exact division of two 32-bit limbs by a fixed numerator n, using a precomputed reciprocal.
    ///
    /// A buffer multiply divides every limb of every parameter of a segment by the same n, so
    /// the reciprocal is computed once per call and each limb costs two multiplies and a few adds
    /// instead of a hardware divide (Möller & Granlund, "Improved division by invariant integers",
    /// IEEE Trans. Computers 2011, algorithm 4, with 32-bit words). Remainders stay normalised,
    /// i.e. shifted left by `shift`, between the limbs of one long division.
    struct Divisor: Sendable {
        /// Left shift that sets the top bit of n.
        let shift: UInt64
        /// `n << shift`, in [2^31, 2^32).
        let normalized: UInt32
        /// `floor((2^64 − 1) / normalized) − 2^32`.
        let reciprocal: UInt32

        init(_ n: UInt64) {
            precondition(n >= 1 && n < 1 << 32, "divisor must be a 32-bit numerator")
            shift = UInt64(UInt32(n).leadingZeroBitCount)
            normalized = UInt32(n << shift)
            reciprocal = UInt32(truncatingIfNeeded: UInt64.max / UInt64(normalized) &- (1 << 32))
        }

        /// Divides `high · 2^32 + limb` by n, where `high` is a normalised remainder (`< normalized`,
        /// low `shift` bits zero). Returns the quotient (< 2^32) and the normalised remainder.
        @inline(__always)
        func step(_ high: UInt32, _ limb: UInt32) -> (quotient: UInt32, remainder: UInt32) {
            // Normalise the dividend: the bits of `limb` shifted out join `high`, which has room
            // for them because its low `shift` bits are zero.
            let wide = UInt64(limb) &<< shift
            let u1 = high | UInt32(truncatingIfNeeded: wide &>> 32)
            let u0 = UInt32(truncatingIfNeeded: wide)
            let product = UInt64(reciprocal) &* UInt64(u1) &+ (UInt64(u1) &<< 32 | UInt64(u0))
            var quotient = UInt32(truncatingIfNeeded: product &>> 32) &+ 1
            let low = UInt32(truncatingIfNeeded: product)
            var remainder = u0 &- quotient &* normalized
            // The estimate is at most one too large, or (rarely) one too small.
            if remainder > low {
                quotient &-= 1
                remainder &+= normalized
            }
            if remainder >= normalized {
                quotient &+= 1
                remainder &-= normalized
            }
            return (quotient, remainder)
        }

        /// The divisor n itself.
        @inline(__always)
        var numerator: UInt64 { UInt64(normalized) &>> shift }

        /// A normalised remainder as the true remainder in [0, n).
        @inline(__always)
        func denormalize(_ remainder: UInt32) -> UInt32 { remainder &>> UInt32(shift) }
    }
}
