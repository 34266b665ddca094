import Foundation
import Learning

/// The map between the flat vector u of unconstrained reals the meta-optimiser moves and the
/// hyperparameters a training run uses.
///
/// u is laid out group by group: log α as (segments, columns) row-major, then logit γ the same way,
/// log λ, log s, then the training inputs as they are (when learned). Every group is always present
/// so that shapes never depend on `learn`; `learnMask` freezes the groups with `learn: false`.
///
/// Momentum is γ = σ(u) with u clamped to [logit 1e-6, logit(1 − 1e-9)], so that γ stays strictly
/// inside (0, 1) where the exact rational multiply (denominator 2^32) can represent it and its
/// inverse. The pullback treats the clamp as the identity (it multiplies by γ(1−γ) of the clamped
/// γ), so a u that wandered past a bound still feels the gradient that can bring it back.
public struct HyperparameterSpace: Sendable {
    /// Length of u.
    public let count: Int
    /// False where the entry's group has `learn: false`.  // (count)
    public let learnMask: [Bool]

    let iterations: Int
    let learningRateLayout: ScheduleLayout
    let momentumLayout: ScheduleLayout
    let l2Per: JobSpec.L2Granularity
    let initScalePer: JobSpec.InitScaleGranularity
    let blocks: [ParameterBlock]
    let parameterCount: Int
    /// Index ranges in u.
    let learningRateRange: Range<Int>, momentumRange: Range<Int>, l2Range: Range<Int>
    let initScaleRange: Range<Int>, trainingDataRange: Range<Int>
    /// Adam's groups (empty ranges for SGD, as momentum's is for Adam).
    let optimizer: JobSpec.Optimizer
    let beta1Layout: ScheduleLayout, beta2Layout: ScheduleLayout
    let weightDecayPer: JobSpec.L2Granularity
    let beta1Range: Range<Int>, beta2Range: Range<Int>, epsilonRange: Range<Int>, weightDecayRange: Range<Int>
    /// (rows, features) of the learned training inputs, nil when they are not learned.
    let trainingDataShape: (rows: Int, features: Int)?
    let hyperparameters: JobSpec.Hyperparameters

    static let momentumLowerBound = 1e-6
    static let momentumUpperBound = 1 - 1e-9
    static let logitLowerBound = logit(momentumLowerBound)
    static let logitUpperBound = logit(momentumUpperBound)

    public init(spec: JobSpec, architecture: NetworkArchitecture, trainingRows: Int) {
        let hyper = spec.hyperparameters
        let blockCount = architecture.blocks.count
        iterations = spec.training.iterations
        learningRateLayout = ScheduleLayout(group: hyper.learningRate, iterations: iterations, blockCount: blockCount)
        momentumLayout = ScheduleLayout(group: hyper.momentum, iterations: iterations, blockCount: blockCount)
        l2Per = hyper.l2.per
        initScalePer = hyper.initScale.per
        blocks = architecture.blocks
        parameterCount = architecture.parameterCount
        hyperparameters = hyper
        trainingDataShape = hyper.trainingData.learn ? (trainingRows, architecture.inputCount) : nil
        optimizer = spec.training.optimizer
        beta1Layout = ScheduleLayout(group: hyper.beta1, iterations: iterations, blockCount: blockCount)
        beta2Layout = ScheduleLayout(group: hyper.beta2, iterations: iterations, blockCount: blockCount)
        weightDecayPer = hyper.weightDecay.per
        let adam = optimizer == .adam

        let weightBlocks = architecture.blocks.filter { $0.kind == .weight }
        let l2Count =
            switch hyper.l2.per {
            case .global: 1
            case .block: weightBlocks.count
            case .weight: weightBlocks.reduce(0) { $0 + $1.range.count }
            }
        let initScaleCount = hyper.initScale.per == .global ? 1 : blockCount
        let weightDecayCount =
            switch (adam && hyper.weightDecay.isOn, hyper.weightDecay.per) {
            case (false, _): 0
            case (true, .global): 1
            case (true, .block): weightBlocks.count
            case (true, .weight): weightBlocks.reduce(0) { $0 + $1.range.count }
            }
        var offset = 0
        func take(_ length: Int) -> Range<Int> {
            defer { offset += length }
            return offset..<(offset + length)
        }
        learningRateRange = take(learningRateLayout.valueCount)
        momentumRange = take(adam ? 0 : momentumLayout.valueCount)
        l2Range = take(l2Count)
        initScaleRange = take(initScaleCount)
        // After the SGD groups, so that an SGD job's u is laid out as it always was.
        beta1Range = take(adam ? beta1Layout.valueCount : 0)
        beta2Range = take(adam ? beta2Layout.valueCount : 0)
        epsilonRange = take(adam ? 1 : 0)
        weightDecayRange = take(weightDecayCount)
        trainingDataRange = take(trainingDataShape.map { $0.rows * $0.features } ?? 0)
        count = offset

        var mask = Array(repeating: false, count: count)
        for (range, learn) in [
            (learningRateRange, hyper.learningRate.learn), (momentumRange, hyper.momentum.learn),
            (l2Range, hyper.l2.learn), (initScaleRange, hyper.initScale.learn), (trainingDataRange, true),
            (beta1Range, hyper.beta1.learn), (beta2Range, hyper.beta2.learn), (epsilonRange, hyper.epsilon.learn),
            (weightDecayRange, hyper.weightDecay.learn),
        ] where learn {
            for index in range { mask[index] = true }
        }
        learnMask = mask
    }

    /// u from the spec's `init`s: log α, logit γ, log λ, log s, then Adam's logit β1, logit β2,
    /// log ε, log weight decay, then the training inputs unchanged.
    /// `trainingInputs` are the split's training rows (rows, features); ignored unless learned.
    public func initialVector(trainingInputs: [Double]) -> [Double] {
        var u: [Double] = []
        u.reserveCapacity(count)
        u += Self.expand(hyperparameters.learningRate.initial, count: learningRateRange.count).map {
            PortableMath.log($0)
        }
        u += Self.expand(hyperparameters.momentum.initial, count: momentumRange.count).map(Self.logit)
        u += Self.expand(hyperparameters.l2.initial, count: l2Range.count).map { PortableMath.log($0) }
        u += Self.expand(hyperparameters.initScale.initial, count: initScaleRange.count).map { PortableMath.log($0) }
        u += Self.expand(hyperparameters.beta1.initial, count: beta1Range.count).map(Self.logit)
        u += Self.expand(hyperparameters.beta2.initial, count: beta2Range.count).map(Self.logit)
        u += Array(repeating: PortableMath.log(hyperparameters.epsilon.initial), count: epsilonRange.count)
        u += Self.expand(hyperparameters.weightDecay.initial, count: weightDecayRange.count).map {
            PortableMath.log($0)
        }
        if trainingDataShape != nil {
            precondition(
                trainingInputs.count == trainingDataRange.count,
                "training inputs have \(trainingInputs.count) values, expected \(trainingDataRange.count)")
            u += trainingInputs
        }
        precondition(u.count == count, "initial vector has \(u.count) entries, expected \(count)")
        return u
    }

    /// The learned training inputs (rows, features), or nil when they are not learned.
    public func trainingInputs(_ u: [Double]) -> [Double]? {
        trainingDataShape == nil ? nil : Array(u[trainingDataRange])
    }

    /// γ = σ(u), u clamped (see the type's note), computed without overflow for either sign.
    static func sigmoid(_ u: Double) -> Double {
        let clamped = min(max(u, logitLowerBound), logitUpperBound)
        if clamped >= 0 { return 1 / (1 + PortableMath.exp(-clamped)) }
        let e = PortableMath.exp(clamped)
        return e / (1 + e)
    }

    /// log γ − log(1 − γ). The project's portable log, not libm's (whose last bit depends on the
    /// CPU); 1 − γ is exact for γ ≥ ½ (Sterbenz) and for small γ its rounding (≤ 2^-53) is far
    /// below the logit's own ulp, so log1p is not needed.
    static func logit(_ gamma: Double) -> Double { PortableMath.log(gamma) - PortableMath.log(1 - gamma) }

    private static func expand(_ initial: JobSpec.ScheduleInitial, count: Int) -> [Double] {
        switch initial {
        case .uniform(let value): return Array(repeating: value, count: count)
        case .table(let rows):
            let flat = rows.flatMap { $0 }
            precondition(
                flat.count == count,
                "schedule init has \(flat.count) values, expected \(count): validate the spec first")
            return flat
        }
    }

    private static func expand(_ initial: JobSpec.VectorInitial, count: Int) -> [Double] {
        switch initial {
        case .uniform(let value): return Array(repeating: value, count: count)
        case .values(let values):
            precondition(
                values.count == count, "init has \(values.count) values, expected \(count): validate the spec first")
            return values
        }
    }
}

/// Where each (iteration, block) of the expanded schedule takes its value from in a group's table.
struct ScheduleLayout: Sendable {
    let iterations: Int
    let segments: Int
    /// Blocks when per-block, else 1.
    let columns: Int

    init(group: JobSpec.ScheduleGroup, iterations: Int, blockCount: Int) {
        self.iterations = iterations
        segments = group.schedule.segmentCount(iterations: iterations)
        columns = group.perBlock ? blockCount : 1
    }

    var valueCount: Int { segments * columns }

    /// Iteration t (0-based) belongs to segment ⌊t·S/T⌋: S equal runs, the same rule for all schedules.
    func segment(ofIteration t: Int) -> Int { t * segments / iterations }

    func column(ofBlock block: Int) -> Int { columns == 1 ? 0 : block }

    /// Offset within the group's range of the value used at iteration t for block k.
    func index(iteration t: Int, block: Int) -> Int { segment(ofIteration: t) * columns + column(ofBlock: block) }
}
