/// A small, fast, seedable generator (SplitMix64) with Gaussian draws.
///
/// Everything random in training — initial weights, minibatches — comes from one of these seeded by
/// a hash of (job seed, meta-iteration, step), so a run is a pure function of its spec and the
/// reverse pass can redraw the exact minibatch of any step.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// A generator for a tuple of integers, e.g. (seed, meta-iteration, step): each component is
    /// mixed in turn, so nearby tuples give unrelated streams.
    public init(mixing components: UInt64...) {
        var mixed: UInt64 = 0x52_65_77_69_6E_64  // "Rewind"
        for component in components {
            mixed = SplitMix64.finalize(mixed ^ SplitMix64.finalize(component &+ 0x9E37_79B9_7F4A_7C15))
        }
        state = mixed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.finalize(state)
    }

    /// A uniform draw in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal draw (Marsaglia's polar method; one of the pair is discarded to keep the
    /// stream simple).
    ///
    /// Only `+ − × ÷`, the correctly rounded square root and `PortableMath.log`: libm's log and cos
    /// may differ in the last bit between CPUs, and initial weights must not.
    public mutating func nextGaussian() -> Double {
        while true {
            let u = 2 * nextUnit() - 1, v = 2 * nextUnit() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 { return u * (-2 * PortableMath.log(s) / s).squareRoot() }
        }
    }

    /// A uniform integer in 0..<bound without modulo bias (Lemire's method).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold {
                product = next().multipliedFullWidth(by: b)
            }
        }
        return Int(product.high)
    }

    @inline(__always)
    private static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
