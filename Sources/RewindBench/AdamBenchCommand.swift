import ArgumentParser
import Foundation
import JSON
import Learning
import LinearAlgebra

/// `rewind bench-adam`: Adam's exact hypergradient against SGD momentum's on the canonical
/// problem, the bits its buffers keep for several β settings, and (with `--dump`) Adam problems
/// with Rewind's hypergradients for the JAX comparison (bench/run-jax-adam-comparison.sh).
public struct AdamBenchCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "bench-adam",
        abstract: "Benchmark Adam's exact hypergradient, its buffer's bits, or export Adam problems for JAX.",
        discussion: """
            Without --dump: the Adam/momentum time table at T = 100 and 1000 and the bits table. \
            With --dump DIR: writes adam-mlp-100.json, adam-mlp-1000.json and adam-mlp-eps-100.json \
            (ε 1e-4, β2 around 0.99) into DIR, each with Rewind's hypergradient for every group and its \
            timed runs, for bench/jax_adam_reference.py.
            """)

    @Flag(name: .long, help: "Print one JSON object instead of tables.")
    var json = false

    @Option(name: .long, help: "Runs per configuration; the median is reported.")
    var repeats = 5

    @Option(name: .long, help: "Threads sharing each training step, 1 or 2 (results are identical).")
    var threads = 1

    @Option(name: .long, help: "Write the JAX comparison problems into this directory instead.")
    var dump: String?

    @Option(name: .long, help: "With --dump: the iteration counts of the default-settings problem.")
    var iterations: [Int] = [100, 1000]

    @Option(
        name: .long,
        help: "Without --dump: the iteration counts of the time table (e.g. 100 alone, under callgrind).")
    var speedIterations: [Int] = [100, 1000]

    @Flag(name: .long, help: "Without --dump: leave out the bits table (five more runs at T = 1000).")
    var skipBits = false

    @Flag(
        name: .long,
        help: "Without --dump: run Adam's per-parameter work through the Swift loops that specify its C kernels.")
    var swiftLoops = false

    public func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard threads == 1 || threads == 2 else { throw ValidationError("--threads must be 1 or 2") }
        guard (iterations + speedIterations).allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--iterations and --speed-iterations must be at least 1")
        }
    }

    public func run() throws {
        BLAS.setThreadCount(1)
        let core = CoreBenchmark(threads: threads)
        if let dump {
            try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true)
            let problems =
                iterations.map { AdamComparison(core: core, iterations: $0, epsilon: 1e-8, beta2: 0.999, label: "mlp") }
                + [AdamComparison(core: core, iterations: 100, epsilon: 1e-4, beta2: 0.99, label: "mlp-eps")]
            for problem in problems {
                let measurement = try problem.measure(repeats: repeats)
                let path = URL(fileURLWithPath: dump).appendingPathComponent(problem.fileName)
                try Data(problem.document(measurement).serialized() + [UInt8(ascii: "\n")]).write(to: path)
                Console.error("wrote \(path.path)")
            }
            return
        }
        var benchmark = AdamBenchmark(core: core)
        benchmark.usesKernels = !swiftLoops
        let speed = try speedIterations.map {
            try benchmark.measure(iterations: $0, repeats: max(1, repeats / max(1, $0 / 100)))
        }
        let bits = try (skipBits ? [] : AdamBenchmark.bitsSettings).map { beta1, beta2 in
            try benchmark.bits(iterations: 1000, beta1: beta1, beta2: beta2)
        }
        if json {
            let top: JSONValue = [
                "threads": .number(Double(threads)), "adam": AdamBenchmark.json(speed),
                "bits": AdamBenchmark.bitsJSON(bits),
            ]
            Console.output(top.serializedString())
        } else {
            Console.output(AdamBenchmark.table(speed) + (skipBits ? "" : AdamBenchmark.bitsTable(bits)))
        }
    }
}
