// The per-parameter passes of the reverse step (see `RunState.reverse`), each over one range of
// one block so that a `WorkerTeam` can give each thread half of every block. Each returns its
// range's part of a block's inner product; the caller adds the two halves in a fixed order.
extension RunState {
    @inline(__always)
    static func position(scratch: TrainerScratch, range: Range<Int>, learningRate alpha: Double) -> Double {
        let w = scratch.w, v = scratch.v, dw = scratch.dw, weights = scratch.weights
        var dAlpha = 0.0
        for i in range {
            let velocity = FixedPoint.value(v[i])
            dAlpha += dw[i] * velocity
            let position = w[i] - FixedPoint.raw(alpha * velocity)!
            w[i] = position
            weights[i] = FixedPoint.value(position)
        }
        return dAlpha
    }

    /// dv += α dw and direction = (1 − γ) dv: step t's Hessian direction, which does not depend on
    /// the step's gradient, so the model computes the two in one sweep.
    @inline(__always)
    static func velocityDirection(scratch: TrainerScratch, range: Range<Int>, learningRate alpha: Double, decay: Double)
    {
        let dw = scratch.dw, dv = scratch.dv, direction = scratch.direction
        for i in range {
            let adjoint = dv[i] + alpha * dw[i]
            dv[i] = adjoint
            direction[i] = decay * adjoint
        }
    }

    /// The end of step t and, unless t is the first step, the start of step t − 1 (see `position`)
    /// in one pass; returns this range's parts of dγ_t = ⟨dv, v_t + g_t⟩ (dv before it decays by γ)
    /// and of dα_{t−1} (0 when there is no step t − 1).
    @inline(__always)
    static func secondOrderAndPosition(
        scratch: TrainerScratch, range: Range<Int>, momentum gamma: Double, nextLearningRate: Double?
    ) -> (dGamma: Double, dAlpha: Double) {
        let hv = scratch.hessianProduct, l2 = scratch.l2, direction = scratch.direction
        let dw = scratch.dw, dv = scratch.dv, dl2 = scratch.dl2, weights = scratch.weights
        let v = scratch.v, g = scratch.gradient
        var dGamma = 0.0
        for i in range {
            dGamma += dv[i] * (FixedPoint.value(v[i]) + g[i])
            dw[i] -= hv[i] + l2[i] * direction[i]
            dl2[i] -= weights[i] * direction[i]
            dv[i] *= gamma
        }
        guard let alpha = nextLearningRate else { return (dGamma, 0) }
        return (dGamma, position(scratch: scratch, range: range, learningRate: alpha))
    }
}
