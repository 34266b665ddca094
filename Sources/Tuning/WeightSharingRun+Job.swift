import JSON
import Learning

/// A weight-sharing job's own numbers in a history item: per task, in the order of the rows and
/// columns of every T_l.
public struct SharingOutcome: Sendable, Equatable {
    public var tasks: [String]
    /// f = Σ over tasks of the mean validation cross-entropy: what the meta-step descends.
    public var objective: Double
    public var validationLosses: [Double]
    public var validationErrors: [Double]
    /// On the final item: the test error rate of every task's network trained on all 12 drawings
    /// per character with the learned and with the initial T_l; nil before.
    public var testErrors: [Double]?
    public var initialTestErrors: [Double]?

    public func json() -> JSONValue {
        var object: JSONObject = ["tasks": .array(tasks.map { .string($0) }), "objective": .number(objective)]
        object["validation_losses"] = JSONValue(validationLosses)
        object["validation_errors"] = JSONValue(validationErrors)
        object["test_errors"] = testErrors.map { JSONValue($0) } ?? .null
        object["initial_test_errors"] = initialTestErrors.map { JSONValue($0) } ?? .null
        return .object(object)
    }
}

/// The weight-sharing experiment as a job (`"kind": "weight_sharing"`): item m < `meta.iterations`
/// is meta-iteration m (train on a fresh split, reverse exactly, T_l −= step·∂f/∂T_l); the final
/// item trains with the learned T_l and evaluates them, on that item's split and on the test
/// drawings. The checkpoint's `unconstrained` holds the T_l, layer by layer, task-major: plain
/// gradient descent has no other state, so a resumed job continues bit for bit.
extension WeightSharingRun: JobRun {
    /// The name a spec gives the built-in Omniglot tasks by.
    public static let datasetName = "omniglot"

    public var name: String { settings.name }
    public var canonicalSpec: String { settings.json().serializedString() }
    public var totalItems: Int { settings.metaIterations + 1 }
    public var dataWarnings: [JobWarning] { [] }

    public func initialCheckpoint() -> TuningCheckpoint {
        TuningCheckpoint(
            nextItem: 0, unconstrained: settings.initialTransforms.flatMap { $0 },
            optimizer: MetaOptimizer(kind: .sgd, stepSize: settings.metaStep, count: 0), best: nil)
    }

    public func isComplete(_ checkpoint: TuningCheckpoint) -> Bool { checkpoint.nextItem >= totalItems }

    public func fits(_ checkpoint: TuningCheckpoint) -> Bool {
        checkpoint.nextItem <= totalItems
            && checkpoint.unconstrained.count == settings.layers * settings.tasks * settings.tasks
    }

    public func outcomeWarnings(
        latest: HistoryItem, best: BestSoFar?, first: (validationLoss: Double, testLoss: Double?)?
    ) -> [JobWarning] { [] }

    /// The T_l of a checkpoint's flat vector.
    func transforms(_ flat: [Double]) -> [[Double]] {
        let size = settings.tasks * settings.tasks
        return (0..<settings.layers).map { Array(flat[($0 * size)..<(($0 + 1) * size)]) }
    }

    public func step(
        _ checkpoint: TuningCheckpoint, progress: @escaping (Double) -> Bool = { _ in true }
    ) throws(TuningError) -> (item: HistoryItem, next: TuningCheckpoint) {
        let index = checkpoint.nextItem
        precondition(!isComplete(checkpoint), "the run is already complete")
        let current = transforms(checkpoint.unconstrained)
        // Inner steps of this item: forward and reverse, or the final item's three trainings.
        let isFinal = index == settings.metaIterations
        let steps = Double((isFinal ? 3 : 2) * settings.iterations)
        var done = 0.0
        let observe: (TrainingPhase) -> Bool = { _ in
            done += 1
            return progress(min(1, (Double(index) + done / steps) / Double(totalItems)))
        }
        var next = checkpoint
        next.nextItem = index + 1
        var item: HistoryItem
        do {
            if isFinal {
                item = try finalItem(index, transforms: current, observe: observe)
            } else {
                let (problem, run) = try metaGradient(transforms: current, item: index, observe: observe)
                item = makeItem(
                    index, transforms: current, gradient: run.transforms, problem: problem,
                    parameters: run.finalParameters, curve: run.trainingLosses, objective: run.objective)
                next.unconstrained = descend(current, gradient: run.transforms).flatMap { $0 }
            }
        } catch {
            throw TuningError(error, metaIteration: index)
        }
        if next.best.map({ item.validationLoss < $0.rankingValue }) ?? true {
            next.best = BestSoFar(
                metaIteration: index, validationLoss: item.validationLoss, validationError: item.validationError,
                objective: item.validationLoss, trainingLoss: item.trainingLoss, testLoss: item.testLoss,
                testError: item.testError)
        }
        return (item, next)
    }

    /// The final item: the learned T_l trained on that item's split (its losses, like every item's)
    /// and on all 12 drawings per character, then tested; the initial T_l tested the same way.
    func finalItem(
        _ index: Int, transforms: [[Double]], observe: (TrainingPhase) -> Bool
    ) throws(TrainingError) -> HistoryItem {
        let problem = problem(transforms: transforms, seed: seed(item: index))
        let (schedule, noise) = schedule(for: problem.model, seed: seed(item: index))
        let trained = try SharedWeightTrainer(problem: problem).train(
            schedule: schedule, noise: noise, observe: observe)
        let objective = problem.model.evaluate(parameters: trained.finalParameters, rows: problem.validation)
            .reduce(0) { $0 + $1.loss }
        let learned = try testEvaluation(transforms: transforms, observe: observe)
        let initial = try testEvaluation(transforms: settings.initialTransforms, observe: observe)
        var item = makeItem(
            index, transforms: transforms, gradient: nil, problem: problem, parameters: trained.finalParameters,
            curve: trained.trainingLosses, objective: objective)
        item.testLoss = mean(learned.map(\.loss))
        item.testError = mean(learned.map(\.error))
        item.sharing?.testErrors = learned.map(\.error)
        item.sharing?.initialTestErrors = initial.map(\.error)
        return item
    }

    /// The history item of `transforms` from the parameters they trained to on `problem`'s split:
    /// the losses and errors are means over the tasks.
    func makeItem(
        _ index: Int, transforms: [[Double]], gradient: [[Double]]?, problem: SharedWeightProblem,
        parameters: [Double], curve: [Double], objective: Double
    ) -> HistoryItem {
        let training = problem.model.evaluate(parameters: parameters, rows: problem.training)
        let validation = problem.model.evaluate(parameters: parameters, rows: problem.validation)
        let errors = validation.enumerated().map { Double($1.errors) / Double(problem.validation[$0].rows) }
        let n = settings.tasks
        func matrices(_ flat: [[Double]]) -> [[[Double]]] {
            flat.map { t in (0..<n).map { a in Array(t[(a * n)..<((a + 1) * n)]) } }
        }
        var values = HyperparameterValues(
            learningRate: [[settings.learningRate]], momentum: [[settings.momentum]], l2: [settings.l2],
            initScale: [settings.initScale])
        values.transforms = matrices(transforms)
        var item = HistoryItem(
            metaIteration: index, trainingLoss: mean(training.map(\.loss)),
            validationLoss: mean(validation.map(\.loss)), validationError: mean(errors), hyperparameters: values,
            hypergradient: gradient.map {
                var values = HyperparameterValues(learningRate: [], momentum: [], l2: [], initScale: [])
                values.transforms = matrices($0)
                return values
            },
            trainingCurve: TrainingCurve(losses: curve))
        item.sharing = SharingOutcome(
            tasks: taskNames, objective: objective, validationLosses: validation.map(\.loss),
            validationErrors: errors)
        return item
    }

    private func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
}
