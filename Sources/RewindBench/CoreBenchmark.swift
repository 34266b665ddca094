import Foundation
import Learning
import Tuning

/// The canonical problem of the README's benchmarks: built-in digits split 1000/797, MLP
/// 64-50-50-10 tanh, batch 100, α = 0.5, γ = 0.9, L2 1e-4, init scale 0.1.
public struct CoreBenchmark {
    struct Measurement {
        var iterations: Int
        var trainingSeconds: Double
        var hypergradientSeconds: Double
        var bitsPerParameterStep: Double
        var theoreticalBitsPerParameterStep: Double
        var exact: Bool
        var peakMemoryBytes: Int
        var ratio: Double { hypergradientSeconds / trainingSeconds }
    }

    public let trainer: ReversibleTrainer
    public let architecture: MLPArchitecture
    public let noise: [Double]

    /// Threads sharing each training step (1 or 2).
    let threads: Int

    public init(threads: Int = 1) {
        self.threads = threads
        let digits = BuiltinDatasets.digits
        architecture = MLPArchitecture(
            inputs: digits.features, hidden: [50, 50], classes: digits.classes, activation: .tanh)
        trainer = ReversibleTrainer(
            problem: TrainingProblem(
                model: MLP(architecture: architecture), training: digits.labelledRows(0..<1000),
                batches: BatchPlan(rows: 1000, batchSize: 100, order: .random(seed: 0)),
                objective: .validation(digits.labelledRows(1000..<1797))), threads: threads)
        noise = TuningRun.gaussianNoise(count: architecture.parameterCount, seed: 0)
    }

    func schedule(iterations: Int) -> TrainingSchedule {
        let blocks = architecture.blocks
        return TrainingSchedule(
            iterations: iterations,
            learningRates: Array(repeating: Array(repeating: 0.5, count: blocks.count), count: iterations),
            momenta: Array(repeating: Array(repeating: 0.9, count: blocks.count), count: iterations),
            l2: blocks.flatMap { block in Array(repeating: block.kind == .weight ? 1e-4 : 0, count: block.range.count)
            },
            initScales: Array(repeating: 0.1, count: blocks.count))
    }

    /// Median timings over `repeats` runs of T plain training steps and of one full hypergradient.
    func measure(iterations: Int, repeats: Int) throws -> Measurement {
        let schedule = schedule(iterations: iterations)
        let clock = ContinuousClock()
        PeakMemory.reset()
        var plain: [Double] = []
        var hyper: [Double] = []
        var last: HypergradientRun?
        for _ in 0..<repeats {
            let start = clock.now
            _ = trainer.trainPlain(schedule: schedule, noise: noise)
            plain.append((clock.now - start).seconds)
            let middle = clock.now
            last = try trainer.hypergradient(schedule: schedule, noise: noise)
            hyper.append((clock.now - middle).seconds)
        }
        let run = last!
        let scale = Double(architecture.parameterCount * iterations)
        return Measurement(
            iterations: iterations, trainingSeconds: plain.median, hypergradientSeconds: hyper.median,
            bitsPerParameterStep: Double(run.bufferPeakBits) / scale,
            theoreticalBitsPerParameterStep: run.theoreticalBits / scale,
            exact: true,  // hypergradient() throws unless w_1, v_1 and the buffer came back exactly
            peakMemoryBytes: PeakMemory.current())
    }
}

extension Array where Element == Double {
    public var median: Double {
        let sorted = self.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// The process's peak resident memory (VmHWM), resettable on Linux through /proc/self/clear_refs.
/// The CPU time this process has used so far, every thread (user + system), in seconds.
public func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

public enum PeakMemory {
    public static func reset() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    public static func current() -> Int { statusBytes("VmHWM:") }

    /// The process's resident memory now (VmRSS).
    public static func resident() -> Int { statusBytes("VmRSS:") }

    private static func statusBytes(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kilobytes * 1024
        }
        return 0
    }
}
