import ArgumentParser
import Foundation
import JSON
import Learning
import LinearAlgebra

/// `rewind bench`: the numbers of the README's benchmark table, as a table or one JSON object.
public struct BenchCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark exact hypergradients against plain training on the canonical problem.")

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    @Option(name: .long, help: "Runs per configuration; the median is reported.")
    var repeats = 5

    @Option(name: .long, help: "Threads sharing each training step, 1 or 2 (results are identical).")
    var threads = 1

    @Option(
        name: .long,
        help:
            "Also measure T = 10,000 and 100,000 with this many runs each (0, the default, skips them: they take minutes)."
    )
    var longRepeats = 0

    public func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard threads == 1 || threads == 2 else { throw ValidationError("--threads must be 1 or 2") }
    }

    public func run() throws {
        BLAS.setThreadCount(1)
        let benchmark = CoreBenchmark(threads: threads)
        let short = try benchmark.measure(iterations: 100, repeats: repeats)
        let long = try benchmark.measure(iterations: 1000, repeats: max(1, repeats / 2))
        let longer =
            try longRepeats > 0
            ? [10_000, 100_000].map { try benchmark.measure(iterations: $0, repeats: longRepeats) } : []
        let adamBenchmark = AdamBenchmark(core: benchmark)
        let adam = try [100, 1000].map {
            try adamBenchmark.measure(iterations: $0, repeats: max(1, repeats / ($0 / 100)))
        }
        if json {
            var top = Self.json(short: short, long: long, longer: longer, threads: threads)
            if case .object(var object) = top {
                object["adam"] = AdamBenchmark.json(adam)
                top = .object(object)
            }
            Console.output(top.serializedString())
        } else {
            Console.output(
                Self.table(
                    short: short, long: long, longer: longer, parameters: benchmark.architecture.parameterCount,
                    threads: threads) + AdamBenchmark.table(adam))
        }
    }

    static func json(
        short: CoreBenchmark.Measurement, long: CoreBenchmark.Measurement, longer: [CoreBenchmark.Measurement] = [],
        threads: Int
    ) -> JSONValue {
        func object(_ m: CoreBenchmark.Measurement) -> JSONObject {
            var o = JSONObject()
            o["iterations"] = .number(Double(m.iterations))
            o["training_seconds"] = .number(m.trainingSeconds)
            o["hypergradient_seconds"] = .number(m.hypergradientSeconds)
            o["ratio"] = .number(m.ratio)
            o["bits_per_parameter_step"] = .number(m.bitsPerParameterStep)
            o["theoretical_bits_per_parameter_step"] = .number(m.theoreticalBitsPerParameterStep)
            o["exact"] = .bool(m.exact)
            o["peak_memory_bytes"] = .number(Double(m.peakMemoryBytes))
            return o
        }
        var top = object(short)
        top["problem"] = .string(
            "digits 1000/797, MLP 64-50-50-10 tanh, batch 100, alpha 0.5, gamma 0.9, L2 1e-4, init scale 0.1")
        top["t1000"] = .object(object(long))
        top["threads"] = .number(Double(threads))
        top["numeric_fingerprint"] = .string(NumericFingerprint.current)
        for m in longer { top["t\(m.iterations)"] = .object(object(m)) }
        return .object(top)
    }

    static func table(
        short: CoreBenchmark.Measurement, long: CoreBenchmark.Measurement, longer: [CoreBenchmark.Measurement] = [],
        parameters: Int, threads: Int
    ) -> String {
        var lines = [
            "Canonical problem: digits 1000/797, MLP 64-50-50-10 tanh (\(parameters) parameters), batch 100,",
            "alpha 0.5, gamma 0.9, L2 1e-4, init scale 0.1; medians; BLAS on one thread;",
            "\(threads) trainer thread\(threads == 1 ? "" : "s") per step (same results either way).",
            "",
            "|       T | training (s) | hypergradient (s) | ratio | bits/param/step | theory | exact | peak RSS |",
            "|--------:|-------------:|------------------:|------:|----------------:|-------:|:-----:|---------:|",
        ]
        for m in [short, long] + longer {
            let timing = String(
                format: "| %7d | %12.4f | %17.4f | %5.2f | %15.4f | %6.4f |",
                m.iterations, m.trainingSeconds, m.hypergradientSeconds, m.ratio, m.bitsPerParameterStep,
                m.theoreticalBitsPerParameterStep)
            let memory = String(format: " %5.0f MiB |", Double(m.peakMemoryBytes) / 1_048_576)
            lines.append(timing + (m.exact ? "  yes  |" : "  NO   |") + memory)
        }
        return lines.joined(separator: "\n")
    }
}
