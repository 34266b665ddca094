/// The exact number format of the reversible trainer: `value = raw / 2^52` held in an `Int64`.
///
/// Weights and velocities live as raw integers so that every forward step can be undone bit for
/// bit. Only magnitudes below `rawLimit / scale` = 1024 are representable; a trainer that meets a
/// larger value has diverged and must say so rather than wrap (see docs/method.md).
public enum FixedPoint {
    /// Number of fractional bits of the raw representation.
    public static let fractionBits: Int = 52
    /// `2^fractionBits`, the factor between a value and its raw integer.
    public static let scale: Double = 0x1p52
    /// Exclusive bound on `|raw|`. Keeping two bits of headroom below `Int64.max` lets the momentum
    /// multiply and the information buffer work on any representable value without overflow.
    public static let rawLimit: Int64 = 1 << 62

    /// The raw integer of `x`, truncated toward zero; nil if `x` is not finite or out of range.
    ///
    /// Truncation (not floor) makes the conversion odd-symmetric, `raw(-x) == -raw(x)`, so a
    /// decrement computed from a Double undoes the matching increment exactly (docs/method.md).
    @inlinable
    public static func raw(_ x: Double) -> Int64? {
        guard x.isFinite else { return nil }
        // Multiplying by a power of two is exact here: |x| < 2^10 is required anyway, so no
        // overflow, and subnormal inputs only lose bits that truncation would discard.
        // Int64(_:) truncates toward zero itself, and |trunc(y)| < 2^62 exactly when |y| < 2^62, so
        // no separate rounding call is needed (it was a libm call per parameter and step).
        let scaled = x * scale
        guard scaled.magnitude < Double(rawLimit) else { return nil }
        return Int64(scaled)
    }

    /// The Double nearest to `raw / 2^52` (exact whenever `|raw| < 2^53`).
    @inlinable
    public static func value(_ raw: Int64) -> Double {
        Double(raw) * (1 / scale)
    }
}

/// Floor division and modulo for a positive divisor: `a == quotient * b + remainder`, `0 ≤ remainder < b`.
///
/// Swift's `/` and `%` truncate toward zero, which would make the momentum multiply of a negative
/// value disagree with its inverse; the exact arithmetic needs the floor pair throughout.
@inlinable
public func floorDivMod(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
    precondition(b > 0, "floorDivMod needs a positive divisor")
    let quotient = a / b
    let remainder = a % b
    // A negative remainder means truncation rounded the quotient up; step it down one.
    return remainder < 0 ? (quotient - 1, remainder + b) : (quotient, remainder)
}
