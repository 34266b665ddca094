import ArgumentParser
import Dashboard
import Foundation
import JSON
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
    @Option(help: "Instead of running: draw the learned T_l of this result JSON as heat maps (see --images).")
    var render: String?
    @Option(help: "With --render: the SVGs' path prefix (PREFIX.svg and PREFIX-off-diagonal.svg).")
    var images: String = "omniglot-sharing"
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
        if let render { return try Self.render(result: render, images: images) }
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

    /// Writes the heat maps of a result's T_l and prints, per layer, the mean diagonal entry, the
    /// mean entry pairing an alphabet with its rotated copy (both directions) and the mean of every
    /// other off-diagonal entry.
    static func render(result path: String, images prefix: String) throws {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        guard let root = document as? [String: Any], let tasks = root["tasks"] as? [String],
            let matrices = root["transforms"] as? [[[Double]]]
        else { throw ValidationError("\(path): not a weight-sharing result (tasks, transforms)") }
        let n = tasks.count, transforms = matrices.map { $0.flatMap { $0 } }
        for (suffix, offDiagonal) in [("", false), ("-off-diagonal", true)] {
            let svg = JobPlots.sharingTransforms(tasks: tasks, transforms: transforms, offDiagonal: offDiagonal)
            try svg.write(toFile: prefix + suffix + ".svg", atomically: true, encoding: .utf8)
        }
        let alphabets = tasks.filter { $0.hasSuffix(" rotated") }.count
        Console.output("| layer | own z (diagonal) | alphabet ↔ its rotated copy | other pairs |")
        Console.output("|---|---:|---:|---:|")
        for (l, t) in transforms.enumerated() {
            var diagonal = 0.0, paired = 0.0, pairedCount = 0, other = 0.0, otherCount = 0
            for a in 0..<n {
                for j in 0..<n {
                    let value = t[a * n + j]
                    if a == j {
                        diagonal += value / Double(n)
                    } else if alphabets > 0 && abs(a - j) == alphabets {
                        paired += value
                        pairedCount += 1
                    } else {
                        other += value
                        otherCount += 1
                    }
                }
            }
            Console.output(
                String(
                    format: "| %d | %.4f | %.4f | %.4f |", l + 1, diagonal, paired / Double(max(pairedCount, 1)),
                    other / Double(max(otherCount, 1))))
        }
    }

    /// The settings of a weight-sharing spec file (`WeightSharingSettings.parse`).
    static func settings(spec path: String) throws -> WeightSharingSettings {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try WeightSharingSettings.parse(try JSONValue.parse(Array(data)))
        } catch let errors as SpecErrors {
            throw ValidationError("\(path): \(errors)")
        }
    }
}
