import CBufferKernels

/// The fused per-parameter passes of `ReversibleAdam`: each walks a block tile by tile, and per
/// parameter runs what the Swift loops of `forward`, `undoMoments` and `AdamAdjoint.reverse` run
/// in several passes (the coders' steps of m and v, the increments, the update, the adjoints), in
/// C (`AdamKernels.c`). The buffers keep their stacks: after each tile the words the coders
/// emitted are pushed, or popped back, here.
extension ReversibleAdam {
    /// The scalars of iteration t, block k as the kernels take them.
    func kernelStep(step t: Int, block k: Int) -> rewind_adam_step {
        let c = constants(step: t, block: k), b1 = beta1[t][k].value, b2 = beta2[t][k].value
        return rewind_adam_step(
            decay1: 1 - b1, decay2: 1 - b2, beta1: b1, beta2: b2, alpha: c.alpha, inverse1: c.inverse1,
            inverse2: c.inverse2, epsilon: c.epsilon, rate: c.alpha / correction1[t][k],
            half: 1 / (2 * correction2[t][k]), portable: portableKernels ? 1 : 0)
    }

    /// m and v as the kernels see them: two 64-bit words a value, the low one first.
    var momentWords: (m: UnsafeMutablePointer<UInt64>, v: UnsafeMutablePointer<UInt64>) {
        (
            UnsafeMutableRawPointer(m.baseAddress!).assumingMemoryBound(to: UInt64.self),
            UnsafeMutableRawPointer(v.baseAddress!).assumingMemoryBound(to: UInt64.self)
        )
    }

    /// Runs `body` on each tile of block k: its first parameter, its width and its tile index.
    @inline(__always)
    private func eachTile<E: Error>(
        of k: Int, _ body: (_ start: Int, _ width: Int, _ tile: Int) throws(E) -> Void
    )
        throws(E)
    {
        let block = blocks[k], width = InformationBuffer.tileWidth
        for start in stride(from: block.lowerBound, to: block.upperBound, by: width) {
            try body(start, min(width, block.upperBound - start), (start - block.lowerBound) / width)
        }
    }

    /// `forward`'s moments and weight update of block k (after its weight decay).
    func forwardKernel(step t: Int, block k: Int, gradient g: UnsafeBufferPointer<Double>) throws(TrainingError) {
        var d1 = InformationBuffer.Divisor(beta1[t][k].numerator).kernel
        var d2 = InformationBuffer.Divisor(beta2[t][k].numerator).kernel
        var constants = kernelStep(step: t, block: k)
        let (mWords, vWords) = momentWords
        let words = tileWords, width = InformationBuffer.tileWidth
        try eachTile(of: k) { start, count, tile throws(TrainingError) in
            var first = firstBuffer.kernelTile(segment: k, tile: tile, words: words)
            var second = secondBuffer.kernelTile(segment: k, tile: tile, words: words + width)
            var failure: Int32 = 0
            let failed = rewind_adam_forward(
                Int64(count), mWords + 2 * start, vWords + 2 * start, w.baseAddress! + start,
                weights.baseAddress! + start, g.baseAddress! + start, &first, &second, &d1, &d2, &constants, &failure)
            firstBuffer.finishMultiply(segment: k, tile: tile, first)
            secondBuffer.finishMultiply(segment: k, tile: tile, second)
            guard failed < 0 else {
                let i = start + Int(failed)
                switch failure {
                case 1: throw .diverged(step: t, detail: "gradient of parameter \(i) is not finite or too large")
                case 2: throw .diverged(step: t, detail: "a moment of parameter \(i) left the fixed-point range")
                case 3: throw .diverged(step: t, detail: "the step of parameter \(i) left the fixed-point range")
                default: throw .diverged(step: t, detail: "weight \(i) left the fixed-point range (|w| ≥ 1024)")
                }
            }
        }
    }

    /// The adjoint state one reverse step of the kernels updates.  // (N) each
    struct KernelAdjoint {
        var dm: UnsafeMutablePointer<Double>
        var dv: UnsafeMutablePointer<Double>
        var direction: UnsafeMutablePointer<Double>
    }

    /// `undoMoments` of block k and, given `adjoint`, the β's adjoint terms of the reverse step:
    /// returns Σ m̃·(m_t − g) and Σ ṽ·(v_t − g²) over the block (0 without `adjoint`).
    @discardableResult
    func undoMomentsKernel(
        step t: Int, block k: Int, gradient g: UnsafeBufferPointer<Double>, adjoint: KernelAdjoint?
    ) -> (beta1: Double, beta2: Double) {
        var d1 = InformationBuffer.Divisor(beta1[t][k].numerator).kernel
        var d2 = InformationBuffer.Divisor(beta2[t][k].numerator).kernel
        var constants = kernelStep(step: t, block: k)
        let (mWords, vWords) = momentWords
        var sums = (0.0, 0.0)
        let words = tileWords
        eachTile(of: k) { start, count, tile in
            var first = firstBuffer.kernelTile(segment: k, tile: tile, words: words)
            var second = secondBuffer.kernelTile(segment: k, tile: tile, words: words)
            let failed = withUnsafeMutableBytes(of: &sums) { sums in
                rewind_adam_undo_moments(
                    Int64(count), mWords + 2 * start, vWords + 2 * start, g.baseAddress! + start, &first, &second,
                    &d1, &d2, &constants, adjoint.map { $0.dm + start }, adjoint.map { $0.dv + start },
                    adjoint.map { $0.direction + start }, sums.baseAddress!.assumingMemoryBound(to: Double.self))
            }
            precondition(failed < 0, "undoing the moments met a gradient the forward step did not")
            // v's coder was divided before m's, as in the Swift loops; the order is immaterial.
            secondBuffer.finishDivide(segment: k, tile: tile, second)
            firstBuffer.finishDivide(segment: k, tile: tile, first)
        }
        return sums
    }

    /// The first loop of the reverse step for block k: w restored by the same rounded update and
    /// the update's adjoints (dm, dv in place); returns (ᾱ, ε̄, c̄1, c̄2) summed over the block.
    func undoUpdateKernel(
        step t: Int, block k: Int, dw: UnsafePointer<Double>, adjoint: KernelAdjoint
    )
        -> (alpha: Double, epsilon: Double, correction1: Double, correction2: Double)
    {
        var constants = kernelStep(step: t, block: k)
        let (mWords, vWords) = momentWords
        let block = blocks[k]
        var sums = (0.0, 0.0, 0.0, 0.0)
        let failed = withUnsafeMutableBytes(of: &sums) { sums in
            rewind_adam_undo_update(
                Int64(block.count), mWords + 2 * block.lowerBound, vWords + 2 * block.lowerBound,
                w.baseAddress! + block.lowerBound, weights.baseAddress! + block.lowerBound, dw + block.lowerBound,
                adjoint.dm + block.lowerBound, adjoint.dv + block.lowerBound, &constants,
                sums.baseAddress!.assumingMemoryBound(to: Double.self))
        }
        precondition(failed < 0, "the reverse step met an update the forward step did not")
        return sums
    }
}
