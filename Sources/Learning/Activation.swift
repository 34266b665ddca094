import CBufferKernels

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
    /// Whether the forward pass stores φ' for the passes after it. Relu does not: its φ' is 1
    /// exactly where its output is positive and 0 elsewhere, which `Network.timesDerivative` reads
    /// off the output (its forward pass is `rectify`, its R-backward pass that product alone).
    var storesDerivative: Bool { self != .relu }

    /// Whether `forward` runs tanh through the AVX2 transcription of `PortableMath.tanh`.
    static let vectorTanhAvailable = rewind_activation_kernels_available() != 0

    /// z ← φ(z) in place and derivative ← φ'(z), over `count` elements (activations that store φ').
    func forward(
        _ z: UnsafeMutablePointer<Double>, derivative: UnsafeMutablePointer<Double>, count: Int
    ) {
        switch self {
        case .tanh:
            // The same lanes four to an AVX2 instruction where the CPU has it (the same bits:
            // PortableMathTests), else two to an SSE2 one.
            if Self.vectorTanhAvailable {
                rewind_tanh_forward(z, derivative, Int64(count))
            } else {
                Self.portableTanh(z, derivative: derivative, count: count)
            }
        case .relu:
            preconditionFailure("Activation.forward: relu stores no derivative; its forward pass is rectify")
        case .sigmoid:
            PortableMath.forEachVector(z, count: count) { lanes, start, valid in
                let a = PortableMath.sigmoid(lanes)
                PortableMath.store(a, to: z, at: start, valid: valid)
                PortableMath.store(a * (1 - a), to: derivative, at: start, valid: valid)
            }
        }
    }

    /// `forward` for tanh in Swift's four-lane vectors: what every CPU without AVX2 runs, and the
    /// reference the AVX2 kernel must match bit for bit.
    static func portableTanh(_ z: UnsafeMutablePointer<Double>, derivative: UnsafeMutablePointer<Double>, count: Int) {
        PortableMath.forEachVector(z, count: count) { lanes, start, valid in
            let a = PortableMath.tanh(lanes)
            PortableMath.store(a, to: z, at: start, valid: valid)
            PortableMath.store(1 - a * a, to: derivative, at: start, valid: valid)
        }
    }

    /// The AVX2 kernel itself (only where `vectorTanhAvailable`).
    static func vectorTanh(_ z: UnsafeMutablePointer<Double>, derivative: UnsafeMutablePointer<Double>, count: Int) {
        precondition(vectorTanhAvailable, "vectorTanh: this CPU has no AVX2")
        rewind_tanh_forward(z, derivative, Int64(count))
    }

    /// R{δ} ← R{δ'}⊙φ' + δ'⊙φ''⊙R{z} in place over `count` elements, where `rDelta` holds R{δ'}
    /// on entry; `activation` is a = φ(z), `derivative` is φ', `upstream` is δ' (activations that
    /// store φ'; relu's φ'' is 0 away from the kink, so its R{δ} is R{δ'}⊙φ' alone).
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
            preconditionFailure("Activation.rBackward: relu stores no derivative; see Network.timesDerivative")
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
