/// exp and log of the project's own: the same bits on every x86-64 and arm64 CPU, four lanes at a
/// time, within 2 ulp of the correctly rounded result over the whole double range.
///
/// Why not libm: glibc picks an FMA or a plain variant of exp, log and tanh at load time by CPU, and
/// the two can differ in the last bit; reversible training is chaotic, so one ulp on one machine
/// becomes a different hyperparameter history on another. Everything here is IEEE-754 `+ − × ÷`
/// in round-to-nearest, written so that no operation can be fused: Swift does not contract `a*b + c`
/// into an FMA (no fast-math), and there is no dispatch on CPU features. A SIMD lane and a scalar
/// call therefore compute exactly the same function, whatever width the compiler picks.
///
/// The polynomials are Chebyshev interpolants computed for this file (60-digit arithmetic, then
/// rounded to double); each comment gives the interval and the truncation error, far below the
/// rounding of the surrounding operations. Accuracy is tested against Float80 libm on millions of
/// points (`PortableMathTests`).
public enum PortableMath {
    public typealias Vector = SIMD4<Double>
    typealias Bits = SIMD4<UInt64>
    typealias Integers = SIMD4<Int64>

    // ln 2 split so that k·ln2Hi is exact for |k| < 2^21 (ln2Hi has 32 significant bits).
    static let ln2Hi = 0x1.62e42fee00000p-1
    static let ln2Lo = 0x1.a39ef35793c76p-33
    static let log2e = 0x1.71547652b82fep+0
    /// 1.5·2^52: adding it to |y| < 2^51 rounds y to the nearest integer, which then sits in the
    /// low mantissa bits (no float-to-int instruction needed, none of SSE2's is exact here).
    static let shifter = 0x1.8p52
    static let signBit: UInt64 = 1 << 63

    @inline(__always) static func bits(_ v: Vector) -> Bits { unsafeBitCast(v, to: Bits.self) }
    @inline(__always) static func vector(_ b: Bits) -> Vector { unsafeBitCast(b, to: Vector.self) }
    @inline(__always) static func magnitude(_ v: Vector) -> Vector { vector(bits(v) & ~Bits(repeating: signBit)) }

    /// 2^k for integers k in [-1022, 1023].
    @inline(__always)
    static func power2(_ k: Integers) -> Vector {
        vector(unsafeBitCast((k &+ 1023) &<< 52, to: Bits.self))
    }

    // MARK: exp

    /// e^x lane by lane: ±0 → 1, −∞ and x < −745.14 → +0, +∞ and x > 709.79 → +∞, NaN → NaN,
    /// subnormal results rounded once.
    ///
    /// x = k·ln2 + r with |r| ≤ ln2/2 (Cody–Waite: r = hi − lo, hi exact), e^r = 1 + r + r²·S(r),
    /// and the result 2^k·e^r scaled in two exact-then-rounding steps so that neither 2^k1 nor 2^k2
    /// leaves the normal range while the product underflows or overflows correctly.
    @inline(__always)
    public static func exp(_ x: Vector) -> Vector { expParts(x).high }

    /// e^x as an unevaluated sum high + low, high being `exp(x)` and low the next ~50 bits of
    /// e^x (for callers that would otherwise lose e^x's final rounding, e.g. the sigmoid).
    @inline(__always)
    static func expParts(_ x: Vector) -> (high: Vector, low: Vector) {
        // Keep k within [-1097, 1039]; results there are already 0 or ∞. NaN fails both tests.
        var xc = x.replacing(with: 720, where: x .> 720)
        xc = xc.replacing(with: -760, where: xc .< -760)
        let shifted = xc * log2e + shifter
        let kd = shifted - shifter
        let hi = xc - kd * ln2Hi  // exact: kd·ln2Hi is exact and close to xc (Sterbenz)
        let lo = kd * ln2Lo
        let r = hi - lo
        let tail = r * r * expTail(r) - lo
        // e^r − 1 = hi + tail = p + pLow exactly (TwoSum), then 1 + p = y + yLow (Fast2Sum).
        let p = hi + tail
        let pRounded = p - hi
        let pLow = (hi - (p - pRounded)) + (tail - pRounded)
        let y = 1 + p
        let yLow = ((1 - y) + p) + pLow
        let k = unsafeBitCast(bits(shifted) &- bits(Vector(repeating: shifter)), to: Integers.self)
        let k1 = k &>> 1
        let scale1 = power2(k1), scale2 = power2(k &- k1)
        return (y * scale1 * scale2, yLow * scale1 * scale2)
    }

    /// S(r) = (e^r − 1 − r)/r² on |r| ≤ ln2/2 + 1e-6; interpolation error < 0.004·2^-53 in r²·S.
    @inline(__always)
    static func expTail(_ r: Vector) -> Vector {
        var s = Vector(repeating: 0x1.61bfa26897079p-33)
        s = s * r + 0x1.1f7f20380f743p-29
        s = s * r + 0x1.ae642c871071fp-26
        s = s * r + 0x1.27e4d41d518c8p-22
        s = s * r + 0x1.71de3a5aa6f3ap-19
        s = s * r + 0x1.a01a01a9e81b0p-16
        s = s * r + 0x1.a01a01a0196aep-13
        s = s * r + 0x1.6c16c16c15a6cp-10
        s = s * r + 0x1.1111111111111p-7
        s = s * r + 0x1.5555555555557p-5
        s = s * r + 0x1.5555555555555p-3
        return s * r + 0x1.0000000000000p-1
    }

    // MARK: log

    /// Natural logarithm lane by lane: +0 and −0 → −∞, x < 0 → NaN, +∞ → +∞, NaN → NaN.
    ///
    /// x = 2^k·m with m in [√2/2, √2), f = m − 1, s = f/(2 + f), and
    /// log(1 + f) = f − f²/2 + s·(f²/2 + R(s²)), the form that keeps the large terms exact.
    @inline(__always)
    public static func log(_ x: Vector) -> Vector {
        // Subnormals: scale by 2^54 first (negative inputs and zero are replaced below anyway).
        let tiny = x .< 0x1p-1022
        let scaled = x.replacing(with: x * 0x1p54, where: tiny)
        let raw = bits(scaled)
        var exponent = unsafeBitCast(raw &>> 52, to: Integers.self) &- 1023
        exponent.replace(with: exponent &- 54, where: tiny)
        var m = vector((raw & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)  // [1, 2)
        let halve = m .> 0x1.6a09e667f3bcdp+0  // √2
        m.replace(with: m * 0.5, where: halve)
        exponent.replace(with: exponent &+ 1, where: halve)
        // The integer exponent as a Double, by the same shifter trick in reverse.
        let kd = vector(bits(Vector(repeating: shifter)) &+ unsafeBitCast(exponent, to: Bits.self)) - shifter
        let f = m - 1  // exact (Sterbenz)
        let halfSquare = 0.5 * f * f
        let s = f / (2 + f)
        let z = s * s
        let r = z * logTail(z)
        var result = kd * ln2Hi - ((halfSquare - (s * (halfSquare + r) + kd * ln2Lo)) - f)
        result.replace(with: .infinity, where: x .== .infinity)
        result.replace(with: -.infinity, where: x .== 0)
        result.replace(with: .nan, where: x .< 0)
        result.replace(with: x, where: x .!= x)
        return result
    }

    /// P(z) = 2(atanh(√z)/√z − 1)/z on 0 ≤ z ≤ ((√2 − 1)/(√2 + 1))²; error < 0.02·2^-53 in s·z·P.
    @inline(__always)
    static func logTail(_ z: Vector) -> Vector {
        var p = Vector(repeating: 0x1.2b584c80de001p-3)
        p = p * z + 0x1.39fe603f8739ep-3
        p = p * z + 0x1.7462b4ac51915p-3
        p = p * z + 0x1.c71c62e57c0cfp-3
        p = p * z + 0x1.2492492df14bfp-2
        p = p * z + 0x1.99999999952e2p-2
        return p * z + 0x1.5555555555558p-1
    }

    // MARK: Scalars

    /// e^x, the same bits as a lane of `exp(_: Vector)`.
    public static func exp(_ x: Double) -> Double { exp(Vector(repeating: x))[0] }

    /// log x, the same bits as a lane of `log(_: Vector)`.
    public static func log(_ x: Double) -> Double { log(Vector(repeating: x))[0] }
}
