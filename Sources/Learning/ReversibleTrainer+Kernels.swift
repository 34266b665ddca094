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

    /// dv += α dw, direction = (1 − γ) dv; returns this range's part of dγ = ⟨dv, v_t + g_t⟩.
    @inline(__always)
    static func velocityAdjoint(
        scratch: TrainerScratch, range: Range<Int>, learningRate alpha: Double, decay: Double
    ) -> Double {
        let v = scratch.v, g = scratch.gradient, dw = scratch.dw, dv = scratch.dv, direction = scratch.direction
        var dGamma = 0.0
        for i in range {
            let adjoint = dv[i] + alpha * dw[i]
            dv[i] = adjoint
            dGamma += adjoint * (FixedPoint.value(v[i]) + g[i])
            direction[i] = decay * adjoint
        }
        return dGamma
    }

    /// The end of step t and, unless t is the first step, the start of step t − 1 (see `position`)
    /// in one pass; returns this range's part of dα_{t−1} (0 when there is no step t − 1).
    @inline(__always)
    static func secondOrderAndPosition(
        scratch: TrainerScratch, range: Range<Int>, momentum gamma: Double, nextLearningRate: Double?
    ) -> Double {
        let hv = scratch.hessianProduct, l2 = scratch.l2, direction = scratch.direction
        let dw = scratch.dw, dv = scratch.dv, dl2 = scratch.dl2, weights = scratch.weights
        for i in range {
            dw[i] -= hv[i] + l2[i] * direction[i]
            dl2[i] -= weights[i] * direction[i]
            dv[i] *= gamma
        }
        guard let alpha = nextLearningRate else { return 0 }
        return position(scratch: scratch, range: range, learningRate: alpha)
    }
}
