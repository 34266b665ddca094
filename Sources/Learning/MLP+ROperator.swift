import LinearAlgebra

// Pearlmutter's R-operator, R{·} = d/dε (·)(w + εv) at ε = 0, pushed forward through the forward
// pass and then through the backward pass (forward-over-reverse). R{∇_w L} is exactly H·v. The
// primal quantities (a_l, φ', δ_l, δ'_l, p) come from the workspace, left there by the
// `lossAndGradient` call at the same point, so an HVP costs R-products only.
extension MLP {
    /// Exact H·v by Pearlmutter's R-operator (forward-over-reverse) at the point of the last
    /// `lossAndGradient` call on this workspace (same parameters, l2, inputs, labels). Writes H·v
    /// into `result`. If `inputProduct` is non-nil, also writes ∇_x ⟨∇_w L, v⟩ (batch, inputs): the
    /// R-pass backpropagated to the inputs (for learning the training data).
    public func hessianVectorProduct(
        parameters: UnsafeBufferPointer<Double>, l2: UnsafeBufferPointer<Double>,
        direction: UnsafeBufferPointer<Double>, result: UnsafeMutableBufferPointer<Double>,
        inputProduct: UnsafeMutableBufferPointer<Double>?, workspace: MLPWorkspace, team: WorkerTeam = .serial
    ) {
        curvatureProduct(
            parameters: parameters, direction: direction, result: result, inputProduct: inputProduct,
            workspace: workspace, team: team)
        let lambda = l2.baseAddress!, v = direction.baseAddress!, hv = result.baseAddress!
        precondition(l2.count == architecture.parameterCount, "hessianVectorProduct: l2 has the wrong length")
        for i in 0..<architecture.parameterCount { hv[i] += lambda[i] * v[i] }
    }

    /// `hessianVectorProduct` without the penalty term λ ⊙ v, which the trainer adds in its own
    /// fused per-parameter loop.
    func curvatureProduct(
        parameters: UnsafeBufferPointer<Double>, direction: UnsafeBufferPointer<Double>,
        result: UnsafeMutableBufferPointer<Double>, inputProduct: UnsafeMutableBufferPointer<Double>?,
        workspace: MLPWorkspace, team: WorkerTeam
    ) {
        let count = architecture.parameterCount
        checkWorkspace(workspace, rows: nil)
        let rows = workspace.gradientBatch
        precondition(rows > 0, "hessianVectorProduct: no lossAndGradient state in the workspace")
        precondition(parameters.count == count, "hessianVectorProduct: parameters has the wrong length")
        precondition(direction.count == count, "hessianVectorProduct: direction has the wrong length")
        precondition(result.count == count, "hessianVectorProduct: result has the wrong length")
        precondition(
            inputProduct.map { $0.count == rows * architecture.inputCount } ?? true,
            "hessianVectorProduct: inputProduct is not (batch, inputs)")

        let w = parameters.baseAddress!, v = direction.baseAddress!, hv = result.baseAddress!
        let (top, bottom) = halves(0..<rows)
        team.run(
            { rForward(parameters: w, direction: v, rows: top, workspace: workspace) },
            { rForward(parameters: w, direction: v, rows: bottom, workspace: workspace) })
        rBackward(
            parameters: w, direction: v, rows: rows, result: hv,
            inputProduct: inputProduct?.baseAddress, workspace: workspace, team: team)
    }

    /// R-forward: R{z_l} = R{a_{l−1}}W_l + a_{l−1}V_W + V_b, R{a_l} = φ'⊙R{z_l}, and at the output
    /// R{δ_L} = R{p}/B with R{p} = p⊙(R{z} − Σ p⊙R{z}) (R{a_0} = 0: inputs do not depend on w).
    func rForward(
        parameters w: UnsafePointer<Double>, direction v: UnsafePointer<Double>, rows part: Range<Int>,
        workspace: MLPWorkspace
    ) {
        guard !part.isEmpty else { return }
        let rows = part.count, first = part.lowerBound
        var previous = UnsafePointer(workspace.input + first * architecture.inputCount)  // a_{l−1}: (B, fanIn)
        for (l, layer) in layers.enumerated() {
            let rz = workspace.rPreactivations[l] + first * layer.fanOut  // (B, fanOut)
            broadcastRows(v + layer.biasOffset, into: rz, rows: rows, cols: layer.fanOut)
            BLAS.gemm(
                transposeA: false, transposeB: false, m: rows, n: layer.fanOut, k: layer.fanIn,
                alpha: 1, a: previous, lda: layer.fanIn, b: v + layer.weightOffset, ldb: layer.fanOut,
                beta: 1, c: rz, ldc: layer.fanOut)
            if l > 0 {
                BLAS.gemm(
                    transposeA: false, transposeB: false, m: rows, n: layer.fanOut, k: layer.fanIn,
                    alpha: 1, a: workspace.rActivations[l - 1] + first * layer.fanIn, lda: layer.fanIn,
                    b: w + layer.weightOffset, ldb: layer.fanOut, beta: 1, c: rz, ldc: layer.fanOut)
            }
            let n = rows * layer.fanOut
            if l < layers.count - 1 {
                let ra = workspace.rActivations[l] + first * layer.fanOut
                let derivative = workspace.derivatives[l] + first * layer.fanOut
                for i in 0..<n { ra[i] = derivative[i] * rz[i] }
            } else {
                rSoftmax(
                    probabilities: workspace.activations[l] + first * layer.fanOut, rLogits: rz,
                    into: workspace.rDeltas[l] + first * layer.fanOut, rows: rows,
                    batch: workspace.gradientBatch, classes: layer.fanOut)
            }
            previous = UnsafePointer(workspace.activations[l] + first * layer.fanOut)
        }
    }

    /// R-backward: R{dW_l} = R{a_{l−1}}ᵀδ_l + a_{l−1}ᵀR{δ_l}, R{db_l} = colsum R{δ_l},
    /// R{δ'} = R{δ_l}W_lᵀ + δ_l V_Wᵀ, R{δ_{l−1}} = R{δ'}⊙φ' + δ'⊙φ''⊙R{z_{l−1}}; at the first layer
    /// R{δ'_0} is the input product. Overwrites `result` (no penalty term).
    func rBackward(
        parameters w: UnsafePointer<Double>, direction v: UnsafePointer<Double>, rows: Int,
        result hv: UnsafeMutablePointer<Double>, inputProduct: UnsafeMutablePointer<Double>?,
        workspace: MLPWorkspace, team: WorkerTeam
    ) {
        for l in layers.indices.reversed() {
            let layer = layers[l]
            let delta = workspace.deltas[l], rDelta = workspace.rDeltas[l]  // (B, fanOut)
            let previous = UnsafePointer(l > 0 ? workspace.activations[l - 1] : workspace.input)
            // R{dW} rows `part`: (part, fanOut)
            func weightProduct(_ part: Range<Int>) {
                let c = hv + layer.weightOffset + part.lowerBound * layer.fanOut
                BLAS.gemm(
                    transposeA: true, transposeB: false, m: part.count, n: layer.fanOut, k: rows,
                    alpha: 1, a: previous + part.lowerBound, lda: layer.fanIn, b: rDelta, ldb: layer.fanOut,
                    beta: 0, c: c, ldc: layer.fanOut)
                if l > 0 {
                    BLAS.gemm(
                        transposeA: true, transposeB: false, m: part.count, n: layer.fanOut, k: rows,
                        alpha: 1, a: workspace.rActivations[l - 1] + part.lowerBound, lda: layer.fanIn,
                        b: delta, ldb: layer.fanOut, beta: 1, c: c, ldc: layer.fanOut)
                }
            }
            func biasProduct() {
                addColumnSums(
                    of: rDelta, rows: rows, cols: layer.fanOut, into: hv + layer.biasOffset,
                    accumulate: false)
            }
            // R{δ'} of the layer below, or the input product at the bottom.
            guard let target = l > 0 ? workspace.rDeltas[l - 1] : inputProduct else {
                let (top, bottom) = halves(0..<layer.fanIn)
                team.run({ weightProduct(top) }, {
                    weightProduct(bottom)
                    biasProduct()
                })
                continue
            }
            team.run({
                weightProduct(0..<layer.fanIn)
                biasProduct()
            }, {
                BLAS.gemm(
                    transposeA: false, transposeB: true, m: rows, n: layer.fanIn, k: layer.fanOut,
                    alpha: 1, a: rDelta, lda: layer.fanOut, b: w + layer.weightOffset,
                    ldb: layer.fanOut, beta: 0, c: target, ldc: layer.fanIn)
                BLAS.gemm(
                    transposeA: false, transposeB: true, m: rows, n: layer.fanIn, k: layer.fanOut,
                    alpha: 1, a: delta, lda: layer.fanOut, b: v + layer.weightOffset,
                    ldb: layer.fanOut, beta: 1, c: target, ldc: layer.fanIn)
                if l > 0 {
                    self.architecture.activation.rBackward(
                        target, activation: workspace.activations[l - 1],
                        derivative: workspace.derivatives[l - 1], upstream: workspace.upstreams[l - 1],
                        rPreactivation: workspace.rPreactivations[l - 1], count: rows * layer.fanIn)
                }
            })
        }
    }

    /// R{δ_L} = R{p}/B row by row over `rows` rows of a batch of `batch`, with
    /// R{p} = p⊙(R{z} − ⟨p, R{z}⟩).  // (rows, classes)
    func rSoftmax(
        probabilities p: UnsafePointer<Double>, rLogits rz: UnsafePointer<Double>,
        into rDelta: UnsafeMutablePointer<Double>, rows: Int, batch: Int, classes: Int
    ) {
        let batch = Double(batch)
        for r in 0..<rows {
            let offset = r * classes
            var mean = 0.0
            for j in 0..<classes { mean += p[offset + j] * rz[offset + j] }
            for j in 0..<classes {
                rDelta[offset + j] = p[offset + j] * (rz[offset + j] - mean) / batch
            }
        }
    }
}
