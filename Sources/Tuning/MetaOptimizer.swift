/// The outer-loop optimiser over the unconstrained hyperparameter vector u.
///
/// Its whole state (moments and step count) is `Codable`, so a checkpoint can store it and a
/// resumed job continues bit for bit: every update is plain IEEE arithmetic in a fixed order, and
/// the bias corrections use repeated squaring rather than `pow`, whose last bit may vary by libm.
public struct MetaOptimizer: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Standard Adam (Kingma & Ba): β1 0.9, β2 0.999, ε 1e-8, with bias correction.
        case adam
        /// Heavy-ball momentum 0.9: m ← 0.9·m + g; u ← u − step·m.
        case sgd
    }

    public static let beta1 = 0.9
    public static let beta2 = 0.999
    public static let epsilon = 1e-8
    public static let sgdMomentum = 0.9

    public let kind: Kind
    public let stepSize: Double
    /// Adam's first moment, or SGD's momentum buffer.  // (count)
    public private(set) var firstMoment: [Double]
    /// Adam's second moment; empty for SGD.  // (count)
    public private(set) var secondMoment: [Double]
    /// Updates taken so far.
    public private(set) var steps: Int

    public init(kind: Kind, stepSize: Double, count: Int) {
        self.kind = kind
        self.stepSize = stepSize
        firstMoment = Array(repeating: 0, count: count)
        secondMoment = kind == .adam ? Array(repeating: 0, count: count) : []
        steps = 0
    }

    /// Moves `u` downhill along `gradient`; entries where `mask` is false never move (and keep zero
    /// moments, so learning them later would start fresh). `scale` multiplies the step size (the
    /// guard's backtracking); at 1 the arithmetic is exactly the unscaled update.
    public mutating func step(_ u: inout [Double], gradient: [Double], mask: [Bool], scale: Double = 1) {
        precondition(
            u.count == firstMoment.count && gradient.count == u.count && mask.count == u.count,
            "meta-optimiser sizes differ: u \(u.count), gradient \(gradient.count), mask \(mask.count), state \(firstMoment.count)"
        )
        steps += 1
        let stepSize = self.stepSize * scale
        switch kind {
        case .sgd:
            for index in u.indices where mask[index] {
                firstMoment[index] = Self.sgdMomentum * firstMoment[index] + gradient[index]
                u[index] -= stepSize * firstMoment[index]
            }
        case .adam:
            let correction1 = 1 - Self.power(Self.beta1, steps)
            let correction2 = 1 - Self.power(Self.beta2, steps)
            for index in u.indices where mask[index] {
                let g = gradient[index]
                firstMoment[index] = Self.beta1 * firstMoment[index] + (1 - Self.beta1) * g
                secondMoment[index] = Self.beta2 * secondMoment[index] + (1 - Self.beta2) * g * g
                let mHat = firstMoment[index] / correction1
                let vHat = secondMoment[index] / correction2
                u[index] -= stepSize * mHat / (vHat.squareRoot() + Self.epsilon)
            }
        }
    }

    /// base^exponent by repeated squaring: deterministic on every platform.
    static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0, factor = base, remaining = exponent
        while remaining > 0 {
            if remaining & 1 == 1 { result *= factor }
            factor *= factor
            remaining >>= 1
        }
        return result
    }
}
