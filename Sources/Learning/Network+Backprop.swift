import LinearAlgebra

// The forward and backward passes, layer by layer, over views into the flat parameter vector and
// the workspace. Shapes are in the comments: B is the number of rows in the pass.
//
// Each pass is cut into two fixed halves (`WorkerTeam.run`): the forward pass and the softmax by
// rows, the backward pass into its two independent products per layer. The cut is the same
// whatever the thread count, so one and two threads give the same bits.
extension Network {
    /// Forward pass and softmax cross-entropy over `rows` rows: outputs[s] ← stage s of
    /// outputs[s − 1], probabilities p in outputs[last]. Returns the summed cross-entropy and the number of rows whose first arg-max is not the label; writes
    /// δ = (p − Y)/normalizer into `delta` when given.  // (B, classes)
    func forwardAndLoss(
        parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, labels: UnsafePointer<Int32>,
        rows: Int, normalizer: Double, delta: UnsafeMutablePointer<Double>?, workspace: NetworkWorkspace,
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
    /// output layer's logits are left in outputs[last] for the softmax.
    func forward(
        parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, rows part: Range<Int>,
        workspace: NetworkWorkspace
    ) {
        guard !part.isEmpty else { return }
        for s in stages.indices { forwardStage(s, parameters: w, input: input, rows: part, workspace: workspace) }
    }

    /// Stage `s` of the forward pass over the rows in `part`: outputs[s] from the previous stage's
    /// output (`input` for the first).
    func forwardStage(
        _ s: Int, parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, rows part: Range<Int>,
        workspace: NetworkWorkspace
    ) {
        let stage = stages[s], rows = part.count, first = part.lowerBound
        let previous =
            s > 0
            ? UnsafePointer(workspace.outputs[s - 1] + first * stage.inputCount)
            : input + first * architecture.inputCount  // a_{s−1}: (B, inputCount)
        let out = workspace.outputs[s] + first * stage.outputCount  // (B, outputCount)
        switch stage.operation {
        case .dense:
            ShortProducts.run(
                m: rows, n: stage.fanOut, k: stage.fanIn,
                .init(a: previous, lda: stage.fanIn, b: w + stage.weightOffset, ldb: stage.fanOut),
                base: .bias(w + stage.biasOffset), into: out, ldc: stage.fanOut)
        case .conv2d(let geometry):
            if let gather = workspace.imageGathers[s] {
                // im2col(x)·W + b, the columns gathered from the padded images.
                let images = s > 0 ? UnsafePointer(workspace.outputs[s - 1]) : input
                ShortProducts.run(
                    m: rows * geometry.positions, n: stage.fanOut, k: stage.fanIn,
                    gather.matrix(over: images, padding: part).rows(
                        from: first * geometry.positions, times: w + stage.weightOffset, ldb: stage.fanOut),
                    base: .bias(w + stage.biasOffset), into: out, ldc: stage.fanOut)
                break
            }
            let columns = workspace.columns[s]! + first * geometry.positions * geometry.patch
            convolve(
                previous, columns: columns, weights: w + stage.weightOffset, biases: w + stage.biasOffset,
                into: out, rows: rows, geometry: geometry)
        case .maxpool(let geometry):
            maxPool(
                previous, into: out, routes: workspace.routes[s]! + first * stage.outputCount, rows: rows,
                geometry: geometry)
        case .avgpool(let geometry):
            averagePool(previous, into: out, rows: rows, geometry: geometry)
        case .activation(let activation):
            let n = rows * stage.outputCount
            if activation == .relu {
                rectify(previous, into: out, count: n)
            } else {
                out.update(from: previous, count: n)
                activation.forward(out, derivative: workspace.routes[s]! + first * stage.outputCount, count: n)
            }
        }
    }

    /// Turns the logits of the rows in `part` into probabilities in place; see `forwardAndLoss`.
    func softmaxCrossEntropy(
        labels: UnsafePointer<Int32>, rows part: Range<Int>, normalizer: Double,
        delta: UnsafeMutablePointer<Double>?, workspace: NetworkWorkspace
    ) -> (crossEntropy: Double, errors: Int) {
        let classes = architecture.classCount
        let probabilities = workspace.outputs[stages.count - 1]
        var crossEntropy = 0.0, errors = 0
        for r in part {
            let label = Int(labels[r])
            precondition(label >= 0 && label < classes, "Network: label \(label) outside 0..<\(classes)")
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

    /// Backward pass from δ in gradients[last]: per stage, its parameters' gradient (dense:
    /// dW = aᵀδ, db = colsum δ; conv: the same on im2col rows) and ∂L/∂input into the previous
    /// stage's gradient (δW ᵀ, col2im of δWᵀ, argmax routing, window spreading, ⊙φ'). Adds into
    /// `gradient` when `accumulate`, else overwrites it (no penalty term). Writes ∂L/∂input of the
    /// first stage to `inputGradient` when given.  // (B, inputs)
    ///
    /// Per layer with parameters the two products (dW, and ∂L/∂input) are independent: one per
    /// half. When no input gradient is needed, dW is split by its rows instead; layers without
    /// parameters split their rows, except an activation right below a dense layer, which runs in
    /// the half that computed its δ (`foldedActivation`).
    func backward(
        parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, rows: Int,
        gradient dw: UnsafeMutablePointer<Double>, accumulate: Bool,
        inputGradient: UnsafeMutablePointer<Double>?, workspace: NetworkWorkspace, team: WorkerTeam
    ) {
        var folded: Int?  // an activation already run inside the layer above's section
        for s in stages.indices.reversed() where s != folded {
            let stage = stages[s]
            let delta = UnsafePointer(workspace.gradients[s])  // (B, outputCount)
            // ∂L/∂input, needed below a layer with parameters or for the inputs themselves.
            let below = inputTarget(s, buffers: workspace.gradients, inputs: inputGradient)
            if isMaxPoolOverRelu(s) {
                folded = s - 1  // run inside this step
                backwardMaxPoolOverRelu(
                    s, delta: delta, buffers: workspace.gradients, inputs: inputGradient, rows: rows,
                    workspace: workspace, team: team)
                continue
            }
            switch stage.operation {
            case .dense, .conv2d:
                let work = gradientWork(
                    s, parameters: w, input: input, rows: rows, gradient: dw, accumulate: accumulate,
                    inputGradient: inputGradient, workspace: workspace)
                folded = work.folded
                runLayerProducts(s, rows: rows, work, workspace: workspace, team: team)
            case .maxpool, .avgpool, .activation:
                guard let below else { continue }
                let (top, bottom) = halves(0..<rows)
                team.run(
                    { backwardWithoutParameters(s, delta: delta, into: below, rows: top, workspace: workspace) },
                    { backwardWithoutParameters(s, delta: delta, into: below, rows: bottom, workspace: workspace) })
            }
        }
    }

    /// A layer's share of a backward pass (or of its R-pass), for `runLayerProducts`: its weight
    /// products by rows of W, its bias sums, its input product by rows of the batch with the
    /// column-gradient scratch of a half (nil when nothing below needs it), and the activation
    /// stage run inside the input product (`foldedActivation`), which the pass then skips.
    struct LayerWork {
        let weights: (Range<Int>) -> Void
        let biases: () -> Void
        let input: ((Range<Int>, Int) -> Void)?
        let folded: Int?
    }

    /// The backward pass's work at layer `s` (dense or conv; see `backward`).
    func gradientWork(
        _ s: Int, parameters w: UnsafePointer<Double>, input: UnsafePointer<Double>, rows: Int,
        gradient dw: UnsafeMutablePointer<Double>, accumulate: Bool, inputGradient: UnsafeMutablePointer<Double>?,
        workspace: NetworkWorkspace
    ) -> LayerWork {
        let stage = stages[s]
        let previous = s > 0 ? UnsafePointer(workspace.outputs[s - 1]) : input  // (B, inputCount)
        let delta = UnsafePointer(workspace.gradients[s])  // (B, outputCount)
        let below = inputTarget(s, buffers: workspace.gradients, inputs: inputGradient)
        // Weight-gradient rows `part`: (part, fanOut); the dense form is the conv form with one
        // position per row and the input as its own column matrix.
        let (positions, columns) = columnMatrix(s, input: previous, workspace: workspace)
        let products = rows * positions
        let weights = { (part: Range<Int>) in
            ShortProducts.run(
                m: part.count, n: stage.fanOut, k: products,
                columns.transposedRows(part, times: delta, ldb: stage.fanOut),
                base: accumulate ? .accumulate : .zero,
                into: dw + stage.weightOffset + part.lowerBound * stage.fanOut, ldc: stage.fanOut)
        }
        let biases = {
            addColumnSums(
                of: delta, rows: products, cols: stage.fanOut, into: dw + stage.biasOffset, accumulate: accumulate)
        }
        guard let below else { return LayerWork(weights: weights, biases: biases, input: nil, folded: nil) }
        let activation = foldedActivation(below: s)
        let inputGradient = { (part: Range<Int>, half: Int) in
            if case .conv2d(let geometry) = stage.operation {
                // ∂L/∂columns = δWᵀ: (B·positions, patch), summed back onto the pixels.
                backpropagateColumns(
                    delta: delta, weights: w + stage.weightOffset, plus: nil,
                    scratch: workspace.columnGradients[half], into: below, images: part, geometry: geometry)
            } else {
                // δ' = δWᵀ: (B, fanIn).
                ShortProducts.run(
                    m: part.count, n: stage.fanIn, k: stage.fanOut,
                    .init(
                        a: delta + part.lowerBound * stage.fanOut, lda: stage.fanOut, b: w + stage.weightOffset,
                        ldb: stage.fanOut, transposed: true),
                    base: .zero, into: below + part.lowerBound * stage.fanIn, ldc: stage.fanIn)
            }
            if let activation {
                backwardWithoutParameters(
                    activation, delta: below, into: workspace.gradients[activation - 1], rows: part,
                    workspace: workspace)
            }
        }
        return LayerWork(weights: weights, biases: biases, input: inputGradient, folded: activation)
    }

    /// Stage `s`'s input as its products' A, and the rows of A per row of the batch: the input
    /// itself (dense), or the im2col matrix of the input, written out by the forward pass or
    /// gathered from its padded images (conv); with `r`, the same of R{input} (the R-passes'). Every
    /// row of the batch, from 0.
    func columnMatrix(
        _ s: Int, input: UnsafePointer<Double>, r: Bool = false, workspace: NetworkWorkspace
    ) -> (positions: Int, matrix: ColumnMatrix) {
        guard case .conv2d(let geometry) = stages[s].operation else {
            return (1, ColumnMatrix(base: input, width: stages[s].fanIn, gather: nil))
        }
        if let gather = workspace.imageGathers[s] { return (geometry.positions, gather.matrix(over: input, r: r)) }
        let written = r ? workspace.rColumns[s]! : workspace.columns[s]!
        return (geometry.positions, ColumnMatrix(base: written, width: geometry.patch, gather: nil))
    }

    /// The activation stage between dense stages `s − 2` and `s`, whose backward pass (elementwise
    /// over a dense layer's width, a few microseconds) runs right after the product that feeds it,
    /// in the same half, instead of as a section of its own: the arithmetic is the same, there is
    /// one hand-over fewer per layer. Nil for any other arrangement (an activation over a conv
    /// layer's whole image keeps its own section, split by rows).
    func foldedActivation(below s: Int) -> Int? {
        guard s >= 2, case .dense = stages[s].operation, case .activation = stages[s - 1].operation,
            case .dense = stages[s - 2].operation
        else { return nil }
        return s - 1
    }

    /// Runs the products of a layer with parameters on the team. Without an input product the
    /// weight rows split in two (the biases with the second half). With one, where `inputCut` is
    /// 0 the weight rows and the biases run in one half and the input product over every row in
    /// the other; where it is positive (a conv layer, whose input product is the larger, and
    /// col2im with it) each half takes half of both: weight rows cut at an even row and the
    /// batch's rows at `inputCut`, `input(rows, half)` using the column-gradient scratch `half`.
    ///
    /// The cuts are fixed, so the bits are the same with one or two threads. A product's rows are
    /// summed alike wherever it is cut, but for a lone odd last row, and `inputCut` falls between
    /// the calls a single pass makes, so a cut at an even row gives the bits of the whole product:
    /// one thread then runs it whole (a cut weight product streams its A twice).
    func runLayerProducts(
        fanIn: Int, rows: Int, inputCut: Int, team: WorkerTeam, weights: (Range<Int>) -> Void, biases: () -> Void,
        input: ((Range<Int>, Int) -> Void)?
    ) {
        let alone = team.threads == 1
        guard let input else {
            let (top, bottom) = halves(0..<fanIn)
            if alone && top.count % 2 == 0 {
                weights(0..<fanIn)
                biases()
                return
            }
            team.run(
                { weights(top) },
                {
                    weights(bottom)
                    biases()
                })
            return
        }
        guard inputCut > 0 && !alone else {
            team.run(
                {
                    weights(0..<fanIn)
                    biases()
                }, { input(0..<rows, 1) })
            return
        }
        let weightCut = fanIn / 4 * 2
        team.run(
            {
                input(0..<inputCut, 0)
                weights(0..<weightCut)
            },
            {
                input(inputCut..<rows, 1)
                weights(weightCut..<fanIn)
                biases()
            })
    }

    /// Runs layer `s`'s work on the team for a batch of `rows` (see the general form below).
    func runLayerProducts(_ s: Int, rows: Int, _ work: LayerWork, workspace: NetworkWorkspace, team: WorkerTeam) {
        runLayerProducts(
            fanIn: stages[s].fanIn, rows: rows, inputCut: inputRowCut(s, rows: rows, workspace: workspace), team: team,
            weights: work.weights, biases: work.biases, input: work.input)
    }

    /// Where `runLayerProducts` cuts the rows of stage `s`'s input product for a batch of `rows`:
    /// for a conv layer at the whole block of images (`columnBlockImages`) nearest the middle, so
    /// that each half makes calls a single pass would make, once the batch holds two blocks; 0
    /// (no cut) for a dense layer, whose two products are about the same size, and where the
    /// workspace says not to.
    func inputRowCut(_ s: Int, rows: Int, workspace: NetworkWorkspace) -> Int {
        guard workspace.cutsInputProducts, case .conv2d(let g) = stages[s].operation else { return 0 }
        let block = Self.columnBlockImages(g)
        return rows >= 2 * block ? (rows / 2 + block / 2) / block * block : 0
    }

    /// Where ∂L/∂input of stage `s` goes (or its R-pass, with the R-buffers): the previous stage's
    /// buffer in `buffers` when a layer with parameters lies at or below `s` or the inputs want
    /// it, `inputs` at the first stage, nil when nothing needs it.
    func inputTarget(
        _ s: Int, buffers: [UnsafeMutablePointer<Double>], inputs: UnsafeMutablePointer<Double>?
    ) -> UnsafeMutablePointer<Double>? {
        s == 0 ? inputs : stages[s].dependsOnParameters || inputs != nil ? buffers[s - 1] : nil
    }

    /// Whether stage `s` is max pooling right over a relu. The passes then run the two as one:
    /// relu's output is needed only at each window's maximum, so neither its R-forward output nor
    /// its input's gradients need a pass over the whole image of their own (LeNet's first conv
    /// layer: 627,200 values a batch, three full reads or writes each time).
    func isMaxPoolOverRelu(_ s: Int) -> Bool {
        guard s >= 1, case .maxpool = stages[s].operation, case .activation(.relu) = stages[s - 1].operation else {
            return false
        }
        return true
    }

    /// The backward step of max pooling stage `s` and the relu under it, on `delta` (δ, or R{δ}
    /// for the R-backward, whose relu step is R{δ}⊙φ' too: φ'' = 0 off the kink), into the relu's
    /// input target (`inputTarget` over `buffers` and `inputs`), split by rows; nothing when
    /// nothing needs it.
    func backwardMaxPoolOverRelu(
        _ s: Int, delta: UnsafePointer<Double>, buffers: [UnsafeMutablePointer<Double>],
        inputs: UnsafeMutablePointer<Double>?, rows: Int, workspace: NetworkWorkspace, team: WorkerTeam
    ) {
        guard let pass = maxPoolOverReluPass(s, delta: delta, buffers: buffers, inputs: inputs, workspace: workspace)
        else { return }
        let (top, bottom) = halves(0..<rows)
        team.run({ pass(top) }, { pass(bottom) })
    }

    /// `backwardMaxPoolOverRelu`'s work on a range of rows, or nil when nothing needs it; with
    /// `second`, a second gradient over the same maxima into its own target in the same pass (the
    /// R-backward's beside the backward's), or alone when the first has no target.
    func maxPoolOverReluPass(
        _ s: Int, delta: UnsafePointer<Double>, buffers: [UnsafeMutablePointer<Double>],
        inputs: UnsafeMutablePointer<Double>?,
        alongside second: (
            delta: UnsafePointer<Double>, buffers: [UnsafeMutablePointer<Double>],
            inputs: UnsafeMutablePointer<Double>?
        )? = nil,
        workspace: NetworkWorkspace
    ) -> ((Range<Int>) -> Void)? {
        guard case .maxpool(let g) = stages[s].operation else {
            preconditionFailure("backwardMaxPoolOverRelu: stage \(s) is not max pooling")
        }
        let primary = inputTarget(s - 1, buffers: buffers, inputs: inputs).map { (delta: delta, target: $0) }
        let secondary = second.flatMap { second in
            inputTarget(s - 1, buffers: second.buffers, inputs: second.inputs).map { (delta: second.delta, target: $0) }
        }
        guard let first = primary ?? secondary else { return nil }
        let other = primary == nil ? nil : secondary
        let inCount = g.input.count, outCount = g.output.count
        return { rows in
            guard !rows.isEmpty else { return }
            let (images, outputs) = (rows.lowerBound * inCount, rows.lowerBound * outCount)
            unpoolMaximum(
                first.delta + outputs, routes: workspace.routes[s]! + outputs,
                activations: workspace.outputs[s - 1] + images, into: first.target + images, rows: rows.count,
                geometry: g, alongside: other.map { ($0.delta + outputs, $0.target + images) })
        }
    }

    /// ∂L/∂input of a stage without parameters, rows `part`: δ ⊙ φ', δ routed to each window's
    /// argmax, or δ spread evenly over each window.
    func backwardWithoutParameters(
        _ s: Int, delta: UnsafePointer<Double>, into below: UnsafeMutablePointer<Double>, rows part: Range<Int>,
        workspace: NetworkWorkspace
    ) {
        guard !part.isEmpty else { return }
        let stage = stages[s]
        let out = delta + part.lowerBound * stage.outputCount
        let inp = below + part.lowerBound * stage.inputCount
        switch stage.operation {
        case .activation:
            timesDerivative(
                s, out, into: inp, from: part.lowerBound * stage.outputCount, count: part.count * stage.outputCount,
                workspace: workspace)
        case .maxpool(let geometry):
            unpoolMaximum(
                out, routes: workspace.routes[s]! + part.lowerBound * stage.outputCount, into: inp,
                rows: part.count, geometry: geometry)
        case .avgpool(let geometry):
            unpoolAverage(out, into: inp, rows: part.count, geometry: geometry)
        case .dense, .conv2d:
            preconditionFailure("backwardWithoutParameters: stage \(s) has parameters")
        }
    }
}

extension Network {
    /// out[i] = x[i]·φ'_i over `count` values of activation stage `s` from value `offset` of its
    /// rows: φ' as the forward pass stored it, or for relu, which stores none, 1 where its output
    /// is positive and 0 elsewhere (exactly what it would have stored: the output is positive
    /// where the input is). x and out may be the same.
    func timesDerivative(
        _ s: Int, _ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, from offset: Int, count: Int,
        workspace: NetworkWorkspace
    ) {
        guard let stored = workspace.routes[s] else {
            let a = workspace.outputs[s] + offset
            for i in 0..<count { out[i] = x[i] * (a[i] > 0 ? 1 : 0) }
            return
        }
        let derivative = stored + offset
        for i in 0..<count { out[i] = x[i] * derivative[i] }
    }
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
