import Learning
import Testing

/// Every group of an SGD-momentum hypergradient against central differences of whole training
/// runs (`DirectionalCheck`), with the same directions and steps wherever a network is checked:
/// α and γ per iteration and block along draws of seeds 1 and 2 (steps 1e-5 and 1e-4: γ is applied
/// as n/2^32, so its step must span many units of 2^-32), L2 per weight along draws of seed 3 on the
/// weights (biases carry none) and per block along k + 1 on every weight of weight block k
/// (step 1e-4), the init scales along seed 4 and the training inputs along seed 5 (step 1e-5).
public struct WholeRunChecks {
    public let schedule: TrainingSchedule
    public let hypergradient: TrainingHypergradient
    /// The network's parameter blocks, for the L2 directions.
    public let blocks: [ParameterBlock]
    public let tolerance: Double
    /// The objective after a whole training run with a moved schedule.
    public let objective: (TrainingSchedule) -> Double
    /// The training inputs and the objective of a run on moved inputs, when they are checked.
    public let inputs: (values: [Double], objective: ([Double]) -> Double)?

    public init(
        schedule: TrainingSchedule, hypergradient: TrainingHypergradient, blocks: [ParameterBlock],
        tolerance: Double, objective: @escaping (TrainingSchedule) -> Double,
        inputs: (values: [Double], objective: ([Double]) -> Double)? = nil
    ) {
        self.schedule = schedule
        self.hypergradient = hypergradient
        self.blocks = blocks
        self.tolerance = tolerance
        self.objective = objective
        self.inputs = inputs
    }

    /// Every group: the schedules, the L2 per weight (and per block), the init scales and, when
    /// given, the training inputs.
    public func expectEveryGroup(
        perBlockL2: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        expectSchedules(sourceLocation: sourceLocation)
        try expectPenaltiesScalesAndInputs(perBlockL2: perBlockL2, sourceLocation: sourceLocation)
    }

    /// α and γ per iteration and block.
    public func expectSchedules(sourceLocation: SourceLocation = #_sourceLocation) {
        let count = schedule.iterations * blocks.count
        for (label, path, analytic, seed, step) in [
            ("α", \TrainingSchedule.learningRates, hypergradient.learningRates, UInt64(1), 1e-5),
            ("γ", \TrainingSchedule.momenta, hypergradient.momenta, 2, 1e-4),
        ] {
            let r = DirectionalCheck.direction(count, seed: seed)
            DirectionalCheck.expect(
                label, analytic: analytic.flatMap { $0 }, direction: r, step: step, tolerance: tolerance,
                sourceLocation: sourceLocation
            ) { h in
                objective(DirectionalCheck.moved(schedule, path, by: r, h))
            }
        }
    }

    /// L2 per weight (and per block), the init scales and, when given, the training inputs.
    public func expectPenaltiesScalesAndInputs(
        perBlockL2: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var perWeight = [Double](repeating: 0, count: schedule.l2.count)
        var perBlock = perWeight
        let draws = DirectionalCheck.direction(perWeight.count, seed: 3)
        for (k, block) in blocks.enumerated() where block.kind == .weight {
            for i in block.range {
                perWeight[i] = draws[i]
                perBlock[i] = Double(k + 1)
            }
        }
        for (label, direction) in [("λ per weight", perWeight)] + (perBlockL2 ? [("λ per block", perBlock)] : []) {
            expect(label, hypergradient.l2, direction, step: 1e-4, sourceLocation) { h in
                var moved = schedule
                moved.l2 = zip(schedule.l2, direction).map { $0 + h * $1 }
                return objective(moved)
            }
        }
        let s = DirectionalCheck.direction(blocks.count, seed: 4)
        expect("s", hypergradient.initScales, s, step: 1e-5, sourceLocation) { h in
            var moved = schedule
            moved.initScales = zip(schedule.initScales, s).map { $0 + h * $1 }
            return objective(moved)
        }
        guard let inputs else { return }
        let analytic = try #require(hypergradient.trainingInputs, sourceLocation: sourceLocation)
        let x = DirectionalCheck.direction(analytic.count, seed: 5)
        expect("X", analytic, x, step: 1e-5, sourceLocation) { h in
            inputs.objective(zip(inputs.values, x).map { $0 + h * $1 })
        }
    }

    private func expect(
        _ label: String, _ analytic: [Double], _ direction: [Double], step: Double, _ location: SourceLocation,
        _ f: (Double) -> Double
    ) {
        DirectionalCheck.expect(
            label, analytic: analytic, direction: direction, step: step, tolerance: tolerance, sourceLocation: location,
            f)
    }
}
