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
        let rows = part.count, first = part.lowerBound
        var previous = UnsafePointer(workspace.input + first * architecture.inputCount)  // a_{s−1}: (B, inputCount)
        for (s, stage) in stages.enumerated() {
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
                    gatherMaximaThroughRelu(
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
            if s == stages.count - 1 {
                rSoftmax(
                    probabilities: workspace.outputs[s] + first * stage.outputCount, rLogits: rOut,
                    into: workspace.rGradients[s] + first * stage.outputCount, rows: rows,
                    batch: workspace.gradientBatch, classes: stage.outputCount)
            }
            previous = UnsafePointer(workspace.outputs[s] + first * stage.outputCount)
        }
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
            let stage = stages[s]
            // Both (B, outputCount).
            let delta = UnsafePointer(workspace.gradients[s]), rDelta = UnsafePointer(workspace.rGradients[s])
            let previous = UnsafePointer(s > 0 ? workspace.outputs[s - 1] : workspace.input)
            let target = inputTarget(s, buffers: workspace.rGradients, inputs: inputProduct)
            if isMaxPoolOverRelu(s) {
                folded = s - 1  // run inside this step
                backwardMaxPoolOverRelu(
                    s, delta: rDelta, buffers: workspace.rGradients, inputs: inputProduct, rows: rows,
                    workspace: workspace, team: team)
                continue
            }
            switch stage.operation {
            case .dense, .conv2d:
                let (positions, columns) = columnMatrix(s, input: previous, workspace: workspace)
                // R{a}'s column matrix: R{input} is zero below the first layer with parameters.
                let rColumns =
                    stage.dependsOnParameters && s > 0
                    ? columnMatrix(s, input: workspace.rOutputs[s - 1], r: true, workspace: workspace).matrix : nil
                let products = rows * positions
                // R{dW} rows `part`: (part, fanOut)
                func weightProduct(_ part: Range<Int>) {
                    ShortProducts.run(
                        m: part.count, n: stage.fanOut, k: products,
                        columns.transposedRows(part, times: rDelta, ldb: stage.fanOut),
                        plus: rColumns?.transposedRows(part, times: delta, ldb: stage.fanOut), base: .zero,
                        into: hv + stage.weightOffset + part.lowerBound * stage.fanOut,
                        ldc: stage.fanOut)
                }
                func biasProduct() {
                    addColumnSums(
                        of: rDelta, rows: products, cols: stage.fanOut, into: hv + stage.biasOffset,
                        accumulate: false)
                }
                folded = target == nil ? nil : foldedActivation(below: s)
                var inputProduct: ((Range<Int>, Int) -> Void)?
                if let target {
                    let activation = folded
                    inputProduct = { part, half in
                        if case .conv2d(let geometry) = stage.operation {
                            backpropagateColumns(
                                delta: rDelta, weights: w + stage.weightOffset,
                                plus: (delta, v + stage.weightOffset), scratch: workspace.columnGradients[half],
                                into: target, images: part, geometry: geometry)
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
                                activation, into: workspace.rGradients[activation - 1], rows: part,
                                workspace: workspace)
                        }
                    }
                }
                runLayerProducts(
                    fanIn: stage.fanIn, rows: rows, inputCut: inputRowCut(s, rows: rows, workspace: workspace),
                    team: team,
                    weights: weightProduct, biases: biasProduct, input: inputProduct)
            case .activation:
                guard let target else { continue }
                // Element by element, so split by rows between the team (the same bits either way).
                let (top, bottom) = halves(0..<rows)
                team.run(
                    { rBackwardActivation(s, into: target, rows: top, workspace: workspace) },
                    { rBackwardActivation(s, into: target, rows: bottom, workspace: workspace) })
            case .maxpool, .avgpool:
                guard let target else { continue }
                let (top, bottom) = halves(0..<rows)
                team.run(
                    { backwardWithoutParameters(s, delta: rDelta, into: target, rows: top, workspace: workspace) },
                    { backwardWithoutParameters(s, delta: rDelta, into: target, rows: bottom, workspace: workspace) })
            }
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
