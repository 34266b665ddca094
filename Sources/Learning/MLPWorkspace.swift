/// Scratch buffers for batches up to `batchCapacity` rows; reused every step, no allocation in the
/// training loop. Not Sendable: one per worker/thread.
///
/// Besides scratch space it holds the forward and backward state of the last
/// `MLP.lossAndGradient` call (inputs, activations, φ', δ), which `MLP.hessianVectorProduct` reuses
/// instead of recomputing: that is what makes an HVP cost about two gradients' worth of products.
/// All buffers live in one allocation, carved into named row-major views.
public final class MLPWorkspace {
    /// The architecture the buffers are shaped for.
    public let architecture: MLPArchitecture
    /// The largest batch (or evaluation chunk) the buffers hold.
    public let batchCapacity: Int

    // Per weight layer l (0-based, width n = layerSizes[l + 1]) unless noted; `hidden` arrays have
    // one entry per hidden layer (layerCount − 1), as the output layer has no φ.

    /// Copy of the last gradient call's inputs, a_0.  // (batch, inputs)
    let input: UnsafeMutablePointer<Double>
    /// z_l overwritten by a_l = φ(z_l); softmax probabilities p for the output layer.  // (batch, n)
    let activations: [UnsafeMutablePointer<Double>]
    /// φ'(z_l), hidden layers only.  // (batch, n)
    let derivatives: [UnsafeMutablePointer<Double>]
    /// δ_l = ∂L/∂z_l.  // (batch, n)
    let deltas: [UnsafeMutablePointer<Double>]
    /// δ'_l = ∂L/∂a_l, hidden layers only (the R-pass needs it next to φ'').  // (batch, n)
    let upstreams: [UnsafeMutablePointer<Double>]
    /// R{z_l}.  // (batch, n)
    let rPreactivations: [UnsafeMutablePointer<Double>]
    /// R{a_l}, hidden layers only.  // (batch, n)
    let rActivations: [UnsafeMutablePointer<Double>]
    /// R{δ'_l}, turned into R{δ_l} in place.  // (batch, n)
    let rDeltas: [UnsafeMutablePointer<Double>]

    /// Rows of the state left by the last `lossAndGradient`; 0 when there is none (fresh, or
    /// overwritten by `evaluate`/`objectiveGradient`).
    var gradientBatch = 0

    private let storage: UnsafeMutablePointer<Double>
    private let storageCount: Int

    /// Buffers for `architecture` and batches of at most `batchCapacity` rows.
    public init(architecture: MLPArchitecture, batchCapacity: Int) {
        precondition(batchCapacity >= 1, "MLPWorkspace: batch capacity must be positive")
        self.architecture = architecture
        self.batchCapacity = batchCapacity
        let widths = Array(architecture.layerSizes.dropFirst())
        let hiddenWidths = Array(widths.dropLast())
        // input + (activations, deltas, rPreactivations, rDeltas) per layer
        // + (derivatives, upstreams, rActivations) per hidden layer
        let columns = architecture.layerSizes[0] + 4 * widths.reduce(0, +)
            + 3 * hiddenWidths.reduce(0, +)
        storageCount = batchCapacity * columns
        storage = .allocate(capacity: storageCount)
        storage.initialize(repeating: 0, count: storageCount)

        var next = storage
        func carve(_ width: Int) -> UnsafeMutablePointer<Double> {
            defer { next += batchCapacity * width }
            return next
        }
        input = carve(architecture.layerSizes[0])
        activations = widths.map(carve)
        deltas = widths.map(carve)
        rPreactivations = widths.map(carve)
        rDeltas = widths.map(carve)
        derivatives = hiddenWidths.map(carve)
        upstreams = hiddenWidths.map(carve)
        rActivations = hiddenWidths.map(carve)
        assert(next == storage + storageCount)
    }

    deinit {
        storage.deinitialize(count: storageCount)
        storage.deallocate()
    }
}

@available(*, unavailable, message: "one MLPWorkspace per thread")
extension MLPWorkspace: Sendable {}
