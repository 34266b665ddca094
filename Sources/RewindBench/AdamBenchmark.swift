import Foundation
import JSON
import Learning

/// Adam on the canonical problem: its exact hypergradient against the SGD-momentum one at the same
/// T, and the bits its two buffers keep against log2(1/β1) + log2(1/β2).
struct AdamBenchmark {
    struct Measurement {
        var iterations: Int
        var momentumSeconds: Double
        var adamSeconds: Double
        var bitsPerParameterStep: Double
        var theoreticalBitsPerParameterStep: Double
        var ratio: Double { adamSeconds / momentumSeconds }
    }

    static let settings = "alpha 0.01, beta1 0.9, beta2 0.999, epsilon 1e-8, L2 1e-4, init scale 0.1"

    let core: CoreBenchmark

    func schedule(iterations: Int) -> AdamSchedule {
        let blocks = core.architecture.blocks
        let row = { (value: Double) in Array(repeating: Array(repeating: value, count: blocks.count), count: iterations)
        }
        let momentum = core.schedule(iterations: iterations)
        return AdamSchedule(
            iterations: iterations, learningRates: row(0.01), beta1: row(0.9), beta2: row(0.999), epsilon: 1e-8,
            l2: momentum.l2, initScales: momentum.initScales)
    }

    /// Median timings over `repeats` alternating runs of both hypergradients.
    func measure(iterations: Int, repeats: Int) throws -> Measurement {
        let momentum = core.schedule(iterations: iterations)
        let adam = schedule(iterations: iterations)
        let trainer = ReversibleAdamTrainer(problem: core.trainer.problem, threads: core.threads)
        let clock = ContinuousClock()
        var sgdTimes: [Double] = [], adamTimes: [Double] = []
        var last: AdamRun?
        for _ in 0..<repeats {
            let start = clock.now
            _ = try core.trainer.hypergradient(schedule: momentum, noise: core.noise)
            let middle = clock.now
            last = try trainer.hypergradient(schedule: adam, noise: core.noise)
            adamTimes.append((clock.now - middle).seconds)
            sgdTimes.append((middle - start).seconds)
        }
        let scale = Double(core.architecture.parameterCount * iterations)
        return Measurement(
            iterations: iterations, momentumSeconds: sgdTimes.median, adamSeconds: adamTimes.median,
            bitsPerParameterStep: Double(last!.bufferPeakBits) / scale,
            theoreticalBitsPerParameterStep: last!.theoreticalBits / scale)
    }

    static func json(_ measurements: [Measurement]) -> JSONValue {
        .array(
            measurements.map { m in
                var o = JSONObject()
                o["iterations"] = .number(Double(m.iterations))
                o["momentum_hypergradient_seconds"] = .number(m.momentumSeconds)
                o["adam_hypergradient_seconds"] = .number(m.adamSeconds)
                o["ratio"] = .number(m.ratio)
                o["bits_per_parameter_step"] = .number(m.bitsPerParameterStep)
                o["theoretical_bits_per_parameter_step"] = .number(m.theoreticalBitsPerParameterStep)
                return .object(o)
            })
    }

    static func table(_ measurements: [Measurement]) -> String {
        var lines = [
            "",
            "",
            "Adam (\(settings)), exact hypergradient against SGD momentum's; medians;",
            "theory = log2(1/beta1) + log2(1/beta2) bits per parameter per step.",
            "",
            "|       T | momentum (s) | Adam (s) | Adam/momentum | bits/param/step | theory |",
            "|--------:|-------------:|---------:|--------------:|----------------:|-------:|",
        ]
        for m in measurements {
            lines.append(
                String(
                    format: "| %7d | %12.4f | %8.4f | %13.2f | %15.4f | %6.4f |", m.iterations, m.momentumSeconds,
                    m.adamSeconds, m.ratio, m.bitsPerParameterStep, m.theoreticalBitsPerParameterStep))
        }
        return lines.joined(separator: "\n")
    }
}
