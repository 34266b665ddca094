#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small, fast, reproducible random number generator (SplitMix64) for tests with fixed seeds.
///
/// The system generator cannot be seeded; tests need the same numbers on every run and machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fully determined by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits (SplitMix64: a Weyl sequence through a 64-bit finaliser).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal deviate by the Box–Muller transform (one of the pair; simple over fast).
    public mutating func nextGaussian() -> Double {
        // 1 − u lies in (0, 1], so the logarithm stays finite.
        let u1 = 1 - nextUniform()
        let u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// `count` standard normal deviates, each multiplied by `scale`.
    public mutating func gaussians(_ count: Int, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in scale * nextGaussian() }
    }
}
