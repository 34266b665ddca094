import LinearAlgebra

// Pearlmutter's R-operator, R{·} = d/dε (·)(w + εv) at ε = 0, pushed forward through the forward
// pass and then through the backward pass (forward-over-reverse). R{∇_w L} is exactly H·v. The
// primal quantities (a_l, φ', δ_l, δ'_l, p) come from the workspace, left there by the
// `lossAndGradient` call at the same point, so an HVP costs R-products only.
extension Network {
    /// Exact H·v by Pearlmutter's R-operator (forward-over-reverse) at the point of the last
    /// `lossAndGradient` call on this workspace (same parameters, l2, inputs, labels). Writes H·v
    /// into `result`. If `inputProduct` is non-nil, also writes ∇_x ⟨∇_w L, v⟩ (batch, inputs): the
    /// R-pass backpropagated to the inputs (for learning the training data).
    public func hessianVectorProduct(
        parameters: UnsafeBufferPointer<Double>, l2: UnsafeBufferPointer<Double>,
        direction: UnsafeBufferPointer<Double>, result: UnsafeMutableBufferPointer<Double>,
        inputProduct: UnsafeMutableBufferPointer<Double>?, workspace: NetworkWorkspace, team: WorkerTeam = .serial
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
        workspace: NetworkWorkspace, team: WorkerTeam
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

    /// R-forward over the rows in `part`: dense R{z} = R{a}W + aV_W + V_b, conv the same on
    /// im2col rows, pooling and activations their linearisations (R{a} = φ'⊙R{z}, R{input} at
    /// each argmax, window means), and at the output R{δ} = R{p}/B with R{p} = p⊙(R{z} − Σ p⊙R{z}).
    /// R{input} is zero below the first layer with parameters (inputs do not depend on w).
    func rForward(
        parameters w: UnsafePointer<Double>, direction v: UnsafePointer<Double>, rows part: Range<Int>,
        workspace: NetworkWorkspace
    ) {
        guard !part.isEmpty else { return }
        for s in stages.indices { rForwardStage(s, parameters: w, direction: v, rows: part, workspace: workspace) }
        rSoftmax(rows: part, batch: workspace.gradientBatch, workspace: workspace)
    }

    /// Stage `s` of the R-forward pass over the rows in `part`: R{outputs[s]} from the previous
    /// stage's output and R-output (see `rForward`).
    func rForwardStage(
        _ s: Int, parameters w: UnsafePointer<Double>, direction v: UnsafePointer<Double>, rows part: Range<Int>,
        workspace: NetworkWorkspace
    ) {
        let stage = stages[s], rows = part.count, first = part.lowerBound
        let previous =  // a_{s−1}: (B, inputCount)
            UnsafePointer(s > 0 ? workspace.outputs[s - 1] : workspace.input) + first * stage.inputCount
        let rOut = workspace.rOutputs[s] + first * stage.outputCount  // (B, outputCount)
        let rPrevious = s > 0 ? UnsafePointer(workspace.rOutputs[s - 1] + first * stage.inputCount) : nil
        let n = rows * stage.outputCount
        switch stage.operation {
        case .dense:
            var viaInput: ShortProducts.Operand?
            if stage.dependsOnParameters, let rPrevious {
                viaInput = .init(a: rPrevious, lda: stage.fanIn, b: w + stage.weightOffset, ldb: stage.fanOut)
            }
            ShortProducts.run(
                m: rows, n: stage.fanOut, k: stage.fanIn,
                .init(a: previous, lda: stage.fanIn, b: v + stage.weightOffset, ldb: stage.fanOut),
                plus: viaInput, base: .bias(v + stage.biasOffset), into: rOut, ldc: stage.fanOut)
        case .conv2d(let geometry):
            if let gather = workspace.imageGathers[s] {
                // im2col(x)·V + V_b + im2col(R{x})·W, both gathered from padded images.
                var viaInput: ShortProducts.Operand?
                if stage.dependsOnParameters, s > 0 {
                    viaInput = gather.matrix(over: workspace.rOutputs[s - 1], padding: part, r: true).rows(
                        from: first * geometry.positions, times: w + stage.weightOffset, ldb: stage.fanOut)
                }
                let images = s > 0 ? UnsafePointer(workspace.outputs[s - 1]) : UnsafePointer(workspace.input)
                ShortProducts.run(
                    m: rows * geometry.positions, n: stage.fanOut, k: stage.fanIn,
                    gather.matrix(over: images).rows(
                        from: first * geometry.positions, times: v + stage.weightOffset, ldb: stage.fanOut),
                    plus: viaInput, base: .bias(v + stage.biasOffset), into: rOut, ldc: stage.fanOut)
                break
            }
            let offset = first * geometry.positions * geometry.patch
            rConvolve(
                columns: UnsafePointer(workspace.columns[s]! + offset),
                rInput: stage.dependsOnParameters ? rPrevious : nil,
                rColumns: workspace.rColumns[s]! + offset, weights: w + stage.weightOffset,
                direction: v + stage.weightOffset, directionBiases: v + stage.biasOffset, into: rOut,
                rows: rows, geometry: geometry)
        case .activation:
            if stage.dependsOnParameters, let rPrevious {
                // A relu under max pooling: the pooling's R-forward reads R{z} itself.
                if s + 1 < stages.count && isMaxPoolOverRelu(s + 1) { break }
                timesDerivative(
                    s, rPrevious, into: rOut, from: first * stage.outputCount, count: n, workspace: workspace)
            } else {
                rOut.update(repeating: 0, count: n)
            }
        case .maxpool(let geometry):
            if stage.dependsOnParameters, isMaxPoolOverRelu(s) {
                // R{out} = R{z}·φ' at each window's maximum: what relu's R-forward would have
                // left there, read where the pooling reads it.
                gatherMaxima(
                    workspace.rOutputs[s - 2] + first * stage.inputCount,
                    routes: workspace.routes[s]! + first * stage.outputCount,
                    activations: workspace.outputs[s - 1] + first * stage.inputCount, into: rOut, rows: rows,
                    geometry: geometry)
            } else if stage.dependsOnParameters, let rPrevious {
                gatherMaxima(
                    rPrevious, routes: workspace.routes[s]! + first * stage.outputCount, into: rOut,
                    rows: rows, geometry: geometry)
            } else {
                rOut.update(repeating: 0, count: n)
            }
        case .avgpool(let geometry):
            if stage.dependsOnParameters, let rPrevious {
                averagePool(rPrevious, into: rOut, rows: rows, geometry: geometry)
            } else {
                rOut.update(repeating: 0, count: n)
            }
        }
    }

    /// R{δ} at the output over the rows in `part` (see `rSoftmax(probabilities:…)`), from the
    /// probabilities and R{logits} of those rows, for a batch of `batch`.
    func rSoftmax(rows part: Range<Int>, batch: Int, workspace: NetworkWorkspace) {
        let last = stages.count - 1, classes = stages[last].outputCount, offset = part.lowerBound * classes
        rSoftmax(
            probabilities: workspace.outputs[last] + offset, rLogits: workspace.rOutputs[last] + offset,
            into: workspace.rGradients[last] + offset, rows: part.count, batch: batch, classes: classes)
    }

    /// R-backward: for a layer with parameters R{dW} = R{a}ᵀδ + aᵀR{δ} (im2col rows for conv),
    /// R{db} = colsum R{δ}, R{∂L/∂input} = R{δ}Wᵀ + δVᵀ (then col2im); for an activation
    /// R{δ_in} = R{δ}⊙φ' + δ⊙φ''⊙R{z}; pooling routes R{δ} as it routes δ. At the first stage
    /// R{∂L/∂input} is the input product. Overwrites `result` (no penalty term).
    func rBackward(
        parameters w: UnsafePointer<Double>, direction v: UnsafePointer<Double>, rows: Int,
        result hv: UnsafeMutablePointer<Double>, inputProduct: UnsafeMutablePointer<Double>?,
        workspace: NetworkWorkspace, team: WorkerTeam
    ) {
        var folded: Int?  // an activation already run inside the layer above's section
        for s in stages.indices.reversed() where s != folded {
            let target = inputTarget(s, buffers: workspace.rGradients, inputs: inputProduct)
            if isMaxPoolOverRelu(s) {
                folded = s - 1  // run inside this step
                backwardMaxPoolOverRelu(
                    s, delta: workspace.rGradients[s], buffers: workspace.rGradients, inputs: inputProduct, rows: rows,
                    workspace: workspace, team: team)
                continue
            }
            switch stages[s].operation {
            case .dense, .conv2d:
                let work = curvatureWork(
                    s, parameters: w, direction: v, rows: rows, result: hv, inputProduct: inputProduct,
                    workspace: workspace)
                folded = work.folded
                runLayerProducts(s, rows: rows, work, workspace: workspace, team: team)
            case .activation, .maxpool, .avgpool:
                guard let target else { continue }
                // Element by element, so split by rows between the team (the same bits either way).
                let (top, bottom) = halves(0..<rows)
                team.run(
                    { rBackwardWithoutParameters(s, into: target, rows: top, workspace: workspace) },
                    { rBackwardWithoutParameters(s, into: target, rows: bottom, workspace: workspace) })
            }
        }
    }

    /// The R-backward pass's work at layer `s` (dense or conv; see `rBackward`).
    func curvatureWork(
        _ s: Int, parameters w: UnsafePointer<Double>, direction v: UnsafePointer<Double>, rows: Int,
        result hv: UnsafeMutablePointer<Double>, inputProduct: UnsafeMutablePointer<Double>?,
        workspace: NetworkWorkspace
    ) -> LayerWork {
        let stage = stages[s]
        // Both (B, outputCount).
        let delta = UnsafePointer(workspace.gradients[s]), rDelta = UnsafePointer(workspace.rGradients[s])
        let previous = UnsafePointer(s > 0 ? workspace.outputs[s - 1] : workspace.input)
        let target = inputTarget(s, buffers: workspace.rGradients, inputs: inputProduct)
        let (positions, columns) = columnMatrix(s, input: previous, workspace: workspace)
        // R{a}'s column matrix: R{input} is zero below the first layer with parameters.
        let rColumns =
            stage.dependsOnParameters && s > 0
            ? columnMatrix(s, input: workspace.rOutputs[s - 1], r: true, workspace: workspace).matrix : nil
        let products = rows * positions
        // R{dW} rows `part`: (part, fanOut)
        let weights = { (part: Range<Int>) in
            ShortProducts.run(
                m: part.count, n: stage.fanOut, k: products,
                columns.transposedRows(part, times: rDelta, ldb: stage.fanOut),
                plus: rColumns?.transposedRows(part, times: delta, ldb: stage.fanOut), base: .zero,
                into: hv + stage.weightOffset + part.lowerBound * stage.fanOut, ldc: stage.fanOut)
        }
        let biases = {
            addColumnSums(
                of: rDelta, rows: products, cols: stage.fanOut, into: hv + stage.biasOffset, accumulate: false)
        }
        guard let target else { return LayerWork(weights: weights, biases: biases, input: nil, folded: nil) }
        let activation = foldedActivation(below: s)
        let input = { (part: Range<Int>, half: Int) in
            if case .conv2d(let geometry) = stage.operation {
                backpropagateColumns(
                    delta: rDelta, weights: w + stage.weightOffset, plus: (delta, v + stage.weightOffset),
                    scratch: workspace.columnGradients[half], into: target, images: part, geometry: geometry)
                return
            }
            let first = part.lowerBound * stage.fanOut
            ShortProducts.run(
                m: part.count, n: stage.fanIn, k: stage.fanOut,
                .init(
                    a: rDelta + first, lda: stage.fanOut, b: w + stage.weightOffset, ldb: stage.fanOut,
                    transposed: true),
                plus: .init(
                    a: delta + first, lda: stage.fanOut, b: v + stage.weightOffset, ldb: stage.fanOut,
                    transposed: true),
                base: .zero, into: target + part.lowerBound * stage.fanIn, ldc: stage.fanIn)
            if let activation {
                rBackwardActivation(
                    activation, into: workspace.rGradients[activation - 1], rows: part, workspace: workspace)
            }
        }
        return LayerWork(weights: weights, biases: biases, input: input, folded: activation)
    }

    /// The R-backward of stage `s`, which has no parameters, over the rows in `part` into `target`:
    /// an activation's (`rBackwardActivation`), or pooling's, which routes R{δ} as it routes δ.
    func rBackwardWithoutParameters(
        _ s: Int, into target: UnsafeMutablePointer<Double>, rows part: Range<Int>, workspace: NetworkWorkspace
    ) {
        if case .activation = stages[s].operation {
            rBackwardActivation(s, into: target, rows: part, workspace: workspace)
        } else {
            backwardWithoutParameters(
                s, delta: workspace.rGradients[s], into: target, rows: part, workspace: workspace)
        }
    }

    /// R-backward of activation stage `s` over `rows` rows into `target`:
    /// R{δ_in} = R{δ}⊙φ' + δ⊙φ''⊙R{z}, with R{z} the previous stage's R{output}.
    func rBackwardActivation(
        _ s: Int, into target: UnsafeMutablePointer<Double>, rows part: Range<Int>, workspace: NetworkWorkspace
    ) {
        guard case .activation(let activation) = stages[s].operation else {
            preconditionFailure("rBackwardActivation: stage \(s) is not an activation")
        }
        let offset = part.lowerBound * stages[s].outputCount, n = part.count * stages[s].outputCount
        let out = target + offset
        if stages[s].dependsOnParameters && activation.storesDerivative {
            out.update(from: workspace.rGradients[s] + offset, count: n)
            activation.rBackward(
                out, activation: workspace.outputs[s] + offset, derivative: workspace.routes[s]! + offset,
                upstream: workspace.gradients[s] + offset, rPreactivation: workspace.rOutputs[s - 1] + offset, count: n)
        } else {
            // R{z} = 0, or relu's φ'' = 0 away from the kink: only R{δ}⊙φ' remains.
            timesDerivative(
                s, workspace.rGradients[s] + offset, into: out, from: offset, count: n, workspace: workspace)
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
