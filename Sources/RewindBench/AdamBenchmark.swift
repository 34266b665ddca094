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
        /// Process CPU seconds (user + system), medians: robust to other load on a shared machine.
        var momentumCPUSeconds: Double
        var adamCPUSeconds: Double
        var cpuRatio: Double { adamCPUSeconds / momentumCPUSeconds }
        var bitsPerParameterStep: Double
        var theoreticalBitsPerParameterStep: Double
        var ratio: Double { adamSeconds / momentumSeconds }
    }

    static let settings = "alpha 0.01, beta1 0.9, beta2 0.999, epsilon 1e-8, L2 1e-4, init scale 0.1"

    let core: CoreBenchmark
    /// Adam's per-parameter work through the fused C kernels (the default) or the Swift loops
    /// that specify them (`--swift-loops`): the same bits, for before-and-after timings.
    var usesKernels = true

    func schedule(iterations: Int, beta1: Double = 0.9, beta2: Double = 0.999) -> AdamSchedule {
        let blocks = core.architecture.blocks
        let row = { (value: Double) in Array(repeating: Array(repeating: value, count: blocks.count), count: iterations)
        }
        let momentum = core.schedule(iterations: iterations)
        return AdamSchedule(
            iterations: iterations, learningRates: row(0.01), beta1: row(beta1), beta2: row(beta2), epsilon: 1e-8,
            l2: momentum.l2, initScales: momentum.initScales)
    }

    /// The buffers' measured rate against the theory for one (β1, β2) setting.
    struct BitsMeasurement {
        var iterations: Int
        var beta1: Double
        var beta2: Double
        /// Peak bits of both buffers per parameter per step.
        var measured: Double
        /// log2(1/β1) + log2(1/β2) for the applied n/2^32.
        var theory: Double
        /// The constant: each buffer starts with one 32-bit digit per parameter, 64/T per step.
        var constant: Double { 64 / Double(iterations) }
    }

    /// The β settings of the bits table.
    static let bitsSettings: [(Double, Double)] = [
        (0.9, 0.999), (0.5, 0.9), (0.95, 0.99), (0.99, 0.9999), (0.999, 0.999),
    ]

    func bits(iterations: Int, beta1: Double, beta2: Double) throws -> BitsMeasurement {
        let trainer = ReversibleAdamTrainer(problem: core.trainer.problem, threads: core.threads)
        let run = try trainer.hypergradient(
            schedule: schedule(iterations: iterations, beta1: beta1, beta2: beta2), noise: core.noise)
        let scale = Double(core.architecture.parameterCount * iterations)
        return BitsMeasurement(
            iterations: iterations, beta1: beta1, beta2: beta2, measured: Double(run.bufferPeakBits) / scale,
            theory: run.theoreticalBits / scale)
    }

    static func bitsTable(_ measurements: [BitsMeasurement]) -> String {
        var lines = [
            "",
            "",
            "Adam's information buffers: peak bits per parameter per step against",
            "log2(1/beta1) + log2(1/beta2) (beta as applied, n/2^32) and the constant 64/T (one 32-bit digit",
            "per parameter in each buffer); alpha 0.01, epsilon 1e-8.",
            "",
            "|     T | beta1  | beta2  | measured | theory | theory + 64/T | measured − (theory + 64/T) |",
            "|------:|-------:|-------:|---------:|-------:|--------------:|---------------------------:|",
        ]
        for m in measurements {
            lines.append(
                String(
                    format: "| %5d | %6g | %6g | %8.4f | %6.4f | %13.4f | %26.4f |", m.iterations, m.beta1, m.beta2,
                    m.measured, m.theory, m.theory + m.constant, m.measured - m.theory - m.constant))
        }
        return lines.joined(separator: "\n")
    }

    static func bitsJSON(_ measurements: [BitsMeasurement]) -> JSONValue {
        .array(
            measurements.map { m in
                [
                    "iterations": .number(Double(m.iterations)), "beta1": .number(m.beta1), "beta2": .number(m.beta2),
                    "bits_per_parameter_step": .number(m.measured),
                    "theoretical_bits_per_parameter_step": .number(m.theory),
                ]
            })
    }

    /// Median timings over `repeats` alternating runs of both hypergradients.
    func measure(iterations: Int, repeats: Int) throws -> Measurement {
        let momentum = core.schedule(iterations: iterations)
        let adam = schedule(iterations: iterations)
        var trainer = ReversibleAdamTrainer(problem: core.trainer.problem, threads: core.threads)
        trainer.usesKernels = usesKernels
        let clock = ContinuousClock()
        var sgdTimes: [Double] = [], adamTimes: [Double] = [], sgdCPU: [Double] = [], adamCPU: [Double] = []
        var last: AdamRun?
        for _ in 0..<repeats {
            let start = clock.now, cpuStart = processCPUSeconds()
            _ = try core.trainer.hypergradient(schedule: momentum, noise: core.noise)
            let middle = clock.now, cpuMiddle = processCPUSeconds()
            last = try trainer.hypergradient(schedule: adam, noise: core.noise)
            adamTimes.append((clock.now - middle).seconds)
            sgdTimes.append((middle - start).seconds)
            adamCPU.append(processCPUSeconds() - cpuMiddle)
            sgdCPU.append(cpuMiddle - cpuStart)
        }
        let scale = Double(core.architecture.parameterCount * iterations)
        return Measurement(
            iterations: iterations, momentumSeconds: sgdTimes.median, adamSeconds: adamTimes.median,
            momentumCPUSeconds: sgdCPU.median, adamCPUSeconds: adamCPU.median,
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
                o["momentum_cpu_seconds"] = .number(m.momentumCPUSeconds)
                o["adam_cpu_seconds"] = .number(m.adamCPUSeconds)
                o["cpu_ratio"] = .number(m.cpuRatio)
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
            "|       T | momentum (s) | Adam (s) | Adam/momentum | CPU s, momentum | CPU s, Adam | CPU Adam/momentum | bits/param/step | theory |",
            "|--------:|-------------:|---------:|--------------:|----------------:|------------:|------------------:|----------------:|-------:|",
        ]
        for m in measurements {
            lines.append(
                String(
                    format: "| %7d | %12.4f | %8.4f | %13.2f | %15.4f | %11.4f | %17.2f | %15.4f | %6.4f |",
                    m.iterations, m.momentumSeconds, m.adamSeconds, m.ratio, m.momentumCPUSeconds, m.adamCPUSeconds,
                    m.cpuRatio, m.bitsPerParameterStep, m.theoreticalBitsPerParameterStep))
        }
        return lines.joined(separator: "\n")
    }
}
