import Foundation
import Learning

/// What one inner run of a tuning job holds in memory at its peak, by part, in bytes.
///
/// The information buffer dominates unbounded jobs: each step at momentum γ destroys
/// log2(1/γ) bits of every parameter it multiplies (exactly `32 − log2 n` for the factor
/// n/2^32 the dynamics apply), and those bits are held until the reverse pass gives them back.
/// So a spec's peak is known before it runs, from its momenta and T alone; no training needed.
public struct MemoryEstimate: Sendable, Equatable {
    /// What a training run holds whatever its size: allocator arenas, its thread's stack, the
    /// BLAS library's work buffers.
    public static let runOverheadBytes = 8 << 20

    /// The information buffer at the end of the forward pass: Σ_t Σ_k |block k|·log2(2^32/n_tk)
    /// bits, plus two 32-bit limbs per parameter (digits are stored in whole limbs).
    public var bufferBytes: Int
    /// Exact position and velocity, gradients, adjoints, noise: a fixed number of words per parameter.
    public var modelBytes: Int
    /// Per-step schedules and their adjoints, (T, K), and the minibatch workspaces.
    public var workspaceBytes: Int
    /// The training and validation rows as a run holds them (and the learned inputs, if any).
    public var dataBytes: Int
    /// What the buffer allocates beyond its bits: the state registers and each tile's stacks
    /// rounded up to whole chunks for its deepest parameter.
    public var allocationBytes: Int = 0
    /// Training runs that hold a buffer, model and workspaces at the same time (`meta.seeds` runs
    /// on up to the job's threads); the data is shared.
    public var concurrentRuns: Int = 1
    /// Per process and run: allocator arenas, thread stacks, the BLAS library's work buffers.
    public var fixedBytes: Int = 0
    /// The field that sizes the network in error messages: the dense shorthand or the layers.
    public var modelField = "/model/hidden"
    /// The field whose decays size the information buffer: momentum, or Adam's β2 (its v buffer).
    public var decayField = "/hyperparameters/momentum"
    /// The fields besides the model's that size the workspaces, and those that size the data.
    public var workspaceFields = ["/training/iterations", "/training/batch_size"]
    public var dataFields = ["/split", "/hyperparameters/training_data"]

    /// An upper bound of what a job adds to its process's resident memory at its peak.
    public var totalBytes: Int {
        let run = bufferBytes + allocationBytes + modelBytes + workspaceBytes + fixedBytes
        return Self.saturating(run, times: concurrentRuns) + dataBytes
    }

    static func saturating(_ a: Int, times b: Int) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max / 4 : min(product, Int.max / 4)
    }

    /// The spec fields that drive the largest part, as JSON Pointers: what to change to shrink it.
    public var drivingFields: [String] {
        let parts = [
            (bufferBytes + allocationBytes, [decayField, "/training/iterations", modelField]),
            (modelBytes, [modelField]),
            (workspaceBytes, workspaceFields + [modelField]),
            (dataBytes, dataFields),
        ]
        return parts.max { $0.0 < $1.0 }!.1
    }

    /// One line naming each part in MiB, for error messages.
    public var summary: String {
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        let runs = concurrentRuns > 1 ? " for each of \(concurrentRuns) concurrent runs" : ""
        return
            "about \(mib(totalBytes)): information buffer \(mib(bufferBytes + allocationBytes)), model \(mib(modelBytes)), "
            + "workspaces \(mib(workspaceBytes + fixedBytes))\(runs), data \(mib(dataBytes))"
    }
}

extension MemoryEstimate {
    /// One information buffer whose parameters of block k destroy `bits[k]` bits each over a run:
    /// adds the bits it holds at the end of the forward pass to `bufferBits`, and returns the bytes
    /// its tiles' stacks allocate.
    static func informationBuffer(
        bits blockBits: [Double], blocks: [ParameterBlock], adding bufferBits: inout Double
    ) -> Int {
        var stacks = 0
        for (k, block) in blocks.enumerated() {
            bufferBits += blockBits[k] * Double(block.range.count)
            // The state register holds the first 63 to 95 bits, the stack the rest in 32-bit
            // words; parameters of a tile differ by at most a word, so one more row bounds the deepest.
            let depth = Int(min(max(0, (blockBits[k] + 32 - 63) / 32), Double(Int32.max)).rounded(.up)) + 1
            let tiles = (block.range.count + InformationBuffer.tileWidth - 1) / InformationBuffer.tileWidth
            let rows = InformationBuffer.allocatedRows(forDepth: depth)
            stacks += saturating(tiles, times: rows * InformationBuffer.tileWidth * 4 + 16 * (rows / 16 + 8))
        }
        return stacks
    }
}

extension TuningRun {
    /// The peak memory of the inner runs at hyperparameters `u` (the momenta fix the buffer).
    public func memoryEstimate(at u: [Double]) -> MemoryEstimate {
        let schedule = space.schedule(u)
        let blocks = architecture.blocks
        // Bits each parameter of block k destroys over the run (its momentum is the block's), in
        // each information buffer: SGD's one; Adam's for m (β1), v (β2) and the weight decay.
        func bits(_ factors: [[Double]]) -> [Double] {
            var blockBits = [Double](repeating: 0, count: blocks.count)
            for row in factors {
                for (k, gamma) in row.enumerated() where gamma > 0 {
                    let numerator = RationalFactor(approximating: gamma)?.numerator ?? 1
                    blockBits[k] += Double(RationalFactor.denominatorBits) - log2(Double(numerator))
                }
            }
            return blockBits
        }
        var buffers: [[Double]]
        // Adam's w, m and v (16 bytes each), the moments' low words, w as doubles and the adjoints
        // m̄ and v̄ (and the decay's numerators when it is per weight).
        var optimizerWords = 0
        if spec.training.optimizer == .adam {
            let adam = space.adamSchedule(u)
            buffers = [bits(adam.beta1), bits(adam.beta2)]
            // Per weight: each block at its largest decay, an upper bound.
            let decay = adam.largestWeightDecay(blocks: blocks.map(\.range))
            if !decay.isEmpty {
                buffers.append(bits(adam.learningRates.map { row in row.indices.map { 1 - row[$0] * decay[$0] } }))
            }
            optimizerWords = adam.parameterWeightDecay.isEmpty ? 9 : 10
        } else {
            buffers = [bits(schedule.momenta)]
        }
        var bufferBits = 0.0
        var stacks = 0
        for blockBits in buffers {
            stacks += MemoryEstimate.informationBuffer(bits: blockBits, blocks: blocks, adding: &bufferBits)
        }
        let n = architecture.parameterCount
        let t = schedule.iterations
        let k = blocks.count
        let widths = architecture.layerSizes.reduce(0, +)
        let batch = spec.training.batchSize
        let evaluationBatch = architecture.evaluationChunk(rows: max(training.rows, validation.rows))
        let features = architecture.inputCount
        // TrainerScratch holds 11 words per parameter; noise, l2, the final weights, the
        // hypergradient and its pullback about 6 more.
        let model = (17 + optimizerWords) * 8 * n
        // Per step, arrays of K numbers, each costing its header and the allocator's rounding
        // (48 bytes) plus at most 16 bytes an element: the learning rates, momenta and exact
        // factors of the forward pass, and the item's per-step schedules as JSON (64 bytes a
        // number); an item with a hypergradient (any job with meta-iterations) adds the adjoints
        // and the hypergradient's two arrays. The losses and curve one word per step.
        let array = 48 + 16 * k
        let hypergradient = spec.meta.iterations > 0 ? 4 * array : 0
        let schedules = t * (3 * array + 2 * 64 * k + hypergradient) + 2 * 8 * t
        // The dense shorthand's rule, or the layers' own count where larger (padded conv inputs, or
        // im2col matrices where the product kernels do not gather them).
        let workspaces = 8 * (batch + evaluationBatch) * max(features + 9 * widths, architecture.workspaceValuesPerRow)
        // The data set as loaded and the parts cut from it coexist while the run is prepared; a
        // shared built-in (mnist) is loaded once per process, whole, and counted as such.
        let rows = training.inputs.count + validation.inputs.count + (test?.inputs.count ?? 0)
        let labels = training.rows + validation.rows + (test?.rows ?? 0)
        var data = sharedDataBytes > 0 ? 8 * rows + 8 * labels + sharedDataBytes : 8 * rows * 2 + 8 * labels * 2
        if spec.hyperparameters.trainingData.learn { data += 4 * 8 * training.inputs.count }
        let buffer = Int(min(bufferBits / 8, Double(Int.max / 8))) + 8 * n * buffers.count
        var estimate = MemoryEstimate(
            bufferBytes: buffer, modelBytes: model, workspaceBytes: schedules + workspaces, dataBytes: data,
            allocationBytes: max(0, stacks + 16 * n * buffers.count - buffer),
            concurrentRuns: max(1, min(threads, spec.meta.seeds)),
            fixedBytes: MemoryEstimate.runOverheadBytes)
        if spec.training.optimizer == .adam { estimate.decayField = "/hyperparameters/beta2" }
        return estimate
    }

    /// The estimate at the hyperparameters a job starts from: what admission control checks.
    public var initialMemoryEstimate: MemoryEstimate {
        memoryEstimate(at: space.initialVector(trainingInputs: training.inputs))
    }

    /// `.overMemoryBudget` when the job would need more than `budget` bytes (its errors name the
    /// fields that drive its largest part); nil when it fits.
    public func memoryProblem(budget: Int) -> JobRequestError? {
        let estimate = initialMemoryEstimate
        guard estimate.totalBytes > budget else { return nil }
        var named = estimate
        // A network given as layers is sized by them, not by the dense shorthand.
        if spec.model.layers != nil { named.modelField = "/model/layers" }
        return .overMemoryBudget(named, budget: budget)
    }
}
