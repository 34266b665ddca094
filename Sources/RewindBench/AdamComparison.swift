import Foundation
import JSON
import Learning
import Tuning

/// One Adam problem exactly as Rewind runs it, with Rewind's hypergradient for every group, for
/// bench/jax_adam_reference.py to recompute by reverse mode through an unrolled float64 Adam loop.
///
/// The canonical problem of `rewind bench` (digits 1000/797, MLP 64-50-50-10 tanh, batch 100) with
/// schedules that vary per iteration and block, so a mismatch in any one step shows: everything the
/// other side needs is written out rather than re-derived (batch rows, w_1 after the fixed-point
/// conversion, β1 and β2 as the dynamics apply them, n/2^32, and the applied decay factors ρ).
struct AdamComparison {
    struct Measurement {
        var run: AdamRun
        var seconds: [Double]
        /// VmHWM over the timed runs (reset just before them), and VmRSS just before them.
        var peakBytes: Int
        var baselineBytes: Int
    }

    let core: CoreBenchmark
    let schedule: AdamSchedule
    /// A name for the settings, part of the file name.
    let label: String

    /// α = 0.01 (1 + 0.5 sin(t + 1.3k)), β1 = 0.9 + 0.05 cos(0.5t + k),
    /// β2 = `beta2` + (1 − `beta2`)/2 · cos(0.3t + k), λ_i = 1e-4 (1 + 0.5 sin i) on weights,
    /// s = 0.1, decoupled weight decay 0.01 (1 + 0.3k).
    init(core: CoreBenchmark, iterations: Int, epsilon: Double, beta2: Double, label: String) {
        self.core = core
        self.label = label
        let blocks = core.architecture.blocks
        func table(_ value: (Double, Double) -> Double) -> [[Double]] {
            (0..<iterations).map { t in blocks.indices.map { k in value(Double(t), Double(k)) } }
        }
        schedule = AdamSchedule(
            iterations: iterations,
            learningRates: table { t, k in 0.01 * (1 + 0.5 * sin(t + 1.3 * k)) },
            beta1: table { t, k in 0.9 + 0.05 * cos(0.5 * t + k) },
            beta2: table { t, k in beta2 + (1 - beta2) / 2 * cos(0.3 * t + k) },
            epsilon: epsilon,
            l2: blocks.flatMap { block in
                block.range.map { i in block.kind == .weight ? 1e-4 * (1 + 0.5 * sin(Double(i))) : 0 }
            },
            initScales: Array(repeating: 0.1, count: blocks.count),
            weightDecay: blocks.indices.map { k in 0.01 * (1 + 0.3 * Double(k)) })
    }

    var fileName: String { "adam-\(label)-\(schedule.iterations).json" }

    func measure(repeats: Int) throws -> Measurement {
        let trainer = ReversibleAdamTrainer(problem: core.trainer.problem, threads: core.threads)
        let clock = ContinuousClock()
        PeakMemory.reset()
        let baseline = PeakMemory.resident()
        var seconds: [Double] = []
        var last: AdamRun?
        for _ in 0..<repeats {
            let start = clock.now
            last = try trainer.hypergradient(schedule: schedule, noise: core.noise)
            seconds.append((clock.now - start).seconds)
        }
        return Measurement(run: last!, seconds: seconds, peakBytes: PeakMemory.current(), baselineBytes: baseline)
    }

    func document(_ measurement: Measurement) -> JSONValue {
        let architecture = core.architecture
        let problem = core.trainer.problem
        var top = JSONObject()
        top["format"] = "rewind-adam-export/1"
        top["problem"] = .string(label)
        top["dataset"] = .object(ExportSections.digits(problem))
        top["architecture"] = ExportSections.architecture(architecture)
        top["blocks"] = ExportSections.blocks(architecture)
        top["iterations"] = .number(Double(schedule.iterations))
        top["batch_size"] = .number(Double(problem.batches.batchSize))
        top["batches"] = ExportSections.batches(problem.batches, iterations: schedule.iterations)
        let applied = { (table: [[Double]]) in table.map { $0.map { RationalFactor(approximating: $0)!.value } } }
        let rho = schedule.learningRates.map { row in
            row.indices.map { k in RationalFactor(approximating: 1 - row[k] * schedule.weightDecay[k])!.value }
        }
        top["schedule"] = [
            "learning_rates": Self.matrix(schedule.learningRates),
            "beta1_requested": Self.matrix(schedule.beta1),
            "beta1_applied": Self.matrix(applied(schedule.beta1)),
            "beta2_requested": Self.matrix(schedule.beta2),
            "beta2_applied": Self.matrix(applied(schedule.beta2)),
            "epsilon": .number(schedule.epsilon),
            "l2": Self.numbers(schedule.l2),
            "init_scales": Self.numbers(schedule.initScales),
            "weight_decay": Self.numbers(schedule.weightDecay),
            "decay_applied": Self.matrix(rho),
        ]
        top["noise"] = Self.numbers(core.noise)
        top["initial_weights"] = Self.numbers(
            architecture.blocks.enumerated().flatMap { k, block in
                block.range.map { i in
                    FixedPoint.value(FixedPoint.raw(schedule.initScales[k] * core.noise[i])!)
                }
            })
        let run = measurement.run
        let gradient = run.hypergradient
        var rewind = JSONObject()
        rewind["objective"] = .number(run.objective)
        rewind["final_weights"] = Self.numbers(run.finalWeights)
        rewind["hypergradient"] = [
            "learning_rates": Self.matrix(gradient.learningRates),
            "beta1": Self.matrix(gradient.beta1),
            "beta2": Self.matrix(gradient.beta2),
            "epsilon": .number(gradient.epsilon),
            "l2": Self.numbers(gradient.l2),
            "init_scales": Self.numbers(gradient.initScales),
            "weight_decay": Self.numbers(gradient.weightDecay),
            "initial_weights": Self.numbers(gradient.initialWeights),
        ]
        rewind["seconds"] = Self.numbers(measurement.seconds)
        rewind["peak_rss_bytes"] = .number(Double(measurement.peakBytes))
        rewind["baseline_rss_bytes"] = .number(Double(measurement.baselineBytes))
        rewind["buffer_peak_bits"] = .number(Double(run.bufferPeakBits))
        rewind["theoretical_bits"] = .number(run.theoreticalBits)
        rewind["threads"] = .number(Double(core.threads))
        rewind["numeric_fingerprint"] = .string(NumericFingerprint.current)
        top["rewind"] = .object(rewind)
        return .object(top)
    }

    private static func numbers(_ values: [Double]) -> JSONValue { ExportSections.numbers(values) }

    private static func matrix(_ rows: [[Double]]) -> JSONValue { ExportSections.matrix(rows) }
}
