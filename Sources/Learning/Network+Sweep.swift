import LinearAlgebra

// The gradient and a Hessian-vector product at one point in one sweep: what a reverse step of the
// trainer needs, whose direction is known before its gradient. Each stage runs its pass and then
// its R-pass while their operands are in cache, and where the two multiply the same A (a layer's
// forward product and its R-forward's X·V; a weight gradient and its R-pass's Xᵀ·R{δ}) they run as
// one paired product that reads A once (`ShortProducts.runPaired`). Every value is computed by
// the same operations as in `lossAndGradient` followed by `curvatureProduct`, so the bits are the
// same; `SweepTests` holds the two to that.
extension Network {
    /// `lossAndGradient` at `parameters` and then `curvatureProduct` in `direction` (H·v without
    /// the penalty term, and the input product when `inputProduct` is given) at the same point, in
    /// one sweep, with the same bits. Leaves the workspace as the two calls would.
    func lossGradientAndCurvature(
        parameters: UnsafeBufferPointer<Double>, l2: UnsafeBufferPointer<Double>,
        inputs: UnsafeBufferPointer<Double>, labels: UnsafeBufferPointer<Int32>, batch: Int,
        gradient: UnsafeMutableBufferPointer<Double>, direction: UnsafeBufferPointer<Double>,
        result: UnsafeMutableBufferPointer<Double>, inputProduct: UnsafeMutableBufferPointer<Double>?,
        workspace: NetworkWorkspace, team: WorkerTeam
    ) -> Double {
        let count = architecture.parameterCount
        checkWorkspace(workspace, rows: batch)
        precondition(
            parameters.count == count && l2.count == count && gradient.count == count && direction.count == count
                && result.count == count, "lossGradientAndCurvature: a parameter vector has the wrong length")
        precondition(
            inputs.count == batch * architecture.inputCount, "lossGradientAndCurvature: inputs is not (batch, inputs)")
        precondition(labels.count == batch, "lossGradientAndCurvature: labels is not (batch)")
        precondition(
            inputProduct.map { $0.count == inputs.count } ?? true,
            "lossGradientAndCurvature: inputProduct is not (batch, inputs)")
        workspace.gradientBatch = 0
        if inputs.baseAddress! != UnsafePointer(workspace.input) {
            workspace.input.update(from: inputs.baseAddress!, count: inputs.count)
        }
        let w = parameters.baseAddress!, v = direction.baseAddress!
        let last = stages.count - 1
        let (early, late) = team.map { half in
            let part = half == 0 ? halves(0..<batch).0 : halves(0..<batch).1
            guard !part.isEmpty else { return 0.0 }
            for s in stages.indices {
                forwardStageWithCurvature(s, parameters: w, direction: v, rows: part, workspace: workspace)
            }
            let crossEntropy = softmaxCrossEntropy(
                labels: labels.baseAddress!, rows: part, normalizer: Double(batch), delta: workspace.gradients[last],
                workspace: workspace
            ).crossEntropy
            rSoftmax(rows: part, batch: batch, workspace: workspace)
            return crossEntropy
        }
        backwardWithCurvature(
            parameters: w, direction: v, rows: batch, gradient: gradient.baseAddress!, result: result.baseAddress!,
            inputProduct: inputProduct?.baseAddress, workspace: workspace, team: team)
        let penalty = addPenaltyGradient(
            parameters: w, l2: l2.baseAddress!, gradient: gradient.baseAddress!, team: team)
        workspace.gradientBatch = batch
        return (early + late) / Double(batch) + 0.5 * penalty
    }

    /// Stage `s` of the forward pass and of the R-forward pass over the rows in `part`: a layer
    /// with parameters as one paired product z = A·W + b, R{z} = (A·V + V_b) + R{A}·W where its A
    /// is the input itself (dense) or gathered (conv), anything else as the two stages.
    func forwardStageWithCurvature(
        _ s: Int, parameters w: UnsafePointer<Double>, direction v: UnsafePointer<Double>, rows part: Range<Int>,
        workspace: NetworkWorkspace
    ) {
        let stage = stages[s], rows = part.count, first = part.lowerBound
        let out = workspace.outputs[s] + first * stage.outputCount  // (B, outputCount)
        let rOut = workspace.rOutputs[s] + first * stage.outputCount
        let input = UnsafePointer(workspace.input)
        let base = ShortProducts.PairedBase.biases(w + stage.biasOffset, v + stage.biasOffset)
        switch stage.operation {
        case .dense:
            let previous = (s > 0 ? UnsafePointer(workspace.outputs[s - 1]) : input) + first * stage.inputCount
            var viaInput: ShortProducts.Operand?
            if stage.dependsOnParameters {
                viaInput = .init(
                    a: workspace.rOutputs[s - 1] + first * stage.inputCount, lda: stage.fanIn,
                    b: w + stage.weightOffset, ldb: stage.fanOut)
            }
            ShortProducts.runPaired(
                m: rows, n: stage.fanOut, k: stage.fanIn,
                .init(a: previous, lda: stage.fanIn, b: w + stage.weightOffset, ldb: stage.fanOut),
                pairedWith: v + stage.weightOffset, plus: viaInput, base: base, into: out, pairedInto: rOut,
                ldc: stage.fanOut)
        case .conv2d(let geometry):
            guard let gather = workspace.imageGathers[s] else { fallthrough }
            var viaInput: ShortProducts.Operand?
            if stage.dependsOnParameters {
                viaInput = gather.matrix(over: workspace.rOutputs[s - 1], padding: part, r: true).rows(
                    from: first * geometry.positions, times: w + stage.weightOffset, ldb: stage.fanOut)
            }
            let images = s > 0 ? UnsafePointer(workspace.outputs[s - 1]) : input
            ShortProducts.runPaired(
                m: rows * geometry.positions, n: stage.fanOut, k: stage.fanIn,
                gather.matrix(over: images, padding: part).rows(
                    from: first * geometry.positions, times: w + stage.weightOffset, ldb: stage.fanOut),
                pairedWith: v + stage.weightOffset, plus: viaInput, base: base, into: out, pairedInto: rOut,
                ldc: stage.fanOut)
        default:
            forwardStage(s, parameters: w, input: input, rows: part, workspace: workspace)
            rForwardStage(s, parameters: w, direction: v, rows: part, workspace: workspace)
        }
    }

    /// `backward` (no accumulation, no input gradient) and `rBackward` stage by stage, from the top:
    /// each layer's weight gradient and its R-pass as one paired product, Aᵀ·δ and Aᵀ·R{δ} (then
    /// R{A}ᵀ·δ onto the latter), cut between the team as each pass would cut it alone.
    func backwardWithCurvature(
        parameters w: UnsafePointer<Double>, direction v: UnsafePointer<Double>, rows: Int,
        gradient dw: UnsafeMutablePointer<Double>, result hv: UnsafeMutablePointer<Double>,
        inputProduct: UnsafeMutablePointer<Double>?, workspace: NetworkWorkspace, team: WorkerTeam
    ) {
        let input = UnsafePointer(workspace.input)
        var folded: Int?  // an activation already run inside the layer above's section
        for s in stages.indices.reversed() where s != folded {
            let stage = stages[s]
            let below = inputTarget(s, buffers: workspace.gradients, inputs: nil)
            let target = inputTarget(s, buffers: workspace.rGradients, inputs: inputProduct)
            if isMaxPoolOverRelu(s) {
                folded = s - 1  // run inside this step
                // δ and R{δ} through the same maxima and φ' in one pass.
                if let pass = maxPoolOverReluPass(
                    s, delta: workspace.gradients[s], buffers: workspace.gradients, inputs: nil,
                    alongside: (UnsafePointer(workspace.rGradients[s]), workspace.rGradients, inputProduct),
                    workspace: workspace)
                {
                    let (top, bottom) = halves(0..<rows)
                    team.run({ pass(top) }, { pass(bottom) })
                }
                continue
            }
            switch stage.operation {
            case .dense, .conv2d:
                let gradient = gradientWork(
                    s, parameters: w, input: input, rows: rows, gradient: dw, accumulate: false, inputGradient: nil,
                    workspace: workspace)
                let curvature = curvatureWork(
                    s, parameters: w, direction: v, rows: rows, result: hv, inputProduct: inputProduct,
                    workspace: workspace)
                // Only the first layer of a model whose inputs are learned can need an input
                // product in one pass and not in the other; its passes then cut differently.
                guard (gradient.input == nil) == (curvature.input == nil) else {
                    precondition(gradient.folded == nil && curvature.folded == nil, "backwardWithCurvature: a fold")
                    folded = nil
                    runLayerProducts(s, rows: rows, gradient, workspace: workspace, team: team)
                    runLayerProducts(s, rows: rows, curvature, workspace: workspace, team: team)
                    continue
                }
                precondition(gradient.folded == curvature.folded, "backwardWithCurvature: the passes fold apart")
                folded = gradient.folded
                let pairedWeights = pairedWeightProducts(
                    s, rows: rows, gradient: dw, result: hv, workspace: workspace)
                let input = gradient.input.map { gradientInput in
                    { (part: Range<Int>, half: Int) in
                        gradientInput(part, half)
                        curvature.input!(part, half)
                    }
                }
                let work = LayerWork(
                    weights: pairedWeights,
                    biases: {
                        gradient.biases()
                        curvature.biases()
                    }, input: input, folded: folded)
                runLayerProducts(s, rows: rows, work, workspace: workspace, team: team)
            case .activation, .maxpool, .avgpool:
                guard below != nil || target != nil else { continue }
                let delta = UnsafePointer(workspace.gradients[s])
                func part(_ rows: Range<Int>) {
                    if let below {
                        backwardWithoutParameters(s, delta: delta, into: below, rows: rows, workspace: workspace)
                    }
                    if let target { rBackwardWithoutParameters(s, into: target, rows: rows, workspace: workspace) }
                }
                let (top, bottom) = halves(0..<rows)
                team.run({ part(top) }, { part(bottom) })
            }
        }
    }

    /// Rows `part` of layer `s`'s weight gradient (Aᵀ·δ into `gradient`) and of its R-pass
    /// ((Aᵀ·R{δ}) + R{A}ᵀ·δ into `result`) in one paired product: `gradientWork`'s and
    /// `curvatureWork`'s weight products, term for term.
    func pairedWeightProducts(
        _ s: Int, rows: Int, gradient dw: UnsafeMutablePointer<Double>, result hv: UnsafeMutablePointer<Double>,
        workspace: NetworkWorkspace
    ) -> (Range<Int>) -> Void {
        let stage = stages[s]
        let previous = UnsafePointer(s > 0 ? workspace.outputs[s - 1] : workspace.input)
        let delta = UnsafePointer(workspace.gradients[s]), rDelta = UnsafePointer(workspace.rGradients[s])
        let (positions, columns) = columnMatrix(s, input: previous, workspace: workspace)
        // R{A}: zero (and not kept) below the first layer with parameters.
        let rColumns =
            stage.dependsOnParameters
            ? columnMatrix(s, input: workspace.rOutputs[s - 1], r: true, workspace: workspace).matrix : nil
        return { part in
            let offset = stage.weightOffset + part.lowerBound * stage.fanOut
            ShortProducts.runPaired(
                m: part.count, n: stage.fanOut, k: rows * positions,
                columns.transposedRows(part, times: delta, ldb: stage.fanOut), pairedWith: rDelta,
                plus: rColumns?.transposedRows(part, times: delta, ldb: stage.fanOut), base: .zero,
                into: dw + offset, pairedInto: hv + offset, ldc: stage.fanOut)
        }
    }
}
