/// The element-wise nonlinearity of the hidden layers (the output layer is always softmax).
public enum Activation: String, Sendable, Codable, CaseIterable {
    case tanh, relu, sigmoid
}

// The three passes of a network need one fused element-wise loop per activation layer. The switch
// sits outside the loops so each loop body is straight-line code the compiler can vectorise.
// Derivatives are expressed through the activation a = φ(z) and φ' (stored once in the forward
// pass), so no pass evaluates a transcendental function twice. tanh and the sigmoid are
// `PortableMath`'s, never libm's, so the same inputs give the same bits on every CPU.
extension Activation {
    /// z ← φ(z) in place and derivative ← φ'(z), over `count` elements.
    func forward(
        _ z: UnsafeMutablePointer<Double>, derivative: UnsafeMutablePointer<Double>, count: Int
    ) {
        switch self {
        case .tanh:
            PortableMath.forEachVector(z, count: count) { lanes, start, valid in
                let a = PortableMath.tanh(lanes)
                PortableMath.store(a, to: z, at: start, valid: valid)
                PortableMath.store(1 - a * a, to: derivative, at: start, valid: valid)
            }
        case .relu:
            for i in 0..<count {
                let positive = z[i] > 0
                z[i] = positive ? z[i] : 0
                derivative[i] = positive ? 1 : 0
            }
        case .sigmoid:
            PortableMath.forEachVector(z, count: count) { lanes, start, valid in
                let a = PortableMath.sigmoid(lanes)
                PortableMath.store(a, to: z, at: start, valid: valid)
                PortableMath.store(a * (1 - a), to: derivative, at: start, valid: valid)
            }
        }
    }

    /// R{δ} ← R{δ'}⊙φ' + δ'⊙φ''⊙R{z} in place over `count` elements, where `rDelta` holds R{δ'}
    /// on entry; `activation` is a = φ(z), `derivative` is φ', `upstream` is δ'.
    func rBackward(
        _ rDelta: UnsafeMutablePointer<Double>, activation: UnsafePointer<Double>,
        derivative: UnsafePointer<Double>, upstream: UnsafePointer<Double>,
        rPreactivation: UnsafePointer<Double>, count: Int
    ) {
        switch self {
        case .tanh:
            // φ'' = −2a(1 − a²) = −2a·φ'
            for i in 0..<count {
                let d = derivative[i]
                let second = -2 * activation[i] * d
                rDelta[i] = rDelta[i] * d + upstream[i] * second * rPreactivation[i]
            }
        case .relu:
            // φ'' = 0 away from the kink
            for i in 0..<count { rDelta[i] *= derivative[i] }
        case .sigmoid:
            // φ'' = a(1 − a)(1 − 2a) = φ'·(1 − 2a)
            for i in 0..<count {
                let d = derivative[i]
                let second = d * (1 - 2 * activation[i])
                rDelta[i] = rDelta[i] * d + upstream[i] * second * rPreactivation[i]
            }
        }
    }
}
