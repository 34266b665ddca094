/// Scratch buffers for batches up to `batchCapacity` rows; reused every step, no allocation in the
/// training loop. Not Sendable: one per worker/thread.
///
/// Besides scratch space it holds the forward and backward state of the last
/// `Network.lossAndGradient` call (inputs, every layer's output, φ', argmax routes, im2col
/// patches, every layer's output gradient), which `Network.hessianVectorProduct` reuses instead
/// of recomputing: that is what makes an HVP cost about two gradients' worth of products.
/// All buffers live in one allocation, carved into named row-major views.
public final class NetworkWorkspace {
    /// The architecture the buffers are shaped for.
    public let architecture: NetworkArchitecture
    /// The largest batch (or evaluation chunk) the buffers hold.
    public let batchCapacity: Int

    // Per stage s (width n = outputCount) unless noted; optional entries exist only for the stage
    // types that need them.

    /// Copy of the last gradient call's inputs, a_0.  // (batch, inputs)
    let input: UnsafeMutablePointer<Double>
    /// The stage's output; for the output layer the logits, turned into probabilities p.  // (batch, n)
    let outputs: [UnsafeMutablePointer<Double>]
    /// ∂L/∂output; for the output layer δ = (p − Y)/B.  // (batch, n)
    let gradients: [UnsafeMutablePointer<Double>]
    /// R{output}.  // (batch, n)
    let rOutputs: [UnsafeMutablePointer<Double>]
    /// R{∂L/∂output}.  // (batch, n)
    let rGradients: [UnsafeMutablePointer<Double>]
    /// Activations but relu (whose φ' follows from its output): φ'(input). Max pooling: the input
    /// index (within the row) of each window's maximum, as a Double.  // (batch, n)
    let routes: [UnsafeMutablePointer<Double>?]
    /// Conv, when the workspace writes its im2col matrices out: im2col of the input and of
    /// R{input}.  // (batch · positions, patch)
    let columns: [UnsafeMutablePointer<Double>?]
    let rColumns: [UnsafeMutablePointer<Double>?]
    /// Conv, when the workspace gathers them instead (`gathers`): the padded inputs and the
    /// offset tables the product kernels read the im2col matrices through.
    let imageGathers: [ImageGather?]
    /// Whether the conv layers' im2col matrices are gathered from padded images by the product
    /// kernels (where they run) instead of written out: the same values in the same order in
    /// every sum, so the same bits, without writing and reading back positions × patch values per
    /// image (15× the padded image for LeNet's second conv).
    public let gathers: Bool
    /// Where `gathers` is the default: wherever the product kernels run.
    public static var gathersByDefault: Bool { ShortProducts.kernelsApply }
    /// Conv: gradients of a column matrix before col2im, one block of images of
    /// `backpropagateColumns` at a time, shared by the conv stages; one for each half of the
    /// batch's images (`runLayerProducts`; the first is empty where no batch is cut).
    /// // (block · positions, patch) each
    let columnGradients: [UnsafeMutablePointer<Double>]

    /// Rows of the state left by the last `lossAndGradient`; 0 when there is none (fresh, or
    /// overwritten by `evaluate`/`objectiveGradient`).
    var gradientBatch = 0

    private let storage: UnsafeMutablePointer<Double>
    private let storageCount: Int
    private let offsets: UnsafeMutablePointer<Int64>

    /// Whether the passes split a conv layer's input product and col2im between the two halves of
    /// the team by images (`Network.inputRowCut`) instead of running them in one half beside the
    /// weight products. The same bits either way; false only to show that in the tests.
    public let cutsInputProducts: Bool

    /// Buffers for `architecture` and batches of at most `batchCapacity` rows; `gathers` and
    /// `cutsInputProducts` as above (`gathers` true only where the product kernels run).
    public init(
        architecture: NetworkArchitecture, batchCapacity: Int, gathers: Bool = gathersByDefault,
        cutsInputProducts: Bool = true
    ) {
        precondition(batchCapacity >= 1, "NetworkWorkspace: batch capacity must be positive")
        precondition(!gathers || ShortProducts.kernelsApply, "NetworkWorkspace: gathering needs the product kernels")
        self.architecture = architecture
        self.batchCapacity = batchCapacity
        self.gathers = gathers
        self.cutsInputProducts = cutsInputProducts
        // The row offset tables live in an Int64 allocation of their own, and the column-gradient
        // scratch holds a block of images, not a row's worth per row of the batch: one for the
        // second half of the images, and one for the first half where batches are large enough to
        // be cut (`inputRowCut`). A block is at most `columnBlockValues`, and the first scratch
        // exists only for batches of two blocks or more, so the two stay within what the memory
        // estimate counts for them: the largest conv layer's row of column gradients per row.
        var scratch = (first: 0, second: 0)
        for case .conv2d(let g) in architecture.stages.map(\.operation) {
            let block = Network.columnBlockImages(g), row = g.positions * g.patch
            if cutsInputProducts && batchCapacity >= 2 * block { scratch.first = max(scratch.first, block * row) }
            scratch.second = max(scratch.second, min(batchCapacity, block) * row)
        }
        storageCount =
            batchCapacity * architecture.workspaceRow(gathered: gathers).values + scratch.first + scratch.second
        storage = .allocate(capacity: storageCount)
        storage.initialize(repeating: 0, count: storageCount)

        var next = storage
        func carve(_ width: Int) -> UnsafeMutablePointer<Double> {
            defer { next += batchCapacity * width }
            return next
        }
        let stages = architecture.stages
        input = carve(architecture.inputCount)
        outputs = stages.map { carve($0.outputCount) }
        gradients = stages.map { carve($0.outputCount) }
        rOutputs = stages.map { carve($0.outputCount) }
        rGradients = stages.map { carve($0.outputCount) }
        routes = stages.map { stage in
            switch stage.operation {
            case .activation(let activation): activation.storesDerivative ? carve(stage.outputCount) : nil
            case .maxpool: carve(stage.outputCount)
            default: nil
            }
        }
        columns = stages.map { stage in
            guard !gathers, case .conv2d(let g) = stage.operation else { return nil }
            return carve(g.positions * g.patch)
        }
        rColumns = stages.map { stage in
            guard !gathers, case .conv2d(let g) = stage.operation else { return nil }
            return carve(g.positions * g.patch)
        }
        // The tables: a word per output position of every image (row offsets) and per patch value.
        let tableWords = stages.reduce(0) { words, stage in
            guard gathers, case .conv2d(let g) = stage.operation else { return words }
            return words + batchCapacity * g.positions + g.patch
        }
        offsets = .allocate(capacity: max(1, tableWords))
        var nextOffset = offsets
        imageGathers = stages.map { stage in
            guard gathers, case .conv2d(let g) = stage.operation else { return nil }
            // R{input} is zero below the first layer with parameters: no padded copy of it there.
            let padded = g.needsPadding ? carve(g.paddedCount) : nil
            let rPadded = g.needsPadding && stage.dependsOnParameters ? carve(g.paddedCount) : nil
            let rowOffsets = nextOffset, columnOffsets = nextOffset + batchCapacity * g.positions
            nextOffset += batchCapacity * g.positions + g.patch
            return ImageGather(
                geometry: g, padded: padded, rPadded: rPadded, rowOffsets: rowOffsets, columnOffsets: columnOffsets,
                images: batchCapacity)
        }
        columnGradients = [next, next + scratch.first]
        next += scratch.first + scratch.second
        assert(next == storage + storageCount)
        assert(nextOffset == offsets + tableWords)
    }

    deinit {
        storage.deinitialize(count: storageCount)
        storage.deallocate()
        offsets.deallocate()
    }
}

@available(*, unavailable, message: "one NetworkWorkspace per thread")
extension NetworkWorkspace: Sendable {}

/// The dense shorthand's old name.
public typealias MLPWorkspace = NetworkWorkspace
