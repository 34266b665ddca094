import API
import ArgumentParser
import Dashboard
import Foundation
import JSON
import LinearAlgebra
import Tuning

/// `rewind sweep SPEC.json --from A --to B --points N`: the meta-objective after one training run
/// and its exact derivative with respect to log α, over a grid of constant global learning rates
/// (the paper's Figure 10, "chaos").
///
/// Each point is meta-iteration 0 of the spec with the learning rate replaced by one constant,
/// global α, so the history item's hypergradient is exactly d f / d log α. The central differences
/// of the loss curve are printed beside it: where the two agree, the hypergradient describes the
/// medium-scale trend; where they part, the training dynamics are chaotic and it no longer does.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Sweep a constant learning rate; print the loss and its exact hypergradient as CSV.",
        discussion: """
            Every other field of the spec is used as given (meta.iterations is ignored: each point \
            trains once and reverses once). Points whose training diverges print empty values. \
            Exit status: 2 if the spec is invalid, 3 if it cannot be read.
            """)

    @Argument(help: "The job spec (docs/api.md), built-in data sets only.")
    var spec: String

    // Unconditional, so that a negative value such as `--from -3` is not read as a flag.
    @Option(parsing: .unconditional, help: "Natural log of the smallest learning rate.")
    var from: Double

    @Option(parsing: .unconditional, help: "Natural log of the largest learning rate.")
    var to: Double

    @Option(help: "Number of grid points, at least 3.")
    var points: Int = 60

    @Option(help: "Write PREFIX-loss.svg and PREFIX-hypergradient.svg.")
    var svg: String?

    @Flag(name: .long, help: "Do not print progress on stderr.")
    var quiet = false

    func validate() throws {
        guard points >= 3 else { throw ValidationError("--points must be at least 3") }
        guard from.isFinite, to.isFinite, from < to else { throw ValidationError("--from must be less than --to") }
    }

    func run() throws {
        BLAS.setThreadCount(1)
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: spec)))
        } catch {
            Console.error("rewind: cannot read \(spec): \(error.localizedDescription)")
            throw ExitCode(3)
        }
        let sweep: LearningRateSweep
        switch LearningRateSweep.prepare(specBytes: bytes) {
        case .success(let prepared): sweep = prepared
        case .failure(let problem):
            Console.output(problem.json().serializedString())
            throw ExitCode(2)
        }
        let grid = (0..<points).map { from + (to - from) * Double($0) / Double(points - 1) }
        let clock = ContinuousClock()
        let started = clock.now
        var results: [LearningRateSweep.Point] = []
        for (index, logAlpha) in grid.enumerated() {
            results.append(sweep.point(logAlpha: logAlpha))
            if !quiet { Console.error(String(format: "point %d/%d  log α %.4f", index + 1, points, logAlpha)) }
        }
        let differences = LearningRateSweep.centralDifferences(x: grid, y: results.map(\.loss))
        Console.output("log_alpha,alpha,\(sweep.objectiveName),dloss_dlog_alpha,finite_difference")
        for (point, difference) in zip(results, differences) {
            Console.output(
                [point.logAlpha, exp(point.logAlpha), point.loss, point.hypergradient, difference]
                    .map { $0.isFinite ? String(format: "%.10g", $0) : "" }.joined(separator: ","))
        }
        if !quiet { Console.error(String(format: "%d points in %.1f s", points, (clock.now - started).seconds)) }
        if let svg {
            let charts = LearningRateSweep.charts(results, differences: differences, objective: sweep.objectiveName)
            try charts.loss.write(toFile: svg + "-loss.svg", atomically: true, encoding: .utf8)
            try charts.hypergradient.write(toFile: svg + "-hypergradient.svg", atomically: true, encoding: .utf8)
        }
    }
}

/// The pure part of the sweep: one spec, evaluated at any constant global learning rate.
struct LearningRateSweep {
    /// One grid point; NaN loss and hypergradient when the run diverged.
    struct Point: Equatable {
        var logAlpha: Double
        var loss: Double
        var hypergradient: Double
    }

    let base: JobSpec
    let dataset: Dataset

    /// `training_loss` or `validation_loss`: the meta-objective the hypergradient differentiates.
    var objectiveName: String { base.meta.objective.rawValue }

    static func prepare(specBytes: [UInt8]) -> Result<LearningRateSweep, ProblemDetails> {
        JobRequest.prepare(specBytes: specBytes, datasets: BuiltinDatasetResolver()).map { run in
            // prepare succeeded, so the resolver knows the data set.
            LearningRateSweep(base: run.spec, dataset: BuiltinDatasetResolver().dataset(run.spec.dataset)!)
        }.mapError(ProblemDetails.init)
    }

    /// The spec at one learning rate: constant, global, learned (so that its hypergradient is
    /// computed), one meta-iteration.
    func spec(logAlpha: Double) -> JobSpec {
        var spec = base
        spec.hyperparameters.learningRate = JobSpec.ScheduleGroup(
            initial: .uniform(exp(logAlpha)), schedule: .constant, perBlock: false, learn: true)
        spec.meta.iterations = 1
        return spec
    }

    /// Trains and reverses once at α = e^logAlpha; NaN when training leaves the representable range
    /// or α is outside the spec's bounds.
    func point(logAlpha: Double) -> Point {
        let failed = Point(logAlpha: logAlpha, loss: .nan, hypergradient: .nan)
        guard let run = try? TuningRun(spec: spec(logAlpha: logAlpha), dataset: dataset),
            let item = try? run.step(run.initialCheckpoint()).item,
            let gradient = item.hypergradient?.learningRate.first?.first
        else { return failed }
        let loss = base.meta.objective == .trainingLoss ? item.trainingLoss : item.validationLoss
        return Point(logAlpha: logAlpha, loss: loss, hypergradient: gradient)
    }

    /// (y[i+1] − y[i−1]) / (x[i+1] − x[i−1]) inside, one-sided at the ends; NaN next to a NaN.
    static func centralDifferences(x: [Double], y: [Double]) -> [Double] {
        precondition(x.count == y.count && x.count >= 2, "need two or more points of equal length")
        return x.indices.map { i in
            let lower = max(0, i - 1), upper = min(x.count - 1, i + 1)
            return (y[upper] - y[lower]) / (x[upper] - x[lower])
        }
    }

    /// Below this magnitude the symmetric-log axis is close to linear; the slopes of a calm loss
    /// curve are a few hundredths, so they stay visible beside chaotic ones of 10^20.
    static let linearThreshold = 0.01

    /// sign(d)·log10(1 + |d|/threshold): linear near zero, logarithmic beyond, so a hypergradient
    /// that is 0.05 in the calm region and 10^20 in the chaotic one fits on one axis with its sign.
    static func symmetricLog(_ value: Double) -> Double {
        let magnitude = log10(1 + abs(value) / linearThreshold)
        return value < 0 ? -magnitude : magnitude
    }

    static func charts(
        _ points: [Point], differences: [Double], objective: String
    ) -> (loss: String, hypergradient: String) {
        let loss = SVGLineChart(
            title: "Final \(objective.replacingOccurrences(of: "_", with: " ")) against the learning rate",
            subtitle: "constant global α, one training run per point",
            xLabel: "log α (natural)", yLabel: "mean cross-entropy",
            series: [
                SVGLineChart.Series(
                    name: objective, points: points.map { .init(x: $0.logAlpha, y: $0.loss) }, colorIndex: 0)
            ],
            logarithmicY: true, showsMarkers: false)
        let slope = SVGLineChart(
            title: "d loss / d log α: exact hypergradient and finite difference",
            subtitle: "symmetric log scale; dashed: central differences of the loss curve",
            xLabel: "log α (natural)", yLabel: "sign(d)·log10(1 + |d|/\(linearThreshold))",
            series: [
                SVGLineChart.Series(
                    name: "hypergradient",
                    points: points.map { .init(x: $0.logAlpha, y: symmetricLog($0.hypergradient)) },
                    colorIndex: 3),
                SVGLineChart.Series(
                    name: "finite difference",
                    points: zip(points, differences).map { .init(x: $0.logAlpha, y: symmetricLog($1)) },
                    colorIndex: 0, dashed: true),
            ],
            showsMarkers: false)
        return (loss.render(), slope.render())
    }
}
