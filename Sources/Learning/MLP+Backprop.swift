import LinearAlgebra

// The forward and backward passes, layer by layer, over views into the flat parameter vector and
// the workspace. Shapes are in the comments: B is the number of rows in the pass.
extension MLP {
    /// Forward pass: activations[l] ← φ(a_{l−1}·W_l + b_l) and derivatives[l] ← φ' for hidden
    /// layers; the output layer's logits are left in activations[last] for the softmax.
    func forward(
        parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, rows: Int,
        workspace: MLPWorkspace
    ) {
        var previous = input  // a_{l−1}: (B, fanIn)
        for (l, layer) in layers.enumerated() {
            let z = workspace.activations[l]  // (B, fanOut)
            broadcastRows(w + layer.biasOffset, into: z, rows: rows, cols: layer.fanOut)
            BLAS.gemm(
                transposeA: false, transposeB: false, m: rows, n: layer.fanOut, k: layer.fanIn,
                alpha: 1, a: previous, lda: layer.fanIn, b: w + layer.weightOffset, ldb: layer.fanOut,
                beta: 1, c: z, ldc: layer.fanOut)
            if l < layers.count - 1 {
                architecture.activation.forward(
                    z, derivative: workspace.derivatives[l], count: rows * layer.fanOut)
            }
            previous = UnsafePointer(z)
        }
    }

    /// Turns the logits in activations[last] into probabilities p in place and returns the summed
    /// cross-entropy and the number of rows whose first arg-max is not the label. If `delta` is
    /// given, writes δ = (p − Y)/normalizer there.  // (B, classes)
    func softmaxCrossEntropy(
        labels: UnsafePointer<Int32>, rows: Int, normalizer: Double,
        delta: UnsafeMutablePointer<Double>?, workspace: MLPWorkspace
    ) -> (crossEntropy: Double, errors: Int) {
        let classes = architecture.classCount
        let probabilities = workspace.activations[layers.count - 1]
        var crossEntropy = 0.0, errors = 0
        for r in 0..<rows {
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
    func backward(
        parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, rows: Int,
        gradient dw: UnsafeMutablePointer<Double>, accumulate: Bool,
        inputGradient: UnsafeMutablePointer<Double>?, workspace: MLPWorkspace
    ) {
        for l in layers.indices.reversed() {
            let layer = layers[l]
            let previous = l > 0 ? UnsafePointer(workspace.activations[l - 1]) : input  // (B, fanIn)
            let delta = workspace.deltas[l]  // (B, fanOut)
            BLAS.gemm(
                transposeA: true, transposeB: false, m: layer.fanIn, n: layer.fanOut, k: rows,
                alpha: 1, a: previous, lda: layer.fanIn, b: delta, ldb: layer.fanOut,
                beta: accumulate ? 1 : 0, c: dw + layer.weightOffset, ldc: layer.fanOut)
            addColumnSums(
                of: delta, rows: rows, cols: layer.fanOut, into: dw + layer.biasOffset,
                accumulate: accumulate)
            if l > 0 {
                let upstream = workspace.upstreams[l - 1]  // δ'_{l−1}: (B, fanIn)
                BLAS.gemm(
                    transposeA: false, transposeB: true, m: rows, n: layer.fanIn, k: layer.fanOut,
                    alpha: 1, a: delta, lda: layer.fanOut, b: w + layer.weightOffset,
                    ldb: layer.fanOut, beta: 0, c: upstream, ldc: layer.fanIn)
                let derivative = workspace.derivatives[l - 1], next = workspace.deltas[l - 1]
                for i in 0..<(rows * layer.fanIn) { next[i] = upstream[i] * derivative[i] }
            } else if let inputGradient {
                BLAS.gemm(
                    transposeA: false, transposeB: true, m: rows, n: layer.fanIn, k: layer.fanOut,
                    alpha: 1, a: delta, lda: layer.fanOut, b: w + layer.weightOffset,
                    ldb: layer.fanOut, beta: 0, c: inputGradient, ldc: layer.fanIn)
            }
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
