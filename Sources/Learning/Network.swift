/// A classifier built of layers (`NetworkArchitecture`): dense, conv2d, pooling and activation
/// layers, a dense output layer with softmax, mean cross-entropy loss with a per-parameter L2
/// penalty; its gradient and exact Hessian-vector products over one flat parameter vector.
///
/// Every call is deterministic: fixed summation orders, every matrix product through `BLAS.gemm`
/// (run BLAS with a fixed thread count). A `WorkerTeam` of two threads shares each pass; the
/// results are the same bits as with one. Calls do not allocate; all state lives in the caller's
/// `NetworkWorkspace`.
///
/// This is the whole interface the optimiser side sees (`ReversibleTrainer`: the exact state
/// update, the information buffer, the reverse recurrences): the loss and gradient at a point,
/// one Hessian-vector product there, and the objective's gradient and value, all over flat
/// buffers. A second optimiser needs nothing else from the model, and a new layer type nothing
/// from the optimiser.
public struct Network: Sendable {
    /// The layers and parameter layout.
    public let architecture: NetworkArchitecture
    /// The passes' stages, the output layer last.
    var stages: [Stage] { architecture.stages }

    /// A model with the given architecture.
    public init(architecture: NetworkArchitecture) {
        self.architecture = architecture
    }

    /// Mean softmax cross-entropy over the batch + ½ Σ_i l2[i]·w[i]² (l2 has one entry per
    /// parameter, 0 for biases). Writes ∇_w into `gradient` and returns the loss. Keeps the forward
    /// and backward state in `workspace` for a following `hessianVectorProduct`.
    /// inputs: (batch, inputs) row-major; labels: class indices in 0..<classes.
    public func lossAndGradient(
        parameters: UnsafeBufferPointer<Double>, l2: UnsafeBufferPointer<Double>,
        inputs: UnsafeBufferPointer<Double>, labels: UnsafeBufferPointer<Int32>, batch: Int,
        gradient: UnsafeMutableBufferPointer<Double>, workspace: NetworkWorkspace, team: WorkerTeam = .serial
    ) -> Double {
        let count = architecture.parameterCount
        checkWorkspace(workspace, rows: batch)
        precondition(parameters.count == count, "lossAndGradient: parameters has the wrong length")
        precondition(l2.count == count, "lossAndGradient: l2 has the wrong length")
        precondition(gradient.count == count, "lossAndGradient: gradient has the wrong length")
        precondition(inputs.count == batch * architecture.inputCount, "lossAndGradient: inputs is not (batch, inputs)")
        precondition(labels.count == batch, "lossAndGradient: labels is not (batch)")
        workspace.gradientBatch = 0

        // The HVP that follows has no inputs argument, so a_0 must outlive the caller's buffer;
        // a caller that gathered its batch straight into the workspace (the trainer) saves the copy.
        if inputs.baseAddress! != UnsafePointer(workspace.input) {
            workspace.input.update(from: inputs.baseAddress!, count: inputs.count)
        }
        let w = parameters.baseAddress!, dw = gradient.baseAddress!
        let (crossEntropy, _) = forwardAndLoss(
            parameters: w, input: workspace.input, labels: labels.baseAddress!, rows: batch,
            normalizer: Double(batch), delta: workspace.gradients[stages.count - 1], workspace: workspace,
            team: team)
        backward(
            parameters: w, input: workspace.input, rows: batch, gradient: dw, accumulate: false,
            inputGradient: nil, workspace: workspace, team: team)

        let penalty = addPenaltyGradient(parameters: w, l2: l2.baseAddress!, gradient: dw, team: team)
        workspace.gradientBatch = batch
        return crossEntropy / Double(batch) + 0.5 * penalty
    }

    /// gradient += λ ⊙ w; returns Σ λ·w². Two fixed halves, summed in order: the same bits with one
    /// or two threads.
    func addPenaltyGradient(
        parameters w: UnsafePointer<Double>, l2 lambda: UnsafePointer<Double>,
        gradient dw: UnsafeMutablePointer<Double>,
        team: WorkerTeam
    ) -> Double {
        let (early, late) = team.map { half in
            var penalty = 0.0
            let (first, second) = halves(0..<architecture.parameterCount)
            for i in half == 0 ? first : second {
                let decay = lambda[i] * w[i]
                penalty += decay * w[i]
                dw[i] += decay
            }
            return penalty
        }
        return early + late
    }

    /// Mean cross-entropy (no penalty) and number of misclassified rows over `rows` rows, in chunks
    /// of the workspace capacity.
    ///
    /// A row counts as misclassified unless its label is the first class of highest probability.
    /// Overwrites the state a following `hessianVectorProduct` would need.
    public func evaluate(
        parameters: UnsafeBufferPointer<Double>, inputs: UnsafeBufferPointer<Double>,
        labels: UnsafeBufferPointer<Int32>, rows: Int, workspace: NetworkWorkspace, team: WorkerTeam = .serial
    ) -> (loss: Double, errors: Int) {
        checkWorkspace(workspace, rows: nil)
        precondition(rows >= 1, "evaluate: need at least one row")
        precondition(parameters.count == architecture.parameterCount, "evaluate: parameters has the wrong length")
        precondition(inputs.count == rows * architecture.inputCount, "evaluate: inputs is not (rows, inputs)")
        precondition(labels.count == rows, "evaluate: labels is not (rows)")
        workspace.gradientBatch = 0

        let inputCount = architecture.inputCount
        var crossEntropy = 0.0, errors = 0
        for start in stride(from: 0, to: rows, by: workspace.batchCapacity) {
            let chunk = min(workspace.batchCapacity, rows - start)
            let (sum, wrong) = forwardAndLoss(
                parameters: parameters.baseAddress!, input: inputs.baseAddress! + start * inputCount,
                labels: labels.baseAddress! + start, rows: chunk, normalizer: Double(rows), delta: nil,
                workspace: workspace, team: team)
            crossEntropy += sum
            errors += wrong
        }
        return (crossEntropy / Double(rows), errors)
    }

    /// Gradient of the mean cross-entropy (no penalty) over `rows` rows with respect to the
    /// parameters (into `gradient`) and, if non-nil, the inputs (rows, inputs). Returns the loss.
    /// Chunked by workspace capacity; result independent of the capacity up to rounding.
    ///
    /// Overwrites the state a following `hessianVectorProduct` would need.
    public func objectiveGradient(
        parameters: UnsafeBufferPointer<Double>, inputs: UnsafeBufferPointer<Double>,
        labels: UnsafeBufferPointer<Int32>, rows: Int,
        gradient: UnsafeMutableBufferPointer<Double>, inputGradient: UnsafeMutableBufferPointer<Double>?,
        workspace: NetworkWorkspace, team: WorkerTeam = .serial
    ) -> Double {
        checkWorkspace(workspace, rows: nil)
        precondition(rows >= 1, "objectiveGradient: need at least one row")
        precondition(
            parameters.count == architecture.parameterCount, "objectiveGradient: parameters has the wrong length")
        precondition(gradient.count == architecture.parameterCount, "objectiveGradient: gradient has the wrong length")
        precondition(inputs.count == rows * architecture.inputCount, "objectiveGradient: inputs is not (rows, inputs)")
        precondition(labels.count == rows, "objectiveGradient: labels is not (rows)")
        precondition(
            inputGradient.map { $0.count == inputs.count } ?? true,
            "objectiveGradient: inputGradient is not (rows, inputs)")
        workspace.gradientBatch = 0

        let inputCount = architecture.inputCount
        var crossEntropy = 0.0
        for start in stride(from: 0, to: rows, by: workspace.batchCapacity) {
            let chunk = min(workspace.batchCapacity, rows - start)
            let input = inputs.baseAddress! + start * inputCount
            // Normalising every chunk's δ by the total row count makes the chunk gradients add up
            // to the gradient of the mean.
            crossEntropy +=
                forwardAndLoss(
                    parameters: parameters.baseAddress!, input: input, labels: labels.baseAddress! + start,
                    rows: chunk, normalizer: Double(rows), delta: workspace.gradients[stages.count - 1],
                    workspace: workspace, team: team
                ).crossEntropy
            backward(
                parameters: parameters.baseAddress!, input: input, rows: chunk,
                gradient: gradient.baseAddress!, accumulate: start > 0,
                inputGradient: inputGradient.map { $0.baseAddress! + start * inputCount },
                workspace: workspace, team: team)
        }
        return crossEntropy / Double(rows)
    }

    /// Traps unless `workspace` fits this model and, if given, a batch of `rows`.
    func checkWorkspace(_ workspace: NetworkWorkspace, rows: Int?) {
        precondition(workspace.architecture == architecture, "Network: workspace built for another architecture")
        if let rows {
            precondition(
                rows >= 1 && rows <= workspace.batchCapacity, "Network: batch of \(rows) does not fit the workspace")
        }
    }
}

/// The dense shorthand's old name.
public typealias MLP = Network
