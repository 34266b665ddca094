import ArgumentParser
import Foundation
import Tuning

/// `rewind experiment-sharing`: the paper's weight-sharing experiment (Figures 8–9) on the built-in
/// Omniglot tasks — learn the transforms T_l that mix the tasks' weights by gradient descent on their
/// exact hypergradient — and write the learned T_l, the meta-objective per meta-iteration and the
/// test errors as JSON.
public struct SharingExperimentCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "experiment-sharing",
        abstract: "Learn how 10 Omniglot networks share weights (the paper's Figures 8-9); writes JSON.")

    @Option(help: "Hidden layer widths, comma-separated.")
    var hidden: String = "400,200"
    @Option(help: "Alphabets (1...5); each is also a task rotated by 90°.")
    var alphabets: Int = 5
    @Option(help: "Inner training iterations T (full batch).")
    var iterations: Int = 50
    @Option(help: "Meta-iterations of gradient descent on the transforms.")
    var metaIterations: Int = 20
    @Option(help: "Meta step size.")
    var metaStep: Double = 0.2
    @Option(help: "Seed of the splits and the initial weights.")
    var seed: UInt64 = 0
    @Option(help: "A weight-sharing spec (examples/omniglot-sharing.json); its settings replace the options above.")
    var spec: String?
    @Option(help: "Where to write the result JSON.")
    var output: String = "omniglot-sharing-result.json"

    public func validate() throws {
        let widths = hidden.split(separator: ",").compactMap { Int($0) }
        guard !widths.isEmpty, widths.count == hidden.split(separator: ",").count,
            widths.allSatisfy({ (1...4096).contains($0) })
        else { throw ValidationError("--hidden must be widths 1...4096, comma-separated") }
        guard (1...5).contains(alphabets) else { throw ValidationError("--alphabets must be 1...5") }
        guard (1...1000).contains(iterations) else { throw ValidationError("--iterations must be 1...1000") }
        guard (1...1000).contains(metaIterations) else { throw ValidationError("--meta-iterations must be 1...1000") }
    }

    public func run() throws {
        var settings = WeightSharingSettings()
        settings.hidden = hidden.split(separator: ",").compactMap { Int($0) }
        settings.alphabets = alphabets
        settings.iterations = iterations
        settings.metaIterations = metaIterations
        settings.metaStep = metaStep
        settings.seed = seed
        if let spec { settings = try Self.settings(spec: spec) }
        let hidden = settings.hidden.map(String.init).joined(separator: ",")
        let iterations = settings.iterations, metaIterations = settings.metaIterations
        let started = Date()
        Console.output(
            "weight sharing: \(settings.tasks) tasks of 784-\(hidden.replacingOccurrences(of: ",", with: "-"))-"
                + "\(OmniglotTasks.classes), T = \(iterations), \(metaIterations) meta-iterations")
        let result = try WeightSharingRun(settings: settings).run { m, objective in
            Console.output(
                String(
                    format: "meta-iteration %d: f = %.6f (%.0f s)", m + 1, objective, Date().timeIntervalSince(started))
            )
            return true
        }
        let seconds = Date().timeIntervalSince(started)
        let document: [String: Any] = [
            "settings": [
                "alphabets": settings.alphabets, "rotations": settings.rotations, "hidden": settings.hidden,
                "iterations": settings.iterations, "learning_rate": settings.learningRate,
                "momentum": settings.momentum, "init_scale": settings.initScale, "l2": settings.l2,
                "meta_iterations": settings.metaIterations, "meta_step": settings.metaStep,
                "validation_drawings": settings.validationDrawings, "seed": settings.seed,
            ],
            "tasks": result.tasks,
            "transforms": result.transforms.map { t in
                (0..<settings.tasks).map { a in Array(t[(a * settings.tasks)..<((a + 1) * settings.tasks)]) }
            },
            "objectives": result.objectives, "training_losses": result.trainingLosses,
            "initial_test_errors": result.initialTestErrors, "learned_test_errors": result.learnedTestErrors,
            "seconds": seconds.rounded(),
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: output))
        Console.output(String(format: "done in %.0f s; wrote %@", seconds, output))
    }

    /// The settings of a weight-sharing spec file: `kind`, `dataset`, `model` (hidden, sharing),
    /// `training` and `meta`; every field optional but `kind`, unknown ones rejected by name.
    static func settings(spec path: String) throws -> WeightSharingSettings {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("\(path): not a JSON object")
        }
        func object(_ value: Any?, _ field: String, allowed: Set<String>) throws -> [String: Any] {
            guard let value else { return [:] }
            guard let object = value as? [String: Any] else { throw ValidationError("\(field): must be an object") }
            if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw ValidationError("\(field)/\(unknown): unknown field")
            }
            return object
        }
        func number(_ object: [String: Any], _ key: String, _ field: String) throws -> Double? {
            guard let value = object[key] else { return nil }
            // JSONSerialization gives NSNumber for numbers and Bool for true and false.
            let number = type(of: value) == Bool.self ? nil : (value as? NSNumber)?.doubleValue
            guard let number, number.isFinite else { throw ValidationError("\(field)/\(key): must be a number") }
            return number
        }
        let top = try object(root, "", allowed: ["kind", "name", "dataset", "model", "training", "meta"])
        guard top["kind"] as? String == "weight_sharing" else {
            throw ValidationError("/kind: must be \"weight_sharing\"")
        }
        let dataset = try object(top["dataset"], "/dataset", allowed: ["name"])
        guard (dataset["name"] as? String ?? "omniglot") == "omniglot" else {
            throw ValidationError("/dataset/name: weight sharing runs on the built-in \"omniglot\" tasks only")
        }
        let model = try object(top["model"], "/model", allowed: ["hidden", "sharing"])
        let sharing = try object(model["sharing"], "/model/sharing", allowed: ["tasks", "learn"])
        let training = try object(
            top["training"], "/training", allowed: ["iterations", "learning_rate", "momentum", "init_scale", "l2"])
        let meta = try object(
            top["meta"], "/meta", allowed: ["iterations", "step_size", "validation_drawings", "seed"])
        var settings = WeightSharingSettings()
        if let hidden = model["hidden"] {
            guard let widths = hidden as? [Int], !widths.isEmpty, widths.allSatisfy({ (1...4096).contains($0) }) else {
                throw ValidationError("/model/hidden: must be a list of widths 1...4096")
            }
            settings.hidden = widths
        }
        switch sharing["tasks"] as? String ?? "alphabets+rotations" {
        case "alphabets+rotations": settings.rotations = true
        case "alphabets": settings.rotations = false
        default: throw ValidationError("/model/sharing/tasks: must be \"alphabets+rotations\" or \"alphabets\"")
        }
        guard (sharing["learn"] as? String ?? "transforms") == "transforms" else {
            throw ValidationError("/model/sharing/learn: must be \"transforms\"")
        }
        if let t = try number(training, "iterations", "/training") { settings.iterations = Int(t) }
        if let a = try number(training, "learning_rate", "/training") { settings.learningRate = a }
        if let g = try number(training, "momentum", "/training") { settings.momentum = g }
        if let s = try number(training, "init_scale", "/training") { settings.initScale = s }
        if let l = try number(training, "l2", "/training") { settings.l2 = l }
        if let m = try number(meta, "iterations", "/meta") { settings.metaIterations = Int(m) }
        if let step = try number(meta, "step_size", "/meta") { settings.metaStep = step }
        if let v = try number(meta, "validation_drawings", "/meta") { settings.validationDrawings = Int(v) }
        if let seed = try number(meta, "seed", "/meta") { settings.seed = UInt64(max(0, seed)) }
        guard (1...1000).contains(settings.iterations), (1...1000).contains(settings.metaIterations),
            settings.momentum > 0 && settings.momentum < 1, settings.learningRate > 0, settings.initScale > 0,
            settings.l2 >= 0, (1...11).contains(settings.validationDrawings)
        else {
            throw ValidationError(
                "\(path): iterations and meta iterations 1...1000, momentum in (0, 1), learning_rate and "
                    + "init_scale > 0, l2 ≥ 0, validation_drawings 1...11")
        }
        return settings
    }
}
