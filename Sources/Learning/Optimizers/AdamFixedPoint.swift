/// The fixed-point format of Adam's second moment v: `value = raw / 2^100` in a `UInt128`.
///
/// v is a running mean of g², so it spans the squares of every gradient scale a run meets: from
/// (1e-8)² and below for a parameter that barely moves to hundreds for a steep one. The 52-bit
/// format of w would round (1 − β2)·g² to zero for every |g| below ~5e-7 at β2 = 0.999,
/// leaving √v̂ to ε alone. Here v has 100 fractional bits and values below 2^20: an increment
/// (1 − β2)·g² registers for |g| down to ~3e-14, and |g| up to ~1000 fits. It costs 16 bytes a
/// parameter instead of 8 and no information-buffer bits: the buffer only ever sees v's low 32-bit
/// word (see `ReversibleAdam`), so it stores the same log2(1/β2) bits a step as for a narrow v.
public enum AdamVariance {
    /// Fractional bits of the raw representation.
    public static let fractionBits = 100
    /// Exclusive bound on the raw value: v < 2^20. With n < 2^32 every product v·n fits 128 bits.
    public static let rawLimit: UInt128 = 1 << 120

    /// The raw integer of `x ≥ 0`, truncated toward zero; nil unless finite, ≥ 0 and in range.
    ///
    /// Split into two 64-bit halves by hand: the library's generic Double ↔ UInt128 conversions
    /// were most of the Adam step's time. Every operation here is exact.
    @inlinable @inline(__always)
    public static func raw(_ x: Double) -> UInt128? {
        guard x.isFinite, x >= 0 else { return nil }
        // high = ⌊x·2^36⌋ (UInt64(_:) truncates), then the fraction x·2^36 − high, exact in a
        // Double, times 2^64 is the low word: ⌊x·2^100⌋ without a libm rounding call.
        let upper = x * 0x1p36
        guard upper < 0x1p56 else { return nil }
        let high = UInt64(upper)
        let low = UInt64((upper - Double(high)) * 0x1p64)
        return UInt128(high) << 64 | UInt128(low)
    }

    /// (x div n, x mod n) for n in [1, 2^32).
    public static func divMod(_ x: UInt128, _ n: UInt64) -> (quotient: UInt128, remainder: UInt64) {
        divMod(x, by: InformationBuffer.Divisor(n))
    }

    /// `divMod` by a divisor whose reciprocal is computed once per block: two 128-by-64-bit
    /// steps, each two multiplies (a generic 128-bit division was a fifth of the reverse step's
    /// own work, and even the hardware's 128-by-64-bit divide costs tens of cycles).
    @inline(__always)
    static func divMod(_ x: UInt128, by divisor: InformationBuffer.Divisor) -> (quotient: UInt128, remainder: UInt64) {
        let (upper, carry) = divisor.divide(x >> 64)
        let (lower, rest) = divisor.divide(UInt128(carry) << 64 | (x & UInt128(UInt64.max)))
        return (UInt128(upper) << 64 | UInt128(lower), rest)
    }

    /// `raw / 2^100` as a Double, from the two 64-bit halves (within 2 ulp; the same bits every
    /// time, which is all exactness needs).
    @inlinable @inline(__always)
    public static func value(_ raw: UInt128) -> Double {
        Double(UInt64(truncatingIfNeeded: raw >> 64)) * 0x1p-36 + Double(UInt64(truncatingIfNeeded: raw)) * 0x1p-100
    }
}

/// The fixed-point format of Adam's first moment m: `value = raw / 2^100` in an `Int128`.
///
/// m is a running mean of g, so for a parameter whose gradients are small (a first-layer weight of
/// a pixel that is rarely on, whose gradient is mostly λ·w) it is small too, and Adam divides it by
/// √v̂ + ε ≪ 1: on the 2^-52 grid of w, one grid step of m moved such a parameter's update by
/// ~2e-16 / |g| of itself, every step (2e-9 at |g| ~ 1e-7), and hypergradients that sum over those
/// parameters (ε, L2, the initial scales, w_1) differed from a float64 Adam by up to ~3e-8 at
/// ε = 1e-8. With v's 100 fractional bits (grid ~7.9e-31) that drops below 1e-20 of the update.
/// |m| < 2^20 as for v; the buffer works on its low 32-bit word exactly as for v (see
/// `ReversibleAdam`), so it costs 8 bytes a parameter and no buffer bits.
public enum AdamMoment {
    /// Exclusive bound on |raw|: |m| < 2^20. With n < 2^32, (m div 2^32)·n fits 128 bits.
    public static let rawLimit: UInt128 = AdamVariance.rawLimit

    /// The raw integer of `x`, truncated toward zero (so `raw(-x) == -raw(x)`, and a subtracted
    /// increment undoes an added one exactly); nil unless finite and in range.
    @inlinable @inline(__always)
    public static func raw(_ x: Double) -> Int128? {
        guard let magnitude = AdamVariance.raw(x.magnitude), magnitude < rawLimit else { return nil }
        return x < 0 ? 0 &- Int128(magnitude) : Int128(magnitude)
    }

    /// `raw / 2^100` as a Double, from the magnitude's two 64-bit halves (within 2 ulp, however
    /// close to 0; the same bits every time).
    @inlinable @inline(__always)
    public static func value(_ raw: Int128) -> Double {
        raw < 0 ? -AdamVariance.value(raw.magnitude) : AdamVariance.value(UInt128(raw))
    }

    /// (x div n, x mod n) with floor semantics for n in [1, 2^32), in two 128-by-64-bit steps; a
    /// negative x is divided as ~x = −x − 1 ≥ 0: ⌊x/n⌋ = −1 − ⌊~x/n⌋, x mod n = n − 1 − (~x mod n).
    public static func floorDivMod(_ x: Int128, _ n: UInt64) -> (quotient: Int128, remainder: UInt64) {
        floorDivMod(x, by: InformationBuffer.Divisor(n))
    }

    /// `floorDivMod` by a precomputed divisor (see `AdamVariance.divMod(_:by:)`).
    @inline(__always)
    static func floorDivMod(_ x: Int128, by divisor: InformationBuffer.Divisor) -> (quotient: Int128, remainder: UInt64)
    {
        let negative = x < 0
        let (quotient, remainder) = AdamVariance.divMod(UInt128(negative ? ~x : x), by: divisor)
        return negative
            ? (~Int128(quotient), divisor.numerator &- 1 &- remainder) : (Int128(quotient), remainder)
    }
}
