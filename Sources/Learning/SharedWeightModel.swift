/// Several networks of one dense architecture, one per task, whose weights are learned mixtures
/// of shared parameters: the weights of layer l of task a are
///
///     W_l(a) = Σ_j T_l[a, j] · z_l(j)
///
/// with one z_l(j) per task j (the trained parameters, with every task's own biases) and the
/// task × task transforms T_l (hyperparameters). The training loss is the sum over tasks of each
/// task's mean cross-entropy on its own rows, plus ½ Σ λ z² on the z's.
///
/// The flat parameter vector has one block per layer for the z's, (task, fan-in, fan-out), and one
/// per layer for the biases, (task, fan-out): z1, b1, z2, b2, ... — the same weight/bias
/// alternation as a `Network`, so a trainer's per-block hyperparameters apply unchanged.
///
/// Because W is linear in z, every call maps to the tasks' networks and back:
/// ∇_{z_l(j)} = Σ_a T_l[a, j] ∇_{W_l(a)}, the same for a Hessian-vector product, whose direction is
/// first mapped forward (D_l(a) = Σ_j T_l[a, j] d_l(j)). The derivative of ⟨∇_z L, d⟩ with respect
/// to T_l[a, j], which the reverse pass needs, is ⟨∇_{W_l(a)} L_a, d_l(j)⟩ + ⟨H_a D(a) |_{W_l}, z_l(j)⟩
/// (docs/method.md); `curvatureProduct` adds it to `mixedTransform` as it goes.
public struct SharedWeightModel: Sendable {
    /// Every task's network.
    public let network: NetworkArchitecture
    /// Number of tasks.
    public let tasks: Int
    /// T_l per layer, task-major (a * tasks + j).  // (L, tasks²)
    public let transforms: [[Double]]
    /// The parameter blocks: z1, b1, z2, b2, ...
    public let blocks: [ParameterBlock]
    /// The per-task networks' model.
    let model: Network

    public init(network: NetworkArchitecture, tasks: Int, transforms: [[Double]]) {
        precondition(network.isDenseShorthand, "SharedWeightModel: the task network must be dense")
        precondition(tasks >= 1, "SharedWeightModel: need at least one task")
        precondition(
            transforms.count == network.layerCount && transforms.allSatisfy { $0.count == tasks * tasks },
            "SharedWeightModel: one tasks × tasks transform per layer")
        self.network = network
        self.tasks = tasks
        self.transforms = transforms
        model = Network(architecture: network)
        var blocks: [ParameterBlock] = []
        var offset = 0
        for l in 0..<network.layerCount {
            let weights = network.weights(l), bias = network.bias(l)
            let z = tasks * weights.range.count, b = tasks * bias.range.count
            blocks.append(
                ParameterBlock(
                    name: "z\(l + 1)", layer: l, kind: .weight, range: offset..<(offset + z), rows: weights.rows,
                    cols: weights.cols))
            blocks.append(
                ParameterBlock(
                    name: "b\(l + 1)", layer: l, kind: .bias, range: (offset + z)..<(offset + z + b), rows: 1,
                    cols: bias.cols))
            offset += z + b
        }
        self.blocks = blocks
    }

    /// Length of the flat parameter vector (z's and biases).
    public var parameterCount: Int { blocks.last!.range.upperBound }

    /// Number of layers with parameters.
    public var layerCount: Int { network.layerCount }

    /// The same tasks and layout with other transforms.
    public func with(transforms: [[Double]]) -> SharedWeightModel {
        SharedWeightModel(network: network, tasks: tasks, transforms: transforms)
    }

    /// T_l[a, j].
    @inline(__always)
    func transform(_ l: Int, _ a: Int, _ j: Int) -> Double { transforms[l][a * tasks + j] }

    /// Offset of z_l(j) and of b_l(a) in the flat vector.
    @inline(__always)
    func zOffset(_ l: Int, _ j: Int) -> Int { blocks[2 * l].range.lowerBound + j * network.weights(l).range.count }
    @inline(__always)
    func biasOffset(_ l: Int, _ a: Int) -> Int { blocks[2 * l + 1].range.lowerBound + a * network.bias(l).range.count }

    /// Task a's network parameters from the flat vector: W_l(a) = Σ_j T_l[a, j] z_l(j), b_l(a).
    func expand(_ flat: UnsafePointer<Double>, task a: Int, into w: UnsafeMutablePointer<Double>) {
        for l in 0..<layerCount {
            let weights = network.weights(l).range, bias = network.bias(l).range
            let target = w + weights.lowerBound
            target.update(repeating: 0, count: weights.count)
            for j in 0..<tasks {
                let factor = transform(l, a, j), source = flat + zOffset(l, j)
                for i in 0..<weights.count { target[i] += factor * source[i] }
            }
            (w + bias.lowerBound).update(from: flat + biasOffset(l, a), count: bias.count)
        }
    }

    /// The adjoint of `expand` over all tasks: flat z_l(j) = Σ_a T_l[a, j] perTask_a's W_l, b_l(a) =
    /// perTask_a's b_l (overwrites `flat`).
    func contract(_ perTask: [UnsafeMutablePointer<Double>], into flat: UnsafeMutablePointer<Double>) {
        for l in 0..<layerCount {
            let weights = network.weights(l).range, bias = network.bias(l).range
            for j in 0..<tasks {
                let target = flat + zOffset(l, j)
                target.update(repeating: 0, count: weights.count)
                for a in 0..<tasks {
                    let factor = transform(l, a, j), source = perTask[a] + weights.lowerBound
                    for i in 0..<weights.count { target[i] += factor * source[i] }
                }
            }
            for a in 0..<tasks {
                (flat + biasOffset(l, a)).update(from: perTask[a] + bias.lowerBound, count: bias.count)
            }
        }
    }

    /// Σ_tasks mean cross-entropy on each task's rows (`data.training`) + ½ Σ λ z². Writes ∇ into
    /// `gradient`, keeps every task's state in `workspace` for a following `curvatureProduct`.
    public func lossAndGradient(
        parameters: UnsafeBufferPointer<Double>, l2: UnsafeBufferPointer<Double>,
        gradient: UnsafeMutableBufferPointer<Double>, workspace: SharedWeightWorkspace, team: WorkerTeam = .serial
    ) -> Double {
        precondition(
            parameters.count == parameterCount && l2.count == parameterCount && gradient.count == parameterCount)
        let flat = parameters.baseAddress!
        var loss = 0.0
        for a in 0..<tasks {
            expand(flat, task: a, into: workspace.weights[a])
            let rows = workspace.training[a]
            loss += rows.inputs.withUnsafeBufferPointer { inputs in
                rows.labels.withUnsafeBufferPointer { labels in
                    model.lossAndGradient(
                        parameters: UnsafeBufferPointer(start: workspace.weights[a], count: network.parameterCount),
                        l2: UnsafeBufferPointer(workspace.zeroL2), inputs: inputs, labels: labels, batch: rows.rows,
                        gradient: UnsafeMutableBufferPointer(
                            start: workspace.gradients[a], count: network.parameterCount),
                        workspace: workspace.networks[a], team: team)
                }
            }
        }
        contract(workspace.gradients, into: gradient.baseAddress!)
        var penalty = 0.0
        for i in 0..<parameterCount where l2[i] != 0 {
            let decay = l2[i] * flat[i]
            penalty += decay * flat[i]
            gradient[i] += decay
        }
        return loss + 0.5 * penalty
    }

    /// H·d (the loss's Hessian at the point of the last `lossAndGradient`, without the penalty)
    /// into `result`, and ∂⟨∇_z L, d⟩/∂T added to `mixedTransform` (one tasks² array per layer).
    public func curvatureProduct(
        parameters: UnsafeBufferPointer<Double>, direction: UnsafeBufferPointer<Double>,
        result: UnsafeMutableBufferPointer<Double>, mixedTransform: inout [[Double]],
        workspace: SharedWeightWorkspace, team: WorkerTeam = .serial
    ) {
        precondition(parameters.count == parameterCount && direction.count == parameterCount)
        let z = parameters.baseAddress!, d = direction.baseAddress!, n = network.parameterCount
        for a in 0..<tasks {
            expand(d, task: a, into: workspace.directions[a])
            model.curvatureProduct(
                parameters: UnsafeBufferPointer(start: workspace.weights[a], count: n),
                direction: UnsafeBufferPointer(start: workspace.directions[a], count: n),
                result: UnsafeMutableBufferPointer(start: workspace.products[a], count: n), inputProduct: nil,
                workspace: workspace.networks[a], team: team)
            // ∂/∂T_l[a, j] of Σ_a ⟨G_a, D_a⟩ = ⟨G_a|_l, d_l(j)⟩ + ⟨(H_a D_a)|_l, z_l(j)⟩.
            for l in 0..<layerCount {
                let weights = network.weights(l).range
                let g = workspace.gradients[a] + weights.lowerBound, hd = workspace.products[a] + weights.lowerBound
                for j in 0..<tasks {
                    let dj = d + zOffset(l, j), zj = z + zOffset(l, j)
                    var sum = 0.0
                    for i in 0..<weights.count { sum += g[i] * dj[i] + hd[i] * zj[i] }
                    mixedTransform[l][a * tasks + j] += sum
                }
            }
        }
        contract(workspace.products, into: result.baseAddress!)
    }

    /// f = Σ_tasks mean cross-entropy on each task's `rows` (no penalty); ∂f/∂z into `gradient` and
    /// ∂f/∂T (one tasks² array per layer) returned with f.
    public func objectiveGradient(
        parameters: UnsafeBufferPointer<Double>, rows: [LabelledRows], gradient: UnsafeMutableBufferPointer<Double>,
        workspace: SharedWeightWorkspace
    ) -> (objective: Double, transforms: [[Double]]) {
        precondition(rows.count == tasks && parameters.count == parameterCount && gradient.count == parameterCount)
        let z = parameters.baseAddress!, n = network.parameterCount
        var objective = 0.0
        var dT = Array(repeating: Array(repeating: 0.0, count: tasks * tasks), count: layerCount)
        for a in 0..<tasks {
            expand(z, task: a, into: workspace.weights[a])
            let evaluation = NetworkWorkspace(
                architecture: network, batchCapacity: network.evaluationChunk(rows: rows[a].rows))
            objective += rows[a].inputs.withUnsafeBufferPointer { inputs in
                rows[a].labels.withUnsafeBufferPointer { labels in
                    model.objectiveGradient(
                        parameters: UnsafeBufferPointer(start: workspace.weights[a], count: n), inputs: inputs,
                        labels: labels, rows: rows[a].rows,
                        gradient: UnsafeMutableBufferPointer(start: workspace.products[a], count: n),
                        inputGradient: nil,
                        workspace: evaluation)
                }
            }
            for l in 0..<layerCount {
                let weights = network.weights(l).range
                let g = workspace.products[a] + weights.lowerBound
                for j in 0..<tasks {
                    let zj = z + zOffset(l, j)
                    var sum = 0.0
                    for i in 0..<weights.count { sum += g[i] * zj[i] }
                    dT[l][a * tasks + j] = sum
                }
            }
        }
        contract(workspace.products, into: gradient.baseAddress!)
        return (objective, dT)
    }

    /// Per task (mean cross-entropy, misclassified rows) on its `rows`: forward passes only, one
    /// task's network at a time.
    public func evaluate(parameters: [Double], rows: [LabelledRows]) -> [(loss: Double, errors: Int)] {
        precondition(rows.count == tasks && parameters.count == parameterCount)
        let n = network.parameterCount
        var weights = [Double](repeating: 0, count: n)
        return (0..<tasks).map { a in
            weights.withUnsafeMutableBufferPointer { w in
                parameters.withUnsafeBufferPointer { expand($0.baseAddress!, task: a, into: w.baseAddress!) }
                let evaluation = NetworkWorkspace(
                    architecture: network, batchCapacity: network.evaluationChunk(rows: rows[a].rows))
                return rows[a].inputs.withUnsafeBufferPointer { inputs in
                    rows[a].labels.withUnsafeBufferPointer { labels in
                        model.evaluate(
                            parameters: UnsafeBufferPointer(w), inputs: inputs, labels: labels, rows: rows[a].rows,
                            workspace: evaluation)
                    }
                }
            }
        }
    }
}

/// The per-task buffers of a `SharedWeightModel`'s calls, for a fixed set of training rows per
/// task (full batch): every task's network workspace, weights, gradient, direction and product.
public final class SharedWeightWorkspace {
    let training: [LabelledRows]
    let networks: [NetworkWorkspace]
    let weights: [UnsafeMutablePointer<Double>]
    let gradients: [UnsafeMutablePointer<Double>]
    let directions: [UnsafeMutablePointer<Double>]
    let products: [UnsafeMutablePointer<Double>]
    let zeroL2: UnsafeMutableBufferPointer<Double>

    public init(model: SharedWeightModel, training: [LabelledRows]) {
        precondition(training.count == model.tasks, "SharedWeightWorkspace: one set of rows per task")
        precondition(training.allSatisfy { $0.features == model.network.inputCount && $0.rows > 0 })
        let n = model.network.parameterCount
        func buffers() -> [UnsafeMutablePointer<Double>] {
            (0..<model.tasks).map { _ in
                let p = UnsafeMutablePointer<Double>.allocate(capacity: n)
                p.initialize(repeating: 0, count: n)
                return p
            }
        }
        self.training = training
        networks = training.map { NetworkWorkspace(architecture: model.network, batchCapacity: $0.rows) }
        weights = buffers()
        gradients = buffers()
        directions = buffers()
        products = buffers()
        zeroL2 = .allocate(capacity: n)
        zeroL2.initialize(repeating: 0)
    }

    deinit {
        for list in [weights, gradients, directions, products] {
            for p in list { p.deallocate() }
        }
        zeroL2.deallocate()
    }
}
