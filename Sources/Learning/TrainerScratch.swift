/// Every buffer one reversible run needs, allocated once per run so that the inner loop never
/// allocates. Buffers are named as in the reverse loop of docs/method.md; shapes in comments.
final class TrainerScratch {
    let parameterCount: Int
    let batchSize: Int
    let features: Int

    /// Exact position w as fixed-point raw values.  // (N)
    let w: UnsafeMutableBufferPointer<Int64>
    /// Exact velocity v as fixed-point raw values.  // (N)
    let v: UnsafeMutableBufferPointer<Int64>
    /// The initial position, to check that the reverse pass lands on it bit for bit.  // (N)
    let initialW: UnsafeMutableBufferPointer<Int64>
    /// w as Doubles, what the model sees.  // (N)
    let weights: UnsafeMutableBufferPointer<Double>
    /// ∇_w L on the current batch.  // (N)
    let gradient: UnsafeMutableBufferPointer<Double>
    /// H · direction.  // (N)
    let hessianProduct: UnsafeMutableBufferPointer<Double>
    /// (1 − γ) ⊙ dv, the direction of the Hessian-vector product.  // (N)
    let direction: UnsafeMutableBufferPointer<Double>
    /// Adjoint of the position.  // (N)
    let dw: UnsafeMutableBufferPointer<Double>
    /// Adjoint of the velocity.  // (N)
    let dv: UnsafeMutableBufferPointer<Double>
    /// Accumulated ∂f/∂λ_i.  // (N)
    let dl2: UnsafeMutableBufferPointer<Double>
    /// L2 strength per parameter.  // (N)
    let l2: UnsafeMutableBufferPointer<Double>
    /// Rows of the current minibatch.  // (B)
    let batchIndices: UnsafeMutableBufferPointer<Int32>
    /// Labels of the current minibatch.  // (B)
    let batchLabels: UnsafeMutableBufferPointer<Int32>
    /// Inputs of the current minibatch.  // (B, F)
    let batchInputs: UnsafeMutableBufferPointer<Double>
    /// ∇_x ⟨∇_w L, direction⟩ for the minibatch, when the inputs are differentiated.  // (B, F)
    let inputProduct: UnsafeMutableBufferPointer<Double>

    init(parameterCount: Int, batchSize: Int, features: Int) {
        self.parameterCount = parameterCount
        self.batchSize = batchSize
        self.features = features
        func integers(_ count: Int) -> UnsafeMutableBufferPointer<Int64> {
            let buffer = UnsafeMutableBufferPointer<Int64>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        func reals(_ count: Int) -> UnsafeMutableBufferPointer<Double> {
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        func indices(_ count: Int) -> UnsafeMutableBufferPointer<Int32> {
            let buffer = UnsafeMutableBufferPointer<Int32>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        w = integers(parameterCount)
        v = integers(parameterCount)
        initialW = integers(parameterCount)
        weights = reals(parameterCount)
        gradient = reals(parameterCount)
        hessianProduct = reals(parameterCount)
        direction = reals(parameterCount)
        dw = reals(parameterCount)
        dv = reals(parameterCount)
        dl2 = reals(parameterCount)
        l2 = reals(parameterCount)
        batchIndices = indices(batchSize)
        batchLabels = indices(batchSize)
        batchInputs = reals(batchSize * features)
        inputProduct = reals(batchSize * features)
    }

    deinit {
        for buffer in [w, v, initialW] { buffer.deallocate() }
        for buffer in [weights, gradient, hessianProduct, direction, dw, dv, dl2, l2, batchInputs, inputProduct] {
            buffer.deallocate()
        }
        batchIndices.deallocate()
        batchLabels.deallocate()
    }

    /// Refreshes the Double view of the exact position.
    @inline(__always)
    func loadWeights() {
        for i in 0..<parameterCount {
            weights[i] = FixedPoint.value(w[i])
        }
    }

    /// Gathers the rows and labels of the minibatch of `step`, the rows into `batchInputs` or, given
    /// `inputs`, straight into the model's workspace (`NetworkWorkspace.input`, where the model
    /// would otherwise copy them: at 784 features that copy is a tenth of a forward pass).
    /// inputs: (B, F)
    func loadBatch(
        step: Int, plan: BatchPlan, from rows: LabelledRows, into inputs: UnsafeMutablePointer<Double>? = nil
    ) {
        plan.fill(step: step, into: batchIndices)
        let target = inputs ?? batchInputs.baseAddress!
        rows.inputs.withUnsafeBufferPointer { source in
            rows.labels.withUnsafeBufferPointer { labels in
                for j in 0..<batchSize {
                    let row = Int(batchIndices[j])
                    batchLabels[j] = labels[row]
                    (target + j * features).update(from: source.baseAddress! + row * features, count: features)
                }
            }
        }
    }
}
