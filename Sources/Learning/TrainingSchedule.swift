/// The hyperparameters of one inner training run, in natural units, expanded to what the reversible
/// trainer consumes: one value per training iteration and parameter block for the step sizes and
/// momenta, one L2 strength per parameter, one initial scale per block.
///
/// Blocks are the model's parameter blocks in order (W1, b1, W2, b2, ...). The tuning layer builds
/// this from a job spec's hyperparameter groups (segments, global or per-block values) and maps the
/// resulting `TrainingHypergradient` back onto those groups.
public struct TrainingSchedule: Sendable, Equatable {
    /// Number of training iterations T.
    public var iterations: Int
    /// Step size α[t][k] > 0 for iteration t (0-based) and block k.  // (T, K)
    public var learningRates: [[Double]]
    /// Momentum γ[t][k] in (0, 1) for iteration t and block k.       // (T, K)
    public var momenta: [[Double]]
    /// L2 strength λ_i ≥ 0 per parameter; the penalty is ½ Σ λ_i w_i². Zero for biases.  // (N)
    public var l2: [Double]
    /// Initial scale s_k > 0 per block: w_1 = s ⊙ ε with ε ~ N(0, 1).  // (K)
    public var initScales: [Double]

    public init(
        iterations: Int, learningRates: [[Double]], momenta: [[Double]], l2: [Double],
        initScales: [Double]
    ) {
        self.iterations = iterations
        self.learningRates = learningRates
        self.momenta = momenta
        self.l2 = l2
        self.initScales = initScales
    }
}

/// The exact gradient of a meta-objective with respect to every continuous input of one training
/// run, in natural units (not yet chained through any reparameterisation).
public struct TrainingHypergradient: Sendable, Equatable {
    /// ∂f/∂α[t][k].  // (T, K)
    public var learningRates: [[Double]]
    /// ∂f/∂γ[t][k], with γ the momentum the dynamics really apply (see `RationalFactor`).  // (T, K)
    public var momenta: [[Double]]
    /// ∂f/∂λ_i per parameter.  // (N)
    public var l2: [Double]
    /// ∂f/∂s_k per block.  // (K)
    public var initScales: [Double]
    /// ∂f/∂w_1, the initial weights.  // (N)
    public var initialWeights: [Double]
    /// ∂f/∂X for the training inputs (rows, features), when requested.
    public var trainingInputs: [Double]?

    public init(
        learningRates: [[Double]], momenta: [[Double]], l2: [Double], initScales: [Double],
        initialWeights: [Double], trainingInputs: [Double]?
    ) {
        self.learningRates = learningRates
        self.momenta = momenta
        self.l2 = l2
        self.initScales = initScales
        self.initialWeights = initialWeights
        self.trainingInputs = trainingInputs
    }
}
