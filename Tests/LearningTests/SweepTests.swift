import RewindTestSupport
import Testing

@testable import Learning

/// `Network.lossGradientAndCurvature` (a reverse step's gradient and Hessian-vector product in one
/// sweep, paired products where the passes share an A) against `lossAndGradient` followed by
/// `curvatureProduct`: the same bits in the loss, the gradient, H·v and the input product.
@Suite("The gradient and the Hessian-vector product in one sweep")
struct SweepTests {
    /// Every layered case (conv with and without padding and stride, every pooling and activation,
    /// pooling first, dense layers folding their activations) and the LeNet-like net.
    static let architectures = ImageGatherTests.architectures

    /// Bit patterns of the loss, gradient, H·v and (when `inputs`) the input product, from the
    /// two calls (`swept` false) or the sweep, on a fresh workspace each time.
    static func results(
        _ architecture: NetworkArchitecture, swept: Bool, gathers: Bool, threads: Int, inputs wantsInputs: Bool,
        batch: Int = 7
    ) -> [UInt64] {
        let model = Network(architecture: architecture)
        let n = architecture.parameterCount
        var random = SeededGenerator(seed: 23)
        let w = random.gaussians(n, scale: 0.5), v = random.gaussians(n, scale: 0.5)
        let l2 = (0..<n).map { _ in 0.01 * random.nextUniform() }
        let inputs = random.gaussians(batch * architecture.inputCount)
        let labels = (0..<batch).map { _ in Int32(random.next() % UInt64(architecture.classCount)) }
        let team = WorkerTeam(threads: threads)
        let workspace = NetworkWorkspace(architecture: architecture, batchCapacity: batch, gathers: gathers)
        func buffer(_ count: Int) -> UnsafeMutableBufferPointer<Double> {
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
            b.initialize(repeating: .nan)
            return b
        }
        let gradient = buffer(n), hv = buffer(n), inputProduct = buffer(inputs.count)
        defer { [gradient, hv, inputProduct].forEach { $0.deallocate() } }
        var loss = 0.0
        w.withUnsafeBufferPointer { w in
            l2.withUnsafeBufferPointer { l2 in
                inputs.withUnsafeBufferPointer { x in
                    labels.withUnsafeBufferPointer { y in
                        v.withUnsafeBufferPointer { v in
                            let product = wantsInputs ? inputProduct : nil
                            if swept {
                                loss = model.lossGradientAndCurvature(
                                    parameters: w, l2: l2, inputs: x, labels: y, batch: batch, gradient: gradient,
                                    direction: v, result: hv, inputProduct: product, workspace: workspace, team: team)
                            } else {
                                loss = model.lossAndGradient(
                                    parameters: w, l2: l2, inputs: x, labels: y, batch: batch, gradient: gradient,
                                    workspace: workspace, team: team)
                                model.curvatureProduct(
                                    parameters: w, direction: v, result: hv, inputProduct: product,
                                    workspace: workspace, team: team)
                            }
                        }
                    }
                }
            }
        }
        let all = [loss] + Array(gradient) + Array(hv) + (wantsInputs ? Array(inputProduct) : [])
        return all.map(\.bitPattern)
    }

    @Test(
        "one sweep gives the bits of the gradient and then the Hessian-vector product",
        arguments: architectures.indices)
    func sameBits(index: Int) {
        let (name, architecture) = Self.architectures[index]
        for gathers in NetworkWorkspace.gathersByDefault ? [true, false] : [false] {
            for threads in [1, 2] {
                for inputs in [false, true] {
                    let swept = Self.results(
                        architecture, swept: true, gathers: gathers, threads: threads, inputs: inputs)
                    let separate = Self.results(
                        architecture, swept: false, gathers: gathers, threads: threads, inputs: inputs)
                    let differing = zip(swept, separate).filter { $0 != $1 }.count
                    #expect(
                        swept.count == separate.count && differing == 0,
                        "\(name), gathers \(gathers), \(threads) threads, inputs \(inputs): \(differing) values differ")
                    // A real computation: a finite loss, a gradient and H·v not all zero, nothing NaN.
                    let values = swept.map { Double(bitPattern: $0) }
                    #expect(values.allSatisfy { $0.isFinite })
                    let n = architecture.parameterCount
                    #expect(values[1...n].contains { $0 != 0 } && values[(n + 1)...(2 * n)].contains { $0 != 0 })
                }
            }
        }
    }

    /// At LeNet's batch of 100 on two threads the conv layers' input products are cut between the
    /// halves (`inputRowCut`) and the weight rows with them: the sweep cuts its paired products the
    /// same way.
    @Test("the sweep keeps the bits where the passes cut their products between threads")
    func cutProducts() {
        let architecture = LeNetThreadsTests.architecture
        let swept = Self.results(
            architecture, swept: true, gathers: NetworkWorkspace.gathersByDefault, threads: 2, inputs: false,
            batch: 100)
        let separate = Self.results(
            architecture, swept: false, gathers: NetworkWorkspace.gathersByDefault, threads: 2, inputs: false,
            batch: 100)
        #expect(swept == separate)
    }
}
