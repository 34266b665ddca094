import Foundation

/// A momentum γ in (0, 1) as the exact rational `n / 2^32` that the dynamics really apply.
///
/// The reversible trainer cannot multiply by a Double exactly, so γ is replaced by the nearest
/// fraction with denominator `d = 2^32`. The difference from the requested γ is at most 2^-33
/// (~1.2e-10); the reverse pass must use `value`, not the requested γ, in every formula.
public struct RationalFactor: Sendable, Hashable {
    /// `log2 d`: the denominator is `2^32`, so the buffer's digits of base d are whole 32-bit words.
    public static let denominatorBits: Int = 32

    /// The numerator n, `1 ≤ n < 2^32`.
    public let numerator: UInt64

    /// The nearest rational `n / 2^32` to `gamma`; nil unless `gamma` is finite and in (0, 1).
    ///
    /// n is clamped to `[1, 2^32 − 1]` so that a γ within 2^-33 of 0 or 1 still yields a factor
    /// that destroys (and so stores) information, rather than the identity or zero.
    public init?(approximating gamma: Double) {
        guard gamma.isFinite, gamma > 0, gamma < 1 else { return nil }
        let nearest = (gamma * 0x1p32).rounded(.toNearestOrAwayFromZero)
        let upper = Double(UInt64(1) << Self.denominatorBits - 1)
        self.numerator = UInt64(min(max(nearest, 1), upper))
    }

    /// The factor `numerator / 2^32`; `numerator` must be in `[1, 2^32)`.
    public init(numerator: UInt64) {
        precondition(
            numerator >= 1 && numerator < UInt64(1) << Self.denominatorBits,
            "RationalFactor numerator must be in [1, 2^32)")
        self.numerator = numerator
    }

    /// `n / 2^32`, exact in Double since n has at most 32 significant bits.
    public var value: Double { Double(numerator) * 0x1p-32 }

    /// `log2(2^32 / n)`: the bits per parameter a multiply by this factor adds to the buffer.
    public var bitsLost: Double { Double(Self.denominatorBits) - log2(Double(numerator)) }
}
