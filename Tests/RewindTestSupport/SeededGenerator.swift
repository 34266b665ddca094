import Learning

/// The reproducible generator of the tests: the same SplitMix64 that seeds training, so tests need
/// no second implementation.
public typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        nextUnit()
    }

    /// `count` standard normal deviates, each multiplied by `scale`.
    public mutating func gaussians(_ count: Int, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in scale * nextGaussian() }
    }

    /// A uniform double in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUnit()
    }
}
