import Learning
import Testing

/// The speed table's LeNet-like net runs its hypergradient on both cores: the whole run (forward,
/// exact reverse, validation gradient, training inputs differentiated) and plain training must be
/// the same bits with one thread and with two.
@Suite("The LeNet-like net on two threads")
struct LeNetThreadsTests {
    /// The layers of `rewind export --problem lenet`, on 16×16×1 images so that a batch of 25
    /// spans several column blocks (20 images of the first conv's 256 × 25 columns fit one).
    static let architecture = try! NetworkArchitecture(
        inputs: 16 * 16, image: ImageShape(height: 16, width: 16, channels: 1),
        layers: [
            .conv2d(filters: 8, kernel: 5, stride: 1, padding: .same), .activation(.relu), .maxpool(size: 2),
            .conv2d(filters: 16, kernel: 5, stride: 1, padding: .same), .activation(.relu), .maxpool(size: 2),
        ], classes: 10)

    @Test("a whole hypergradient and plain training give the same bits with one thread and two")
    func wholeRun() throws {
        let small = SmallProblem(architecture: Self.architecture, iterations: 6, rows: 50)
        let problem = small.problem(batch: 25)
        let one = try ReversibleTrainer(problem: problem).hypergradient(
            schedule: small.schedule, noise: small.noise, differentiateInputs: true)
        let two = try ReversibleTrainer(problem: problem, threads: 2).hypergradient(
            schedule: small.schedule, noise: small.noise, differentiateInputs: true)
        #expect(one.objective.isFinite)
        #expect(one.objective.bitPattern == two.objective.bitPattern)
        #expect(one.finalWeights.map(\.bitPattern) == two.finalWeights.map(\.bitPattern))
        let (a, b) = (one.hypergradient, two.hypergradient)
        #expect(a.learningRates.flatMap { $0 }.map(\.bitPattern) == b.learningRates.flatMap { $0 }.map(\.bitPattern))
        #expect(a.momenta.flatMap { $0 }.map(\.bitPattern) == b.momenta.flatMap { $0 }.map(\.bitPattern))
        #expect(a.l2.map(\.bitPattern) == b.l2.map(\.bitPattern))
        #expect(a.initScales.map(\.bitPattern) == b.initScales.map(\.bitPattern))
        #expect(a.initialWeights.map(\.bitPattern) == b.initialWeights.map(\.bitPattern))
        #expect(a.trainingInputs?.map(\.bitPattern) == b.trainingInputs?.map(\.bitPattern))
        #expect(a.trainingInputs != nil)

        let plainOne = ReversibleTrainer(problem: problem).trainPlain(schedule: small.schedule, noise: small.noise)
        let plainTwo = ReversibleTrainer(problem: problem, threads: 2).trainPlain(
            schedule: small.schedule, noise: small.noise)
        #expect(plainOne.map(\.bitPattern) == plainTwo.map(\.bitPattern))
    }
}
