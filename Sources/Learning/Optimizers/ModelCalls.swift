/// The three model calls an optimiser's run makes, over flat parameter buffers: the minibatch
/// loss and gradient, the Hessian-vector product, and the meta-objective with its gradient.
///
/// This is the one place an optimiser names the model's types; the optimisers themselves see
/// only flat buffers.
final class ModelCalls {
    let problem: TrainingProblem
    let scratch: TrainerScratch
    let workspace: NetworkWorkspace
    let team: WorkerTeam

    init(problem: TrainingProblem, threads: Int, l2: [Double]) {
        self.problem = problem
        let n = problem.model.architecture.parameterCount
        scratch = TrainerScratch(
            parameterCount: n, batchSize: problem.batches.batchSize, features: problem.training.features)
        workspace = NetworkWorkspace(architecture: problem.model.architecture, batchCapacity: problem.batches.batchSize)
        team = WorkerTeam(threads: threads)
        for i in 0..<n { scratch.l2[i] = l2[i] }
    }

    /// The blocks' ranges of the flat parameter vector.
    var blockRanges: [Range<Int>] { problem.model.architecture.blocks.map(\.range) }

    /// ∇(L + ½Σλw²) at `parameters` on the batch of `step`, into `scratch.gradient`; returns the loss.
    @discardableResult
    func gradient(step: Int, parameters: UnsafeMutableBufferPointer<Double>) -> Double {
        // Gathered straight into the workspace, where the model would otherwise copy the batch.
        scratch.loadBatch(step: step, plan: problem.batches, from: problem.training, into: workspace.input)
        return problem.model.lossAndGradient(
            parameters: UnsafeBufferPointer(parameters), l2: UnsafeBufferPointer(scratch.l2),
            inputs: UnsafeBufferPointer(start: workspace.input, count: scratch.batchSize * scratch.features),
            labels: UnsafeBufferPointer(scratch.batchLabels),
            batch: scratch.batchSize, gradient: scratch.gradient, workspace: workspace, team: team)
    }

    /// H·`scratch.direction` (the loss's Hessian on the current batch, without the penalty) into
    /// `scratch.hessianProduct`.
    func curvature(parameters: UnsafeMutableBufferPointer<Double>) {
        problem.model.curvatureProduct(
            parameters: UnsafeBufferPointer(parameters), direction: UnsafeBufferPointer(scratch.direction),
            result: scratch.hessianProduct, inputProduct: nil, workspace: workspace, team: team)
    }

    /// f(w) and ∂f/∂w into `scratch.dw`.
    func objective(parameters: UnsafeMutableBufferPointer<Double>) -> Double {
        let rows: LabelledRows
        switch problem.objective {
        case .validation(let validation): rows = validation
        case .training: rows = problem.training
        }
        let architecture = problem.model.architecture
        let evaluation = NetworkWorkspace(
            architecture: architecture, batchCapacity: architecture.evaluationChunk(rows: rows.rows))
        return rows.inputs.withUnsafeBufferPointer { inputs in
            rows.labels.withUnsafeBufferPointer { labels in
                problem.model.objectiveGradient(
                    parameters: UnsafeBufferPointer(parameters), inputs: inputs, labels: labels, rows: rows.rows,
                    gradient: scratch.dw, inputGradient: nil, workspace: evaluation)
            }
        }
    }
}
