import Foundation
import Learning

extension WeightSharingRun {
    /// An upper bound of what one item of the job holds at its peak (`MemoryEstimate`): the
    /// information buffer of every task's z's and biases, the exact state and the per-task
    /// networks' buffers, each task's full-batch workspace, and the Omniglot rows. The T_l do not
    /// change it: only the momentum, T and the widths do.
    public func memoryEstimate(at unconstrained: [Double]) -> MemoryEstimate {
        let model = SharedWeightModel(network: network, tasks: settings.tasks, transforms: settings.initialTransforms)
        let n = model.parameterCount, perTask = network.parameterCount, t = settings.iterations
        // Every velocity is multiplied by γ at every step: 32 − log2(numerator) bits each time.
        let numerator = RationalFactor(approximating: settings.momentum)?.numerator ?? 1
        let perStep = Double(RationalFactor.denominatorBits) - log2(Double(numerator))
        var bufferBits = 0.0
        let stacks = MemoryEstimate.informationBuffer(
            bits: Array(repeating: perStep * Double(t), count: model.blocks.count), blocks: model.blocks,
            adding: &bufferBits)
        let buffer = Int(min(bufferBits / 8, Double(Int.max / 8))) + 8 * n
        // The trainer's 11 words per parameter, the noise, penalties, final parameters and the
        // hypergradient's pullback about 6 more; each task's weights, gradient, direction and
        // product, and one zero penalty per task network.
        let modelBytes = 17 * 8 * n + 8 * (4 * settings.tasks + 1) * perTask
        // Every task's network holds its full batch (at most 12 drawings per character, the final
        // item's), and one task at a time an evaluation chunk; the per-step schedules (T, K).
        let characters = OmniglotTasks.characterCounts.prefix(settings.alphabets).reduce(0, +)
        let turns = settings.rotations ? 2 : 1
        let perRow = 8 * max(network.inputCount + 9 * network.layerSizes.reduce(0, +), network.workspaceValuesPerRow)
        let batch = OmniglotTasks.trainingDrawings * characters * turns
        let largest = OmniglotTasks.trainingDrawings * (OmniglotTasks.characterCounts.max() ?? 0)
        let k = model.blocks.count
        let schedules = t * (3 * (48 + 16 * k) + 2 * 64 * k) + 2 * 8 * t
        let workspaces = perRow * (batch + network.evaluationChunk(rows: largest)) + schedules
        // The decoded drawings, once per process; per item at most a split's rows (12 drawings),
        // all 12 of the final item's test training and the 3 test drawings, each with a label.
        let shared = OmniglotData.rows * (8 * OmniglotTasks.features + 64)
        let data = shared + (2 * OmniglotTasks.trainingDrawings + 3) * characters * turns * (8 * network.inputCount + 4)
        var estimate = MemoryEstimate(
            bufferBytes: buffer, modelBytes: modelBytes, workspaceBytes: workspaces, dataBytes: data,
            allocationBytes: max(0, stacks + 16 * n - buffer), fixedBytes: MemoryEstimate.runOverheadBytes)
        estimate.decayField = "/training/momentum"
        estimate.workspaceFields = ["/model/sharing/alphabets", "/training/iterations"]
        estimate.dataFields = ["/model/sharing/alphabets"]
        return estimate
    }

    /// `.overMemoryBudget` when the job would need more than `budget` bytes; nil when it fits.
    public func memoryProblem(budget: Int) -> JobRequestError? {
        let estimate = memoryEstimate(at: initialCheckpoint().unconstrained)
        return estimate.totalBytes > budget ? .overMemoryBudget(estimate, budget: budget) : nil
    }
}
