import Learning
import RewindTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hidden-layer configurations every model test runs on: logistic regression, one and two layers.
let hiddenConfigurations: [[Int]] = [[], [4], [4, 3]]

/// A small classification problem with fixed seeds: a 5-…-3 model, a batch of 7, L2 on weights.
struct MLPProblem {
    let model: MLP
    let batch: Int
    var parameters: [Double]
    var l2: [Double]
    var inputs: [Double]
    var labels: [Int32]

    var architecture: MLPArchitecture { model.architecture }

    /// For relu, seeds are tried in order until no hidden pre-activation lies within 1e-3 of the
    /// kink, so central differences with steps near 1e-5 never straddle it.
    init(activation: Activation, hidden: [Int], seed: UInt64 = 1, batch: Int = 7) {
        let architecture = MLPArchitecture(inputs: 5, hidden: hidden, classes: 3, activation: activation)
        model = MLP(architecture: architecture)
        self.batch = batch
        var candidate = seed
        repeat {
            var random = SeededGenerator(seed: candidate &* 1_000_003 &+ UInt64(hidden.count))
            parameters = random.gaussians(architecture.parameterCount, scale: 0.8)
            l2 = [Double](repeating: 0, count: architecture.parameterCount)
            for block in architecture.blocks where block.kind == .weight {
                for i in block.range { l2[i] = 0.05 + 0.1 * random.nextUniform() }
            }
            inputs = random.gaussians(batch * 5)
            labels = (0..<batch).map { _ in Int32(random.next() % 3) }
            candidate += 1
        } while activation == .relu && naiveMinimumAbsPreactivation() < 1e-3
    }

    /// lossAndGradient at `parameters` (default: the problem's) on `inputs` (default: the problem's).
    func lossAndGradient(
        at point: [Double]? = nil, inputs x: [Double]? = nil, workspace: MLPWorkspace? = nil,
        team: WorkerTeam = .serial
    ) -> (loss: Double, gradient: [Double]) {
        let workspace = workspace ?? MLPWorkspace(architecture: architecture, batchCapacity: batch)
        var gradient = [Double](repeating: .nan, count: architecture.parameterCount)
        let loss = (point ?? parameters).withUnsafeBufferPointer { w in
            l2.withUnsafeBufferPointer { lambda in
                (x ?? inputs).withUnsafeBufferPointer { xs in
                    labels.withUnsafeBufferPointer { ys in
                        gradient.withUnsafeMutableBufferPointer { g in
                            model.lossAndGradient(
                                parameters: w, l2: lambda, inputs: xs, labels: ys, batch: batch,
                                gradient: g, workspace: workspace, team: team)
                        }
                    }
                }
            }
        }
        return (loss, gradient)
    }

    /// objectiveGradient over the whole batch with a workspace of `capacity` rows.
    func objectiveGradient(
        at point: [Double]? = nil, inputs x: [Double]? = nil, capacity: Int? = nil
    ) -> (loss: Double, gradient: [Double], inputGradient: [Double]) {
        let workspace = MLPWorkspace(architecture: architecture, batchCapacity: capacity ?? batch)
        var gradient = [Double](repeating: .nan, count: architecture.parameterCount)
        var inputGradient = [Double](repeating: .nan, count: inputs.count)
        let loss = (point ?? parameters).withUnsafeBufferPointer { w in
            (x ?? inputs).withUnsafeBufferPointer { xs in
                labels.withUnsafeBufferPointer { ys in
                    gradient.withUnsafeMutableBufferPointer { g in
                        inputGradient.withUnsafeMutableBufferPointer { gx in
                            model.objectiveGradient(
                                parameters: w, inputs: xs, labels: ys, rows: batch, gradient: g,
                                inputGradient: gx, workspace: workspace)
                        }
                    }
                }
            }
        }
        return (loss, gradient, inputGradient)
    }

    /// evaluate over the whole batch with a workspace of `capacity` rows.
    func evaluate(capacity: Int) -> (loss: Double, errors: Int) {
        let workspace = MLPWorkspace(architecture: architecture, batchCapacity: capacity)
        return parameters.withUnsafeBufferPointer { w in
            inputs.withUnsafeBufferPointer { xs in
                labels.withUnsafeBufferPointer { ys in
                    model.evaluate(parameters: w, inputs: xs, labels: ys, rows: batch, workspace: workspace)
                }
            }
        }
    }

    // MARK: Naive reference: nested arrays, textbook formulas, no BLAS.

    /// Per layer, the (batch × width) pre-activations, and the logits of the last layer.
    func naivePreactivations(at point: [Double]? = nil) -> [[[Double]]] {
        let w = point ?? parameters
        var activations: [[Double]] = (0..<batch).map { r in Array(inputs[(r * 5)..<(r * 5 + 5)]) }
        var layers: [[[Double]]] = []
        for l in 0..<architecture.layerCount {
            let weight = architecture.blocks[2 * l], bias = architecture.blocks[2 * l + 1]
            let z = activations.map { a in
                (0..<weight.cols).map { j in
                    var sum = w[bias.range.lowerBound + j]
                    for i in 0..<weight.rows { sum += a[i] * w[weight.range.lowerBound + i * weight.cols + j] }
                    return sum
                }
            }
            layers.append(z)
            activations = z.map { row in row.map(naiveActivation) }
        }
        return layers
    }

    func naiveActivation(_ z: Double) -> Double {
        switch architecture.activation {
        case .tanh: tanh(z)
        case .relu: max(z, 0)
        case .sigmoid: 1 / (1 + exp(-z))
        }
    }

    /// Summed cross-entropy and misclassified rows from the naive logits.
    func naiveCrossEntropy(at point: [Double]? = nil) -> (sum: Double, errors: Int) {
        let logits = naivePreactivations(at: point).last!
        var sum = 0.0, errors = 0
        for (row, label) in zip(logits, labels) {
            let m = row.max()!
            sum -= row[Int(label)] - m - log(row.reduce(0) { $0 + exp($1 - m) })
            if row.firstIndex(of: m)! != Int(label) { errors += 1 }
        }
        return (sum, errors)
    }

    /// Mean cross-entropy plus ½ Σ λ w².
    func naiveLoss(at point: [Double]? = nil) -> Double {
        let w = point ?? parameters
        let penalty = zip(l2, w).reduce(0) { $0 + $1.0 * $1.1 * $1.1 }
        return naiveCrossEntropy(at: w).sum / Double(batch) + 0.5 * penalty
    }

    func naiveMinimumAbsPreactivation() -> Double {
        naivePreactivations().dropLast().flatMap { $0.flatMap { $0 } }.map(abs).min() ?? .infinity
    }
}

@Suite struct MLPGradientTests {
    @Test func canonicalArchitectureHas6310ParametersInBlockOrder() {
        let architecture = MLPArchitecture(inputs: 64, hidden: [50, 50], classes: 10, activation: .tanh)
        #expect(architecture.parameterCount == 6310)
        #expect(architecture.layerCount == 3)
        #expect(architecture.layerSizes == [64, 50, 50, 10])
        #expect(architecture.blocks.map(\.name) == ["W1", "b1", "W2", "b2", "W3", "b3"])
        #expect(
            architecture.blocks.map(\.range) == [
                0..<3200, 3200..<3250, 3250..<5750, 5750..<5800, 5800..<6300, 6300..<6310,
            ])
        #expect(
            architecture.blocks[2].rows == 50 && architecture.blocks[2].cols == 50 && architecture.blocks[2].layer == 1)
        #expect(
            architecture.blocks[5].kind == .bias && architecture.blocks[5].rows == 1
                && architecture.blocks[5].cols == 10)
    }

    @Test func logisticRegressionHasOneWeightLayer() {
        let architecture = MLPArchitecture(inputs: 5, hidden: [], classes: 3, activation: .relu)
        #expect(architecture.layerCount == 1)
        #expect(architecture.blocks.map(\.name) == ["W1", "b1"])
        #expect(architecture.parameterCount == 18)
    }

    @Test(arguments: Activation.allCases, hiddenConfigurations)
    func lossMatchesNaiveReference(activation: Activation, hidden: [Int]) {
        let problem = MLPProblem(activation: activation, hidden: hidden)
        let (loss, _) = problem.lossAndGradient()
        #expect(FiniteDifferences.relativeError(loss, problem.naiveLoss()) < 1e-13)
    }

    @Test(arguments: Activation.allCases, hiddenConfigurations)
    func gradientMatchesCentralDifferences(activation: Activation, hidden: [Int]) {
        let problem = MLPProblem(activation: activation, hidden: hidden)
        let (_, gradient) = problem.lossAndGradient()
        let numeric = FiniteDifferences.gradient(
            of: { problem.lossAndGradient(at: $0).loss }, at: problem.parameters, step: 1e-5)
        #expect(FiniteDifferences.relativeError(gradient, numeric) < 1e-6)
    }

    @Test func lossStaysFiniteForLogitsBeyondTheRangeOfExp() {
        var problem = MLPProblem(activation: .tanh, hidden: [4])
        problem.parameters = problem.parameters.map { $0 * 1000 }
        let (loss, gradient) = problem.lossAndGradient()
        #expect(loss.isFinite && gradient.allSatisfy(\.isFinite))
        #expect(FiniteDifferences.relativeError(loss, problem.naiveLoss()) < 1e-12)
    }

    @Test(arguments: Activation.allCases, hiddenConfigurations)
    func evaluateMatchesNaiveLoopInChunks(activation: Activation, hidden: [Int]) {
        let problem = MLPProblem(activation: activation, hidden: hidden)
        let naive = problem.naiveCrossEntropy()
        for capacity in [3, 7] {
            let (loss, errors) = problem.evaluate(capacity: capacity)
            #expect(FiniteDifferences.relativeError(loss, naive.sum / 7) < 1e-13)
            #expect(errors == naive.errors)
        }
    }

    @Test func evaluateCountsEveryRowWrongWhenLabelsAreShifted() {
        var problem = MLPProblem(activation: .sigmoid, hidden: [4])
        let predicted = problem.naivePreactivations().last!.map { $0.firstIndex(of: $0.max()!)! }
        problem.labels = predicted.map { Int32(($0 + 1) % 3) }
        #expect(problem.evaluate(capacity: 2).errors == 7)
        problem.labels = predicted.map { Int32($0) }
        #expect(problem.evaluate(capacity: 2).errors == 0)
    }

    @Test(arguments: Activation.allCases, hiddenConfigurations)
    func objectiveGradientMatchesCentralDifferencesInParametersAndInputs(
        activation: Activation, hidden: [Int]
    ) {
        let problem = MLPProblem(activation: activation, hidden: hidden)
        let (loss, gradient, inputGradient) = problem.objectiveGradient(capacity: 3)
        #expect(FiniteDifferences.relativeError(loss, problem.naiveCrossEntropy().sum / 7) < 1e-13)
        let numeric = FiniteDifferences.gradient(
            of: { problem.objectiveGradient(at: $0).loss }, at: problem.parameters, step: 1e-5)
        #expect(FiniteDifferences.relativeError(gradient, numeric) < 1e-6)
        let numericInputs = FiniteDifferences.gradient(
            of: { problem.objectiveGradient(inputs: $0).loss }, at: problem.inputs, step: 1e-5)
        #expect(FiniteDifferences.relativeError(inputGradient, numericInputs) < 1e-6)
    }

    @Test(arguments: Activation.allCases, hiddenConfigurations)
    func objectiveGradientDoesNotDependOnChunkSize(activation: Activation, hidden: [Int]) {
        let problem = MLPProblem(activation: activation, hidden: hidden)
        let whole = problem.objectiveGradient(capacity: 7)
        for capacity in [1, 3, 4] {
            let chunked = problem.objectiveGradient(capacity: capacity)
            #expect(FiniteDifferences.relativeError(chunked.loss, whole.loss) < 1e-12)
            #expect(FiniteDifferences.relativeError(chunked.gradient, whole.gradient) < 1e-12)
            #expect(chunked.inputGradient == whole.inputGradient)  // rows never mix
        }
    }

    @Test(arguments: Activation.allCases)
    func objectiveGradientOverOneBatchEqualsUnpenalisedLossAndGradient(activation: Activation) {
        var problem = MLPProblem(activation: activation, hidden: [4, 3])
        problem.l2 = problem.l2.map { _ in 0 }
        let penalised = problem.lossAndGradient()
        let objective = problem.objectiveGradient()
        #expect(objective.loss == penalised.loss)
        #expect(objective.gradient == penalised.gradient)
    }

    @Test(arguments: Activation.allCases)
    func gradientIsBitIdenticalAcrossCallsAndWorkspaces(activation: Activation) {
        let problem = MLPProblem(activation: activation, hidden: [4, 3])
        let workspace = MLPWorkspace(architecture: problem.architecture, batchCapacity: 7)
        let first = problem.lossAndGradient(workspace: workspace)
        let second = problem.lossAndGradient(workspace: workspace)
        let larger = problem.lossAndGradient(
            workspace: MLPWorkspace(architecture: problem.architecture, batchCapacity: 64))
        #expect(first.loss.bitPattern == second.loss.bitPattern)
        #expect(first.gradient.map(\.bitPattern) == second.gradient.map(\.bitPattern))
        #expect(first.loss.bitPattern == larger.loss.bitPattern)
        #expect(first.gradient.map(\.bitPattern) == larger.gradient.map(\.bitPattern))
    }

    @Test func finiteDifferencesRejectAWrongDerivative() {
        // f = Σ x_i³ + x_0·x_1, ∇f = 3x² + (x_1, x_0, 0): the checker must accept it and reject a
        // derivative that is off by 1e-4 relative, or the checks above prove nothing.
        let f: ([Double]) -> Double = { x in x.reduce(0) { $0 + $1 * $1 * $1 } + x[0] * x[1] }
        let x = [0.3, -1.2, 0.7]
        let exact = [3 * 0.09 - 1.2, 3 * 1.44 + 0.3, 3 * 0.49]
        let numeric = FiniteDifferences.gradient(of: f, at: x, step: 1e-5)
        #expect(FiniteDifferences.relativeError(numeric, exact) < 1e-9)
        #expect(FiniteDifferences.relativeError(numeric, exact.map { $0 * (1 + 1e-4) }) > 1e-6)
        let direction = [1.0, 2.0, -1.0]
        let expected = zip(exact, direction).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(
            FiniteDifferences.relativeError(
                FiniteDifferences.directional(of: f, at: x, along: direction, step: 1e-5), expected) < 1e-9)
    }
}
