import Learning
import RewindTestSupport
import Testing

/// Small layered networks on 6×6×2 images, each exercising a layer type in several positions:
/// first (R{input} = 0), after a layer with parameters, with stride and both paddings.
enum LayeredCases {
    static let image = ImageShape(height: 6, width: 6, channels: 2)
    static let all: [(name: String, layers: [Layer])] = [
        ("conv same → tanh", [.conv2d(filters: 3, kernel: 3, stride: 1, padding: .same), .activation(.tanh)]),
        (
            "conv valid stride 2 → sigmoid",
            [.conv2d(filters: 2, kernel: 3, stride: 2, padding: .valid), .activation(.sigmoid)]
        ),
        (
            "conv same stride 2 (odd padding)",
            [.conv2d(filters: 2, kernel: 2, stride: 2, padding: .same), .activation(.tanh)]
        ),
        (
            "conv → tanh → avgpool → dense → tanh",
            [
                .conv2d(filters: 3, kernel: 3, stride: 1, padding: .same), .activation(.tanh), .avgpool(size: 2),
                .dense(units: 4), .activation(.tanh),
            ]
        ),
        (
            "conv → relu → maxpool → conv → sigmoid → flatten → dense",
            [
                .conv2d(filters: 3, kernel: 3, stride: 1, padding: .same), .activation(.relu), .maxpool(size: 2),
                .conv2d(filters: 2, kernel: 2, stride: 1, padding: .valid), .activation(.sigmoid), .flatten,
                .dense(units: 3),
            ]
        ),
        (
            "maxpool → conv → tanh (pooling first)",
            [
                .maxpool(size: 2), .conv2d(filters: 2, kernel: 3, stride: 1, padding: .same), .activation(.tanh),
            ]
        ),
        ("avgpool 4 (window larger than half) → dense", [.avgpool(size: 4), .dense(units: 3), .activation(.sigmoid)]),
        ("dense layers on an image", [.dense(units: 4), .activation(.sigmoid), .dense(units: 3), .activation(.tanh)]),
    ]

    static func architecture(_ index: Int) -> NetworkArchitecture {
        try! NetworkArchitecture(inputs: image.count, image: image, layers: all[index].layers, classes: 3)
    }
}

/// A batch of random images, random parameters and per-weight L2 for one network; the helpers
/// (gradient, HVP, objective gradient) are the dense tests'.
typealias LayeredProblem = MLPProblem

extension MLPProblem {
    init(_ architecture: NetworkArchitecture, seed: UInt64 = 3, batch: Int = 5) {
        model = Network(architecture: architecture)
        self.batch = batch
        var random = SeededGenerator(seed: seed)
        parameters = random.gaussians(architecture.parameterCount, scale: 0.6)
        l2 = [Double](repeating: 0, count: architecture.parameterCount)
        for block in architecture.blocks where block.kind == .weight {
            for i in block.range { l2[i] = 0.05 + 0.1 * random.nextUniform() }
        }
        inputs = random.gaussians(batch * architecture.inputCount)
        labels = (0..<batch).map { _ in Int32(random.next() % UInt64(architecture.classCount)) }
    }
}

private func dot(_ x: [Double], _ y: [Double]) -> Double {
    zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
}

@Suite("Layered networks: every layer's derivatives")
struct LayeredNetworkTests {
    @Test("gradient against central differences", arguments: LayeredCases.all.indices)
    func gradient(index: Int) {
        let problem = LayeredProblem(LayeredCases.architecture(index))
        let analytic = problem.lossAndGradient().gradient
        let numeric = FiniteDifferences.gradient(
            of: { problem.lossAndGradient(at: $0).loss }, at: problem.parameters, step: 1e-5)
        let error = FiniteDifferences.relativeError(analytic, numeric)
        #expect(error < 1e-7, "\(LayeredCases.all[index].name): relative error \(error)")
    }

    @Test(
        "Hessian-vector product against central differences of the gradient, and symmetric",
        arguments: LayeredCases.all.indices)
    func hessianVectorProduct(index: Int) {
        let problem = LayeredProblem(LayeredCases.architecture(index))
        var random = SeededGenerator(seed: 17)
        let v = random.gaussians(problem.architecture.parameterCount)
        let u = random.gaussians(problem.architecture.parameterCount)
        let hv = problem.hessianVectorProduct(along: v).product
        let numeric = FiniteDifferences.directional(
            of: { problem.lossAndGradient(at: $0).gradient }, at: problem.parameters, along: v, step: 1e-5)
        let error = FiniteDifferences.relativeError(hv, numeric)
        #expect(error < 1e-6, "\(LayeredCases.all[index].name): relative error \(error)")
        let hu = problem.hessianVectorProduct(along: u).product
        let (uHv, vHu) = (dot(u, hv), dot(v, hu))
        #expect(
            abs(uHv - vHu) <= 1e-12 * max(1, abs(uHv)),
            "\(LayeredCases.all[index].name): ⟨u,Hv⟩ \(uHv) vs ⟨v,Hu⟩ \(vHu)")
    }

    @Test("input gradient and input product against central differences", arguments: LayeredCases.all.indices)
    func inputDerivatives(index: Int) {
        let problem = LayeredProblem(LayeredCases.architecture(index))
        // ∇_x of the mean cross-entropy, in chunks smaller than the batch.
        let inputGradient = problem.objectiveGradient(capacity: 2).inputGradient
        let numeric = FiniteDifferences.gradient(
            of: { problem.objectiveGradient(inputs: $0, capacity: 2).loss }, at: problem.inputs, step: 1e-5)
        let gradientError = FiniteDifferences.relativeError(inputGradient, numeric)
        #expect(gradientError < 1e-7, "\(LayeredCases.all[index].name): ∇_x relative error \(gradientError)")

        // ∇_x ⟨∇_w L(x), v⟩ along a random input direction.
        var random = SeededGenerator(seed: 23)
        let v = random.gaussians(problem.architecture.parameterCount)
        let r = random.gaussians(problem.inputs.count)
        let inputProduct = problem.hessianVectorProduct(along: v).inputProduct
        let directional = FiniteDifferences.directional(
            of: { dot(problem.lossAndGradient(inputs: $0).gradient, v) }, at: problem.inputs, along: r, step: 1e-5)
        let productError = abs(dot(inputProduct, r) - directional) / max(abs(directional), 1e-12)
        #expect(
            productError < 1e-6,
            "\(LayeredCases.all[index].name): input product \(dot(inputProduct, r)) vs \(directional)")
    }

    @Test("one and two threads give the same bits", arguments: LayeredCases.all.indices)
    func threads(index: Int) {
        let problem = LayeredProblem(LayeredCases.architecture(index), batch: 7)
        var random = SeededGenerator(seed: 5)
        let v = random.gaussians(problem.architecture.parameterCount)
        let team = WorkerTeam(threads: 2)
        let (one, two) = (problem.lossAndGradient(), problem.lossAndGradient(team: team))
        #expect(one.loss.bitPattern == two.loss.bitPattern)
        #expect(one.gradient.map(\.bitPattern) == two.gradient.map(\.bitPattern))
        let (hvOne, hvTwo) = (
            problem.hessianVectorProduct(along: v), problem.hessianVectorProduct(along: v, team: team)
        )
        #expect(hvOne.product.map(\.bitPattern) == hvTwo.product.map(\.bitPattern))
        #expect(hvOne.inputProduct.map(\.bitPattern) == hvTwo.inputProduct.map(\.bitPattern))
    }

    @Test("max pooling breaks ties towards the first element of a window, forward and reverse")
    func maxPoolingTies() {
        let image = ImageShape(height: 4, width: 4, channels: 1)
        let architecture = try! NetworkArchitecture(inputs: 16, image: image, layers: [.maxpool(size: 2)], classes: 2)
        var problem = LayeredProblem(architecture, batch: 1)
        problem.inputs = [Double](repeating: 0.5, count: 16)  // every window a four-way tie
        let gradient = problem.objectiveGradient(capacity: 1).inputGradient
        // Windows start at pixels 0, 2, 8, 10: only those may receive gradient.
        for pixel in 0..<16 where ![0, 2, 8, 10].contains(pixel) {
            #expect(gradient[pixel] == 0, "pixel \(pixel) got \(gradient[pixel])")
        }
        #expect([0, 2, 8, 10].allSatisfy { gradient[$0] != 0 })
        var random = SeededGenerator(seed: 2)
        let product = problem.hessianVectorProduct(along: random.gaussians(architecture.parameterCount)).inputProduct
        for pixel in 0..<16 where ![0, 2, 8, 10].contains(pixel) { #expect(product[pixel] == 0) }
    }

    @Test("shapes, parameter counts and block names of a layered network")
    func shapesAndBlocks() throws {
        let digits = ImageShape(height: 8, width: 8, channels: 1)
        let net = try NetworkArchitecture(
            inputs: 64, image: digits,
            layers: [.conv2d(filters: 4, kernel: 3, stride: 1, padding: .same), .activation(.tanh), .avgpool(size: 2)],
            classes: 10)
        #expect(net.blocks.map(\.name) == ["conv2d_1.weights", "conv2d_1.biases", "dense_1.weights", "dense_1.biases"])
        #expect(net.parameterCount == 3 * 3 * 1 * 4 + 4 + 4 * 4 * 4 * 10 + 10)
        let valid = try NetworkArchitecture(
            inputs: 64, image: digits, layers: [.conv2d(filters: 2, kernel: 3, stride: 2, padding: .valid)], classes: 10
        )
        #expect(valid.blocks[2].rows == 3 * 3 * 2)  // ⌊(8 − 3)/2⌋ + 1 = 3 per side
        let shorthand = NetworkArchitecture(inputs: 64, hidden: [50], classes: 10, activation: .tanh)
        #expect(shorthand.blocks.map(\.name) == ["W1", "b1", "W2", "b2"])
    }

    @Test("image layers on a table or after a dense layer are refused, naming the layer")
    func refusals() {
        #expect(throws: ArchitectureError.self) {
            try NetworkArchitecture(
                inputs: 64, image: nil,
                layers: [.activation(.tanh), .conv2d(filters: 2, kernel: 3, stride: 1, padding: .same)], classes: 10)
        }
        do {
            _ = try NetworkArchitecture(
                inputs: 64, image: ImageShape(height: 8, width: 8, channels: 1),
                layers: [.dense(units: 5), .maxpool(size: 2)], classes: 10)
            Issue.record("a pool after a dense layer was accepted")
        } catch {
            #expect(error.layer == 1)
        }
        do {
            _ = try NetworkArchitecture(
                inputs: 64, image: ImageShape(height: 8, width: 8, channels: 1),
                layers: [.conv2d(filters: 2, kernel: 9, stride: 1, padding: .valid)], classes: 10)
            Issue.record("a kernel larger than the image was accepted")
        } catch {
            #expect(error.layer == 0)
        }
    }
}

/// Whole reversible runs of small conv nets: exact reversal, and every hypergradient against
/// central differences of whole training runs.
@Suite("Layered networks: whole training runs reversed exactly")
struct LayeredTrainingTests {
    static let tolerance = 1e-4

    /// conv 3×3×3 same → tanh → avgpool 2 → dense 10 on random 6×6×2 images (or the network of
    /// `LayeredCases` number `index`).
    static func small(_ index: Int = 3, iterations: Int = 12) -> SmallProblem {
        SmallProblem(architecture: LayeredCases.architecture(index), iterations: iterations, rows: 18)
    }

    @Test(
        "the reverse pass lands on the initial weights bit for bit, every layered case",
        arguments: LayeredCases.all.indices)
    func exactReversal(index: Int) throws {
        let small = Self.small(index, iterations: 40)
        // hypergradient() checks w_1 bit for bit, v_1 = 0 and an empty buffer, or throws.
        let run = try ReversibleTrainer(problem: small.problem()).hypergradient(
            schedule: small.schedule, noise: small.noise, differentiateInputs: true)
        #expect(run.objective.isFinite)
        // Two threads: the same bits.
        let two = try ReversibleTrainer(problem: small.problem(), threads: 2).hypergradient(
            schedule: small.schedule, noise: small.noise, differentiateInputs: true)
        #expect(two.objective.bitPattern == run.objective.bitPattern)
        #expect(
            two.hypergradient.learningRates.flatMap { $0 }.map(\.bitPattern)
                == run.hypergradient.learningRates.flatMap { $0 }.map(\.bitPattern))
    }

    @Test("learning rates and momenta per iteration and block", arguments: [3, 4])
    func schedules(index: Int) throws {
        let small = Self.small(index)
        let run = try ReversibleTrainer(problem: small.problem()).hypergradient(
            schedule: small.schedule, noise: small.noise)
        checks(small, run.hypergradient).expectSchedules()
    }

    @Test("L2 per weight and per block, init scales, training inputs", arguments: [3, 4])
    func penaltiesScalesAndInputs(index: Int) throws {
        let small = Self.small(index)
        let run = try ReversibleTrainer(problem: small.problem()).hypergradient(
            schedule: small.schedule, noise: small.noise, differentiateInputs: true)
        try checks(small, run.hypergradient).expectPenaltiesScalesAndInputs(perBlockL2: true)
    }

    private func checks(_ small: SmallProblem, _ hypergradient: TrainingHypergradient) -> WholeRunChecks {
        WholeRunChecks(
            schedule: small.schedule, hypergradient: hypergradient, blocks: small.architecture.blocks,
            tolerance: Self.tolerance, objective: { small.objective($0) },
            inputs: (small.training.inputs, { small.objective(small.schedule, inputs: $0) }))
    }
}
