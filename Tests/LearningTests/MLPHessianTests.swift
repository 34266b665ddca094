import Learning
import RewindTestSupport
import Testing

extension MLPProblem {
    /// H·v (and the input product ∇_x⟨∇_w L, v⟩) at `point` after a lossAndGradient there.
    func hessianVectorProduct(
        along direction: [Double], at point: [Double]? = nil, inputs x: [Double]? = nil,
        workspace: MLPWorkspace? = nil, team: WorkerTeam = .serial
    ) -> (product: [Double], inputProduct: [Double]) {
        let workspace = workspace ?? MLPWorkspace(architecture: architecture, batchCapacity: batch)
        let w = point ?? parameters
        _ = lossAndGradient(at: w, inputs: x, workspace: workspace, team: team)
        var product = [Double](repeating: .nan, count: architecture.parameterCount)
        var inputProduct = [Double](repeating: .nan, count: inputs.count)
        w.withUnsafeBufferPointer { w in
            l2.withUnsafeBufferPointer { lambda in
                direction.withUnsafeBufferPointer { v in
                    product.withUnsafeMutableBufferPointer { hv in
                        inputProduct.withUnsafeMutableBufferPointer { hx in
                            model.hessianVectorProduct(
                                parameters: w, l2: lambda, direction: v, result: hv,
                                inputProduct: hx, workspace: workspace, team: team)
                        }
                    }
                }
            }
        }
        return (product, inputProduct)
    }

    func randomDirection(seed: UInt64) -> [Double] {
        var random = SeededGenerator(seed: seed)
        return random.gaussians(architecture.parameterCount)
    }
}

private func dot(_ x: [Double], _ y: [Double]) -> Double {
    zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
}

@Suite struct MLPHessianTests {
    @Test(arguments: Activation.allCases, hiddenConfigurations)
    func hessianVectorProductMatchesCentralDifferencesOfTheGradient(
        activation: Activation, hidden: [Int]
    ) {
        let problem = MLPProblem(activation: activation, hidden: hidden)
        for seed: UInt64 in [21, 22] {
            let v = problem.randomDirection(seed: seed)
            let hv = problem.hessianVectorProduct(along: v).product
            let numeric = FiniteDifferences.directional(
                of: { problem.lossAndGradient(at: $0).gradient }, at: problem.parameters, along: v,
                step: 1e-5)
            #expect(FiniteDifferences.relativeError(hv, numeric) < 1e-6)
        }
    }

    @Test(arguments: Activation.allCases, hiddenConfigurations)
    func hessianIsSymmetric(activation: Activation, hidden: [Int]) {
        let problem = MLPProblem(activation: activation, hidden: hidden)
        let u = problem.randomDirection(seed: 31), v = problem.randomDirection(seed: 32)
        let hu = problem.hessianVectorProduct(along: u).product
        let hv = problem.hessianVectorProduct(along: v).product
        #expect(FiniteDifferences.relativeError(dot(u, hv), dot(v, hu)) < 1e-12)
    }

    @Test(arguments: Activation.allCases, hiddenConfigurations)
    func inputProductMatchesCentralDifferencesOfTheDirectionalGradient(
        activation: Activation, hidden: [Int]
    ) {
        let problem = MLPProblem(activation: activation, hidden: hidden)
        let v = problem.randomDirection(seed: 41)
        let inputProduct = problem.hessianVectorProduct(along: v).inputProduct
        let numeric = FiniteDifferences.gradient(
            of: { x in dot(problem.lossAndGradient(inputs: x).gradient, v) }, at: problem.inputs,
            step: 1e-5)
        #expect(FiniteDifferences.relativeError(inputProduct, numeric) < 1e-6)
    }

    @Test(arguments: Activation.allCases)
    func penaltyAddsExactlyL2TimesDirection(activation: Activation) {
        // The data term does not depend on λ, so H(λ)·v − H(0)·v = λ⊙v up to one rounding.
        var problem = MLPProblem(activation: activation, hidden: [4])
        let v = problem.randomDirection(seed: 51)
        let penalised = problem.hessianVectorProduct(along: v).product
        let l2 = problem.l2
        problem.l2 = l2.map { _ in 0 }
        let plain = problem.hessianVectorProduct(along: v).product
        for i in v.indices {
            #expect(abs(penalised[i] - plain[i] - l2[i] * v[i]) <= 1e-15 * max(1, abs(penalised[i])))
        }
    }

    @Test(arguments: Activation.allCases)
    func hessianVectorProductIsBitIdenticalAcrossCallsAndWorkspaces(activation: Activation) {
        let problem = MLPProblem(activation: activation, hidden: [4, 3])
        let v = problem.randomDirection(seed: 61)
        let workspace = MLPWorkspace(architecture: problem.architecture, batchCapacity: 7)
        let first = problem.hessianVectorProduct(along: v, workspace: workspace)
        let second = problem.hessianVectorProduct(along: v, workspace: workspace)
        let larger = problem.hessianVectorProduct(
            along: v, workspace: MLPWorkspace(architecture: problem.architecture, batchCapacity: 50))
        #expect(first.product.map(\.bitPattern) == second.product.map(\.bitPattern))
        #expect(first.inputProduct.map(\.bitPattern) == second.inputProduct.map(\.bitPattern))
        #expect(first.product.map(\.bitPattern) == larger.product.map(\.bitPattern))
        #expect(first.inputProduct.map(\.bitPattern) == larger.inputProduct.map(\.bitPattern))
    }

    @Test func hessianVectorProductUsesThePointOfTheLatestGradientCall() {
        let problem = MLPProblem(activation: .tanh, hidden: [4])
        let v = problem.randomDirection(seed: 71)
        let moved = zip(problem.parameters, problem.randomDirection(seed: 72)).map { $0 + 0.3 * $1 }
        let workspace = MLPWorkspace(architecture: problem.architecture, batchCapacity: 7)
        _ = problem.hessianVectorProduct(along: v, workspace: workspace)
        let atMoved = problem.hessianVectorProduct(along: v, at: moved, workspace: workspace)
        let fresh = problem.hessianVectorProduct(along: v, at: moved)
        #expect(atMoved.product == fresh.product)
        #expect(atMoved.product != problem.hessianVectorProduct(along: v).product)
    }

    @Test func hessianVectorProductWithoutGradientStateTraps() async {
        await #expect(processExitsWith: .failure) {
            let problem = MLPProblem(activation: .tanh, hidden: [])
            let workspace = MLPWorkspace(architecture: problem.architecture, batchCapacity: 7)
            var result = [Double](repeating: 0, count: problem.architecture.parameterCount)
            problem.parameters.withUnsafeBufferPointer { w in
                problem.l2.withUnsafeBufferPointer { lambda in
                    result.withUnsafeMutableBufferPointer { hv in
                        problem.model.hessianVectorProduct(
                            parameters: w, l2: lambda, direction: w, result: hv, inputProduct: nil,
                            workspace: workspace)
                    }
                }
            }
        }
    }
}
