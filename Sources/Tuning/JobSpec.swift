import JSON
import Learning

/// A tuning job as a client submits it (`API.md`, "Job spec"), with every default filled in.
///
/// Build one with `JobSpec.parse(_:)`, which checks everything that does not need the dataset and
/// collects every problem; then `validate(dataset:)` checks the rest once the dataset is known.
/// `json()` gives the normalised document back in the documented field order, and `Codable` goes
/// through that same document so storage and the API never disagree about the wire form.
public struct JobSpec: Sendable, Equatable {
    public var name: String
    public var dataset: DatasetReference
    public var split: Split
    public var model: Model
    public var training: Training
    public var hyperparameters: Hyperparameters
    public var meta: Meta

    /// A spec with the documented defaults for everything but the dataset.
    public init(
        dataset: DatasetReference, name: String? = nil, split: Split = Split(), model: Model = Model(),
        training: Training = Training(), hyperparameters: Hyperparameters = Hyperparameters(),
        meta: Meta = Meta()
    ) {
        self.name = name ?? Self.defaultName(for: dataset)
        self.dataset = dataset
        self.split = split
        self.model = model
        self.training = training
        self.hyperparameters = hyperparameters
        self.meta = meta
    }

    /// "digits schedules" for the built-in digits, as `API.md` shows; the id for an upload.
    static func defaultName(for dataset: DatasetReference) -> String {
        switch dataset {
        case .builtin(let name): "\(name) schedules"
        case .uploaded(let id): "\(id) schedules"
        }
    }
}

/// Which data a job trains on: a built-in data set by name or an uploaded one by id.
public enum DatasetReference: Sendable, Equatable, Hashable {
    case builtin(String)
    case uploaded(id: String)
}

extension JobSpec {
    /// Consecutive rows of the dataset: the first `train` for training, the next `validation`.
    public struct Split: Sendable, Equatable {
        public var train: Int
        public var validation: Int
        public init(train: Int = 1000, validation: Int = 797) {
            self.train = train
            self.validation = validation
        }
    }

    /// The MLP: hidden layer widths (empty for multinomial logistic regression) and activation.
    public struct Model: Sendable, Equatable {
        public var hidden: [Int]
        public var activation: Activation
        public init(hidden: [Int] = [50, 50], activation: Activation = .tanh) {
            self.hidden = hidden
            self.activation = activation
        }

        /// Number of layers with weights (hidden layers plus the softmax layer).
        public var layerCount: Int { hidden.count + 1 }
        /// Parameter blocks: a weight and a bias block per layer.
        public var blockCount: Int { 2 * layerCount }
    }

    /// The inner training run.
    public struct Training: Sendable, Equatable {
        public var iterations: Int
        public var batchSize: Int
        public var seed: UInt64
        public var batches: BatchOrder
        public init(iterations: Int = 100, batchSize: Int = 100, seed: UInt64 = 0, batches: BatchOrder = .random) {
            self.iterations = iterations
            self.batchSize = batchSize
            self.seed = seed
            self.batches = batches
        }
    }

    /// How minibatches are drawn.
    public enum BatchOrder: String, Sendable, Equatable, CaseIterable {
        case random, cyclic
    }

    /// The hyperparameter groups, each with its initial value, granularity and whether it is learned.
    public struct Hyperparameters: Sendable, Equatable {
        public var learningRate: ScheduleGroup
        public var momentum: ScheduleGroup
        public var l2: L2Group
        public var initScale: InitScaleGroup
        public var trainingData: TrainingDataGroup
        public init(
            learningRate: ScheduleGroup = ScheduleGroup(initial: .uniform(0.5)),
            momentum: ScheduleGroup = ScheduleGroup(initial: .uniform(0.9)),
            l2: L2Group = L2Group(), initScale: InitScaleGroup = InitScaleGroup(),
            trainingData: TrainingDataGroup = TrainingDataGroup()
        ) {
            self.learningRate = learningRate
            self.momentum = momentum
            self.l2 = l2
            self.initScale = initScale
            self.trainingData = trainingData
        }
    }

    /// How a schedule divides the iterations.
    public enum Schedule: Sendable, Equatable {
        case constant
        case perIteration
        /// K equal runs of iterations; iteration t belongs to segment ⌊t·K/T⌋.
        case segments(Int)

        /// Number of distinct values over time for `iterations` training iterations.
        public func segmentCount(iterations: Int) -> Int {
            switch self {
            case .constant: 1
            case .perIteration: iterations
            case .segments(let count): count
            }
        }
    }

    /// A schedule group's initial value: one number everywhere, or the full (segments, blocks) table.
    public enum ScheduleInitial: Sendable, Equatable {
        case uniform(Double)
        case table([[Double]])
    }

    /// A vector group's initial value: one number everywhere, or one value per entry.
    public enum VectorInitial: Sendable, Equatable {
        case uniform(Double)
        case values([Double])
    }

    /// Step sizes or momenta over time and parameter blocks.
    public struct ScheduleGroup: Sendable, Equatable {
        public var initial: ScheduleInitial
        public var schedule: Schedule
        public var perBlock: Bool
        public var learn: Bool
        public init(initial: ScheduleInitial, schedule: Schedule = .perIteration, perBlock: Bool = true, learn: Bool = true) {
            self.initial = initial
            self.schedule = schedule
            self.perBlock = perBlock
            self.learn = learn
        }
    }

    /// L2 granularity: one λ, one per weight block, or one per weight.
    public enum L2Granularity: String, Sendable, Equatable, CaseIterable {
        case global, block, weight
    }

    /// L2 penalty strengths on the weight blocks (biases are never penalised).
    public struct L2Group: Sendable, Equatable {
        public var initial: VectorInitial
        public var per: L2Granularity
        public var learn: Bool
        public init(initial: VectorInitial = .uniform(1e-4), per: L2Granularity = .block, learn: Bool = true) {
            self.initial = initial
            self.per = per
            self.learn = learn
        }
    }

    /// Initial-scale granularity: one scale, or one per block (biases included).
    public enum InitScaleGranularity: String, Sendable, Equatable, CaseIterable {
        case global, block
    }

    /// Scales of the initial weights, `w_1 = s ⊙ ε`.
    public struct InitScaleGroup: Sendable, Equatable {
        public var initial: VectorInitial
        public var per: InitScaleGranularity
        public var learn: Bool
        public init(initial: VectorInitial = .uniform(0.1), per: InitScaleGranularity = .block, learn: Bool = true) {
            self.initial = initial
            self.per = per
            self.learn = learn
        }
    }

    /// Whether the training inputs themselves are learned (dataset distillation).
    public struct TrainingDataGroup: Sendable, Equatable {
        public var learn: Bool
        public init(learn: Bool = false) {
            self.learn = learn
        }
    }

    /// The outer loop.
    public struct Meta: Sendable, Equatable {
        public var iterations: Int
        public var optimizer: MetaOptimizer.Kind
        public var stepSize: Double
        public var objective: Objective
        public var reseed: Bool
        public init(
            iterations: Int = 50, optimizer: MetaOptimizer.Kind = .adam, stepSize: Double = 0.04,
            objective: Objective = .validationLoss, reseed: Bool = true
        ) {
            self.iterations = iterations
            self.optimizer = optimizer
            self.stepSize = stepSize
            self.objective = objective
            self.reseed = reseed
        }
    }

    /// What the meta-optimiser minimises.
    public enum Objective: String, Sendable, Equatable, CaseIterable {
        case validationLoss = "validation_loss"
        case trainingLoss = "training_loss"
    }
}
