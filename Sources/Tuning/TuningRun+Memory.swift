import Foundation
import Learning

/// What one inner run of a tuning job holds in memory at its peak, by part, in bytes.
///
/// The information buffer dominates unbounded jobs: each step at momentum γ destroys
/// log2(1/γ) bits of every parameter it multiplies (exactly `32 − log2 n` for the factor
/// n/2^32 the dynamics apply), and those bits are held until the reverse pass gives them back.
/// So a spec's peak is known before it runs, from its momenta and T alone; no training needed.
public struct MemoryEstimate: Sendable, Equatable {
    /// The information buffer at the end of the forward pass: Σ_t Σ_k |block k|·log2(2^32/n_tk)
    /// bits, plus two 32-bit limbs per parameter (digits are stored in whole limbs).
    public var bufferBytes: Int
    /// Exact position and velocity, gradients, adjoints, noise: a fixed number of words per parameter.
    public var modelBytes: Int
    /// Per-step schedules and their adjoints, (T, K), and the minibatch workspaces.
    public var workspaceBytes: Int
    /// The training and validation rows as a run holds them (and the learned inputs, if any).
    public var dataBytes: Int

    public var totalBytes: Int { bufferBytes + modelBytes + workspaceBytes + dataBytes }

    /// The spec fields that drive the largest part, as JSON Pointers: what to change to shrink it.
    public var drivingFields: [String] {
        let parts = [
            (bufferBytes, ["/hyperparameters/momentum", "/training/iterations", "/model/hidden"]),
            (modelBytes, ["/model/hidden"]),
            (workspaceBytes, ["/training/iterations", "/training/batch_size", "/model/hidden"]),
            (dataBytes, ["/split", "/hyperparameters/training_data"]),
        ]
        return parts.max { $0.0 < $1.0 }!.1
    }

    /// One line naming each part in MiB, for error messages.
    public var summary: String {
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        return "about \(mib(totalBytes)): information buffer \(mib(bufferBytes)), model \(mib(modelBytes)), "
            + "workspaces \(mib(workspaceBytes)), data \(mib(dataBytes))"
    }
}

extension TuningRun {
    /// The peak memory of the inner runs at hyperparameters `u` (the momenta fix the buffer).
    public func memoryEstimate(at u: [Double]) -> MemoryEstimate {
        let schedule = space.schedule(u)
        let blocks = architecture.blocks
        var bufferBits = 0.0
        for row in schedule.momenta {
            for (k, gamma) in row.enumerated() {
                let numerator = RationalFactor(approximating: gamma)?.numerator ?? 1
                let bits = Double(RationalFactor.denominatorBits) - log2(Double(numerator))
                bufferBits += bits * Double(blocks[k].range.count)
            }
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
        let model = 17 * 8 * n
        // learning rates, momenta, their adjoints and the exact factors: about 6 words per (t, k)
        // plus a row header each; the losses and curve one word per step.
        let schedules = t * (6 * 8 * k + 5 * 32) + 2 * 8 * t
        // The dense shorthand's rule, or the layers' own count where larger (im2col patches).
        let workspaces = 8 * (batch + evaluationBatch) * max(features + 9 * widths, architecture.workspaceValuesPerRow)
        var data = 8 * (training.inputs.count + validation.inputs.count) * 2
            + 4 * (training.rows + validation.rows) * 2
        if spec.hyperparameters.trainingData.learn { data += 4 * 8 * training.inputs.count }
        return MemoryEstimate(
            bufferBytes: Int(min(bufferBits / 8, Double(Int.max / 4))) + 8 * n,
            modelBytes: model, workspaceBytes: schedules + workspaces, dataBytes: data)
    }

    /// The estimate at the hyperparameters a job starts from: what admission control checks.
    public var initialMemoryEstimate: MemoryEstimate {
        memoryEstimate(at: space.initialVector(trainingInputs: training.inputs))
    }

    /// The problem to answer when the job would need more than `budget` bytes, naming the fields
    /// that drive its largest part; nil when it fits.
    public func memoryProblem(budget: Int) -> ProblemDetails? {
        let estimate = initialMemoryEstimate
        guard estimate.totalBytes > budget else { return nil }
        let limit = String(format: "%.0f MiB", Double(budget) / 1_048_576)
        let message = "the job needs \(estimate.summary); the job memory budget is \(limit)"
        return ProblemDetails(
            status: 422, slug: "over-memory-budget", title: "The job needs more memory than a job may use",
            detail: message, errors: estimate.drivingFields.map { field in
                // A network given as layers is sized by them, not by the dense shorthand.
                let named = spec.model.layers != nil && field == "/model/hidden" ? "/model/layers" : field
                return SpecError(field: named, message: message)
            },
            extensions: [
                "estimated_bytes": .number(Double(estimate.totalBytes)),
                "budget_bytes": .number(Double(budget)),
            ])
    }
}
