import LinearAlgebra

// The forward and backward passes, layer by layer, over views into the flat parameter vector and
// the workspace. Shapes are in the comments: B is the number of rows in the pass.
//
// Each pass is cut into two fixed halves (`WorkerTeam.run`): the forward pass and the softmax by
// rows, the backward pass into its two independent products per layer. The cut is the same
// whatever the thread count, so one and two threads give the same bits.
extension MLP {
    /// Forward pass and softmax cross-entropy over `rows` rows: activations[l] ← φ(a_{l−1}·W_l + b_l)
    /// and derivatives[l] ← φ' for hidden layers, probabilities p in activations[last]. Returns the
    /// summed cross-entropy and the number of rows whose first arg-max is not the label; writes
    /// δ = (p − Y)/normalizer into `delta` when given.  // (B, classes)
    func forwardAndLoss(
        parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, labels: UnsafePointer<Int32>,
        rows: Int, normalizer: Double, delta: UnsafeMutablePointer<Double>?, workspace: MLPWorkspace,
        team: WorkerTeam
    ) -> (crossEntropy: Double, errors: Int) {
        let (first, second) = team.map { half in
            let part = half == 0 ? halves(0..<rows).0 : halves(0..<rows).1
            forward(parameters: w, input: input, rows: part, workspace: workspace)
            return softmaxCrossEntropy(
                labels: labels, rows: part, normalizer: normalizer, delta: delta, workspace: workspace)
        }
        return (first.crossEntropy + second.crossEntropy, first.errors + second.errors)
    }

    /// Forward pass over the rows in `part` (row indices into `input` and the workspace); the
    /// output layer's logits are left in activations[last] for the softmax.
    func forward(
        parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, rows part: Range<Int>,
        workspace: MLPWorkspace
    ) {
        guard !part.isEmpty else { return }
        let rows = part.count, first = part.lowerBound
        var previous = input + first * architecture.inputCount  // a_{l−1}: (B, fanIn)
        for (l, layer) in layers.enumerated() {
            let z = workspace.activations[l] + first * layer.fanOut  // (B, fanOut)
            broadcastRows(w + layer.biasOffset, into: z, rows: rows, cols: layer.fanOut)
            BLAS.gemm(
                transposeA: false, transposeB: false, m: rows, n: layer.fanOut, k: layer.fanIn,
                alpha: 1, a: previous, lda: layer.fanIn, b: w + layer.weightOffset, ldb: layer.fanOut,
                beta: 1, c: z, ldc: layer.fanOut)
            if l < layers.count - 1 {
                architecture.activation.forward(
                    z, derivative: workspace.derivatives[l] + first * layer.fanOut, count: rows * layer.fanOut)
            }
            previous = UnsafePointer(z)
        }
    }

    /// Turns the logits of the rows in `part` into probabilities in place; see `forwardAndLoss`.
    func softmaxCrossEntropy(
        labels: UnsafePointer<Int32>, rows part: Range<Int>, normalizer: Double,
        delta: UnsafeMutablePointer<Double>?, workspace: MLPWorkspace
    ) -> (crossEntropy: Double, errors: Int) {
        let classes = architecture.classCount
        let probabilities = workspace.activations[layers.count - 1]
        var crossEntropy = 0.0, errors = 0
        for r in part {
            let label = Int(labels[r])
            precondition(label >= 0 && label < classes, "MLP: label \(label) outside 0..<\(classes)")
            let row = probabilities + r * classes
            var best = 0
            for j in 1..<classes where row[j] > row[best] { best = j }
            if best != label { errors += 1 }
            // Stable log-softmax: subtracting the row maximum keeps exp from overflowing.
            let maximum = row[best], labelLogit = row[label]
            let sum = PortableMath.exponentiate(row, count: classes, shift: maximum)
            crossEntropy += PortableMath.log(sum) + maximum - labelLogit
            for j in 0..<classes { row[j] /= sum }
            if let delta {
                let d = delta + r * classes
                for j in 0..<classes { d[j] = row[j] / normalizer }
                d[label] -= 1 / normalizer
            }
        }
        return (crossEntropy, errors)
    }

    /// Backward pass from δ in deltas[last]: dW_l = a_{l−1}ᵀδ_l, db_l = colsum δ_l, and
    /// δ_{l−1} = (δ_l W_lᵀ) ⊙ φ'. Adds into `gradient` when `accumulate`, else overwrites it
    /// (no penalty term). Writes δ_1 W_1ᵀ to `inputGradient` when given.  // (B, inputs)
    ///
    /// Per layer the two products (dW, and δ' for the layer below) are independent: one per half.
    /// The first layer, which needs no δ', splits dW by its rows instead.
    func backward(
        parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, rows: Int,
        gradient dw: UnsafeMutablePointer<Double>, accumulate: Bool,
        inputGradient: UnsafeMutablePointer<Double>?, workspace: MLPWorkspace, team: WorkerTeam
    ) {
        for l in layers.indices.reversed() {
            let layer = layers[l]
            let previous = l > 0 ? UnsafePointer(workspace.activations[l - 1]) : input  // (B, fanIn)
            let delta = workspace.deltas[l]  // (B, fanOut)
            // dW rows `part` of this layer: (part, fanOut)
            func weightGradient(_ part: Range<Int>) {
                BLAS.gemm(
                    transposeA: true, transposeB: false, m: part.count, n: layer.fanOut, k: rows,
                    alpha: 1, a: previous + part.lowerBound, lda: layer.fanIn, b: delta, ldb: layer.fanOut,
                    beta: accumulate ? 1 : 0, c: dw + layer.weightOffset + part.lowerBound * layer.fanOut,
                    ldc: layer.fanOut)
            }
            func biasGradient() {
                addColumnSums(
                    of: delta, rows: rows, cols: layer.fanOut, into: dw + layer.biasOffset,
                    accumulate: accumulate)
            }
            let below: UnsafeMutablePointer<Double>? = l > 0 ? workspace.upstreams[l - 1] : inputGradient
            guard let below else {
                let (top, bottom) = halves(0..<layer.fanIn)
                team.run({ weightGradient(top) }, {
                    weightGradient(bottom)
                    biasGradient()
                })
                continue
            }
            team.run({
                weightGradient(0..<layer.fanIn)
                biasGradient()
            }, {
                // δ'_{l−1} = δ_l W_lᵀ: (B, fanIn), then δ_{l−1} = δ' ⊙ φ' for a hidden layer.
                BLAS.gemm(
                    transposeA: false, transposeB: true, m: rows, n: layer.fanIn, k: layer.fanOut,
                    alpha: 1, a: delta, lda: layer.fanOut, b: w + layer.weightOffset,
                    ldb: layer.fanOut, beta: 0, c: below, ldc: layer.fanIn)
                if l > 0 {
                    let derivative = workspace.derivatives[l - 1], next = workspace.deltas[l - 1]
                    for i in 0..<(rows * layer.fanIn) { next[i] = below[i] * derivative[i] }
                }
            })
        }
    }
}

/// Copies the vector `row` (cols) into every row of `matrix` (rows, cols).
func broadcastRows(
    _ row: UnsafePointer<Double>, into matrix: UnsafeMutablePointer<Double>, rows: Int, cols: Int
) {
    for r in 0..<rows { (matrix + r * cols).update(from: row, count: cols) }
}

/// sums[j] (+)= Σ_r matrix[r, j], rows in order so the result never depends on anything else.
func addColumnSums(
    of matrix: UnsafePointer<Double>, rows: Int, cols: Int, into sums: UnsafeMutablePointer<Double>,
    accumulate: Bool
) {
    if !accumulate { sums.update(repeating: 0, count: cols) }
    for r in 0..<rows {
        let row = matrix + r * cols
        for j in 0..<cols { sums[j] += row[j] }
    }
}
