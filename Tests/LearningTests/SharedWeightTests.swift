import Learning
import RewindTestSupport
import Testing

/// A reduced weight-sharing problem: 3 tasks of a 5-4-3-3 tanh network, 8 training and 6
/// validation rows per task, T = 5.
struct SmallSharing {
    let problem: SharedWeightProblem
    let noise: [Double]
    let schedule: TrainingSchedule

    init(tasks: Int = 3, iterations: Int = 5, seed: UInt64 = 11) {
        var random = SplitMix64(seed: seed)
        let network = MLPArchitecture(inputs: 5, hidden: [4, 3], classes: 3, activation: .tanh)
        func rowsOf(_ count: Int) -> LabelledRows {
            LabelledRows(
                inputs: (0..<(count * 5)).map { _ in random.nextGaussian() },
                labels: (0..<count).map { _ in Int32(random.nextIndex(below: 3)) }, features: 5)
        }
        // Not the identity: every T_l mixes every task, and the layers differ.
        let transforms: [[Double]] = (0..<network.layerCount).map { l in
            (0..<(tasks * tasks)).map { i in
                let diagonal: Double = i % (tasks + 1) == 0 ? 0.5 : 0
                return diagonal + 0.05 + 0.1 * Double((i + l) % 3)
            }
        }
        let model = SharedWeightModel(network: network, tasks: tasks, transforms: transforms)
        problem = SharedWeightProblem(
            model: model, training: (0..<tasks).map { _ in rowsOf(8) }, validation: (0..<tasks).map { _ in rowsOf(6) })
        noise = (0..<model.parameterCount).map { _ in random.nextGaussian() }
        let blocks = model.blocks.count
        schedule = TrainingSchedule(
            iterations: iterations,
            learningRates: Array(repeating: Array(repeating: 0.5, count: blocks), count: iterations),
            momenta: Array(repeating: Array(repeating: 0.9, count: blocks), count: iterations),
            l2: model.blocks.flatMap { block -> [Double] in
                Array(repeating: block.kind == ParameterBlock.Kind.weight ? 0.02 : 0, count: block.range.count)
            },
            initScales: Array(repeating: 0.5, count: blocks))
    }

    func objective(transforms: [[Double]]) -> Double {
        let moved = SharedWeightProblem(
            model: problem.model.with(transforms: transforms), training: problem.training,
            validation: problem.validation)
        return try! SharedWeightTrainer(problem: moved).objective(schedule: schedule, noise: noise)
    }

    func loss(_ parameters: [Double]) -> (Double, [Double]) {
        let workspace = SharedWeightWorkspace(model: problem.model, training: problem.training)
        var gradient = [Double](repeating: 0, count: parameters.count)
        let loss = parameters.withUnsafeBufferPointer { z in
            schedule.l2.withUnsafeBufferPointer { l2 in
                gradient.withUnsafeMutableBufferPointer { g in
                    problem.model.lossAndGradient(parameters: z, l2: l2, gradient: g, workspace: workspace)
                }
            }
        }
        return (loss, gradient)
    }
}

@Suite("Weight sharing across tasks")
struct SharedWeightTests {
    @Test("the gradient over the shared z's and biases matches finite differences of the loss")
    func gradient() {
        let small = SmallSharing()
        let z = small.noise.map { 0.5 * $0 }
        let (_, gradient) = small.loss(z)
        let r = DirectionalCheck.direction(z.count, seed: 3)
        let result = DirectionalCheck.compare(analytic: gradient, direction: r, step: 1e-5) { h in
            small.loss(zip(z, r).map { $0 + h * $1 }).0
        }
        #expect(result.relative < 1e-6, "analytic \(result.analytic) vs numeric \(result.numeric)")
    }

    @Test("the Hessian-vector product matches finite differences of the gradient")
    func hessianVectorProduct() {
        let small = SmallSharing()
        let model = small.problem.model
        let z = small.noise.map { 0.5 * $0 }
        let d = DirectionalCheck.direction(z.count, seed: 4)
        let workspace = SharedWeightWorkspace(model: model, training: small.problem.training)
        var gradient = [Double](repeating: 0, count: z.count), product = gradient
        var mixed = model.transforms.map { $0.map { _ in 0.0 } }
        let zero = [Double](repeating: 0, count: z.count)
        z.withUnsafeBufferPointer { zp in
            zero.withUnsafeBufferPointer { l2 in
                gradient.withUnsafeMutableBufferPointer { g in
                    _ = model.lossAndGradient(parameters: zp, l2: l2, gradient: g, workspace: workspace)
                }
            }
            d.withUnsafeBufferPointer { dp in
                product.withUnsafeMutableBufferPointer { hv in
                    model.curvatureProduct(
                        parameters: zp, direction: dp, result: hv, mixedTransform: &mixed, workspace: workspace)
                }
            }
        }
        let r = DirectionalCheck.direction(z.count, seed: 5)
        // ⟨r, H d⟩ against d/dh ⟨r, ∇L(z + h d)⟩ (the penalty is outside the curvature product).
        let result = DirectionalCheck.compare(analytic: product, direction: r, step: 1e-5) { h in
            let moved = zip(z, d).map { $0 + h * $1 }
            let (_, g) = small.loss(moved)
            let penalty = zip(small.schedule.l2, moved).map { $0 * $1 }
            return zip(zip(g, penalty).map { $0 - $1 }, r).reduce(0) { $0 + $1.0 * $1.1 }
        }
        #expect(result.relative < 1e-6, "analytic \(result.analytic) vs numeric \(result.numeric)")
    }

    @Test("the reverse pass lands on the initial z's bit for bit")
    func exactReversal() throws {
        let small = SmallSharing(iterations: 200)
        // hypergradient() compares the reconstructed state with the initial one in every bit, checks
        // v_1 = 0 and empty buffers, and throws .notReversible otherwise.
        let run = try SharedWeightTrainer(problem: small.problem).hypergradient(
            schedule: small.schedule, noise: small.noise)
        #expect(run.objective.isFinite)
        #expect(run.trainingLosses.last! < run.trainingLosses.first!)
        let forward = try SharedWeightTrainer(problem: small.problem).train(
            schedule: small.schedule, noise: small.noise)
        #expect(forward.finalParameters == run.finalParameters)
    }

    @Test("∂f/∂T_l of every layer matches central differences of whole training runs")
    func transformHypergradient() throws {
        let small = SmallSharing()
        let run = try SharedWeightTrainer(problem: small.problem).hypergradient(
            schedule: small.schedule, noise: small.noise)
        let transforms = small.problem.model.transforms
        for l in transforms.indices {
            let r = DirectionalCheck.direction(transforms[l].count, seed: 20 + UInt64(l))
            let result = DirectionalCheck.compare(analytic: run.transforms[l], direction: r, step: 1e-5) { h in
                var moved = transforms
                moved[l] = zip(transforms[l], r).map { $0 + h * $1 }
                return small.objective(transforms: moved)
            }
            #expect(result.relative < 1e-5, "T_\(l + 1): analytic \(result.analytic) vs numeric \(result.numeric)")
        }
        // One entry alone, off the diagonal of the top layer.
        var moved = transforms
        let h = 1e-5
        moved[2][1] += h
        let up = small.objective(transforms: moved)
        moved[2][1] -= 2 * h
        let numeric = (up - small.objective(transforms: moved)) / (2 * h)
        #expect(abs(run.transforms[2][1] - numeric) <= 1e-5 * max(abs(numeric), 1e-8))
    }
}
