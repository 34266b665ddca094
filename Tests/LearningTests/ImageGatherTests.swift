import RewindTestSupport
import Testing

@testable import Learning

/// Conv layers whose products gather the im2col matrix from zero-padded images (`ImageGather`)
/// against conv layers that write it out: every pass gives the same bits.
@Suite("Conv layers gathering their im2col matrices")
struct ImageGatherTests {
    static var gatheringApplies: Bool { ShortProducts.kernelsApply }

    /// The layered cases (both paddings, strides 1 and 2, conv first and after a layer with
    /// parameters, pooling first) and the LeNet-like net on 16×16 images.
    static let architectures: [(name: String, architecture: NetworkArchitecture)] =
        LayeredCases.all.indices.map { (LayeredCases.all[$0].name, LayeredCases.architecture($0)) } + [
            ("LeNet-like on 16×16×1", LeNetThreadsTests.architecture)
        ]

    /// Every pass of `architecture` on one random problem: the loss and gradient, the
    /// Hessian-vector product with the inputs' product, a chunked objective gradient with the
    /// input gradient, and a chunked evaluation, as bit patterns, on two threads.
    static func passes(
        _ architecture: NetworkArchitecture, gathers: Bool, batch: Int = 7, chunk: Int = 3,
        cutsInputProducts: Bool = true
    ) -> [UInt64] {
        let model = Network(architecture: architecture)
        let n = architecture.parameterCount
        var random = SeededGenerator(seed: 17)
        let w = random.gaussians(n, scale: 0.5), v = random.gaussians(n, scale: 0.5)
        let l2 = (0..<n).map { _ in 0.01 * random.nextUniform() }
        let inputs = random.gaussians(batch * architecture.inputCount)
        let labels = (0..<batch).map { _ in Int32(random.next() % UInt64(architecture.classCount)) }
        let team = WorkerTeam(threads: 2)
        let workspace = NetworkWorkspace(
            architecture: architecture, batchCapacity: batch, gathers: gathers, cutsInputProducts: cutsInputProducts)
        let chunked = NetworkWorkspace(
            architecture: architecture, batchCapacity: chunk, gathers: gathers, cutsInputProducts: cutsInputProducts)
        #expect(workspace.gathers == gathers)

        // Outputs as buffers of their own (freed below), so no pointer outlives its closure.
        func buffer(_ count: Int) -> UnsafeMutableBufferPointer<Double> {
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
            b.initialize(repeating: .nan)
            return b
        }
        let gradient = buffer(n), hv = buffer(n), objective = buffer(n)
        let inputProduct = buffer(inputs.count), inputGradient = buffer(inputs.count)
        defer { [gradient, hv, objective, inputProduct, inputGradient].forEach { $0.deallocate() } }
        var bits: [Double] = []
        w.withUnsafeBufferPointer { w in
            l2.withUnsafeBufferPointer { l2 in
                inputs.withUnsafeBufferPointer { x in
                    labels.withUnsafeBufferPointer { y in
                        bits.append(
                            model.lossAndGradient(
                                parameters: w, l2: l2, inputs: x, labels: y, batch: batch, gradient: gradient,
                                workspace: workspace, team: team))
                        v.withUnsafeBufferPointer { v in
                            model.hessianVectorProduct(
                                parameters: w, l2: l2, direction: v, result: hv, inputProduct: inputProduct,
                                workspace: workspace, team: team)
                        }
                        bits.append(
                            model.objectiveGradient(
                                parameters: w, inputs: x, labels: y, rows: batch, gradient: objective,
                                inputGradient: inputGradient, workspace: chunked, team: team))
                        let (loss, errors) = model.evaluate(
                            parameters: w, inputs: x, labels: y, rows: batch, workspace: chunked, team: team)
                        bits += [loss, Double(errors)]
                    }
                }
            }
        }
        return (bits + Array(gradient) + Array(hv) + Array(inputProduct) + Array(objective) + Array(inputGradient))
            .map(\.bitPattern)
    }

    @Test(
        "gathered and written-out im2col matrices give the same bits in every pass",
        .enabled(if: gatheringApplies, "the product kernels do not run here"), arguments: architectures.indices)
    func sameBits(index: Int) {
        let architecture = Self.architectures[index].architecture
        let gathered = Self.passes(architecture, gathers: true), written = Self.passes(architecture, gathers: false)
        #expect(gathered.count == written.count)
        let differing = zip(gathered, written).filter { $0 != $1 }.count
        #expect(differing == 0, "\(Self.architectures[index].name): \(differing) values differ")
        // A real computation: finite losses, gradients not all zero.
        #expect(Double(bitPattern: gathered[0]).isFinite)
        #expect(gathered.dropFirst(4).contains { Double(bitPattern: $0) != 0 })
    }

    /// The offset tables address exactly what im2col writes: every (position, patch value) of
    /// every layered case's conv layers, padding zeros included.
    @Test("the tables address what im2col writes", arguments: architectures.indices)
    func tablesMatchImageToColumns(index: Int) {
        let architecture = Self.architectures[index].architecture
        for case .conv2d(let g) in architecture.stages.map(\.operation) {
            let images = 3
            var random = SeededGenerator(seed: UInt64(index))
            let input = random.gaussians(images * g.input.count)
            var columns = [Double](repeating: .nan, count: images * g.positions * g.patch)
            input.withUnsafeBufferPointer { x in
                columns.withUnsafeMutableBufferPointer {
                    imageToColumns(x.baseAddress!, into: $0.baseAddress!, rows: images, geometry: g)
                }
            }
            let padded = UnsafeMutablePointer<Double>.allocate(capacity: images * g.paddedCount)
            padded.initialize(repeating: 0, count: images * g.paddedCount)
            let rows = UnsafeMutablePointer<Int64>.allocate(capacity: images * g.positions)
            let offsets = UnsafeMutablePointer<Int64>.allocate(capacity: g.patch)
            defer {
                padded.deallocate()
                rows.deallocate()
                offsets.deallocate()
            }
            let gather = ImageGather(
                geometry: g, padded: g.needsPadding ? padded : nil, rPadded: nil, rowOffsets: rows,
                columnOffsets: offsets, images: images)
            let matrix = input.withUnsafeBufferPointer { gather.matrix(over: $0.baseAddress!, padding: 0..<images) }
            var mismatches = 0
            for q in 0..<(images * g.positions) {
                for t in 0..<g.patch {
                    let value = matrix.base[Int(matrix.gather!.rows[q] + matrix.gather!.columns[t])]
                    if value.bitPattern != columns[q * g.patch + t].bitPattern { mismatches += 1 }
                }
            }
            #expect(mismatches == 0, "\(Self.architectures[index].name): \(mismatches) of \(columns.count)")
        }
    }
}
