import ArgumentParser
import Foundation
import JSON
import Learning
import LinearAlgebra

/// `rewind bench-products`: the layers' matrix products through Rewind's own kernels against the
/// BLAS calls they stand in for, at the shapes LeNet and the MNIST net run (batch 100 and 200):
/// GFLOP per second of each, from the median of interleaved calls, and whether every element came
/// out with the same bits.
public struct ProductBenchCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "bench-products",
        abstract: "Benchmark the layers' matrix products: Rewind's kernels against OpenBLAS, same bits.",
        discussion: """
            Each shape runs --repeats times through each path in turn (one thread, the BLAS pinned as \
            for training); the table gives GFLOP per second of the median call and whether the two \
            results are identical in every bit. Without AVX-512, or with a BLAS family other than \
            Haswell, both columns are the BLAS.
            """)

    @Option(name: .long, help: "Interleaved calls per path and shape; the median is reported.")
    var repeats = 21

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    public func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    /// m × n × k, A stored transposed (k, m), B stored transposed (n, k), a second product, base.
    struct Shape {
        var label: String
        var m: Int, n: Int, k: Int
        var aTransposed = false, bTransposed = false, twoProducts = false
        var bias = false
    }

    static let shapes = [
        Shape(label: "LeNet conv1 forward (+ bias)", m: 78_400, n: 8, k: 25, bias: true),
        Shape(label: "LeNet conv1 weight gradient (Aᵀ)", m: 25, n: 8, k: 78_400, aTransposed: true),
        Shape(label: "LeNet conv2 forward (+ bias)", m: 19_600, n: 16, k: 200, bias: true),
        Shape(
            label: "LeNet conv2 R-forward (two products + bias)", m: 19_600, n: 16, k: 200, twoProducts: true,
            bias: true),
        Shape(label: "LeNet conv2 weight gradient (Aᵀ)", m: 200, n: 16, k: 19_600, aTransposed: true),
        Shape(label: "LeNet conv2 column gradient (Bᵀ)", m: 19_600, n: 200, k: 16, bTransposed: true),
        Shape(label: "MNIST layer 1 forward (+ bias)", m: 200, n: 50, k: 784, bias: true),
        Shape(label: "MNIST layer 1 weight gradient (Aᵀ)", m: 784, n: 50, k: 200, aTransposed: true),
        Shape(label: "MNIST layer 2 input gradient (Bᵀ)", m: 200, n: 50, k: 50, bTransposed: true),
    ]

    struct Row {
        var shape: Shape
        var blasSeconds: Double
        var kernelSeconds: Double
        var identical: Bool
        var gflop: Double { Double(2 * shape.m * shape.n * shape.k * (shape.twoProducts ? 2 : 1)) / 1e9 }
    }

    public func run() throws {
        BLAS.setThreadCount(1)
        var random = SplitMix64(seed: 3)
        let rows = Self.shapes.map { measure($0, random: &random) }
        if json {
            let document = JSONValue.object([
                "kernels_apply": .bool(ShortProducts.kernelsApply),
                "blas_family": .string(BLASKernel.loadedFamily),
                "shapes": .array(
                    rows.map { row in
                        .object([
                            "shape": .string(row.shape.label), "m": .number(Double(row.shape.m)),
                            "n": .number(Double(row.shape.n)), "k": .number(Double(row.shape.k)),
                            "blas_gflops": .number(row.gflop / row.blasSeconds),
                            "kernels_gflops": .number(row.gflop / row.kernelSeconds),
                            "identical": .bool(row.identical),
                        ])
                    }),
            ])
            Console.output(document.serializedString())
            return
        }
        Console.output(
            "Matrix products, one thread, GFLOP/s of the median of \(repeats) interleaved calls; BLAS family "
                + "\(BLASKernel.loadedFamily), Rewind's kernels \(ShortProducts.kernelsApply ? "on" : "off (both columns are the BLAS)")."
        )
        Console.output("| product | m × n × k | OpenBLAS | Rewind's kernels | speed-up | same bits |")
        Console.output("|---|---:|---:|---:|---:|---|")
        for row in rows {
            let s = row.shape
            Console.output(
                "| \(s.label) | \(s.m) × \(s.n) × \(s.k) | \(format(row.gflop / row.blasSeconds)) | "
                    + "\(format(row.gflop / row.kernelSeconds)) | \(format(row.blasSeconds / row.kernelSeconds))× | "
                    + "\(row.identical ? "yes" : "**no**") |")
        }
        if rows.contains(where: { !$0.identical }) { throw ExitCode(1) }
    }

    private func format(_ value: Double) -> String { String(format: "%.2f", value) }

    private func measure(_ shape: Shape, random: inout SplitMix64) -> Row {
        func values(_ count: Int) -> [Double] { (0..<count).map { _ in random.nextUnit() * 2 - 1 } }
        let a1 = values(shape.m * shape.k), b1 = values(shape.k * shape.n)
        let a2 = values(shape.twoProducts ? shape.m * shape.k : 1),
            b2 = values(shape.twoProducts ? shape.k * shape.n : 1)
        let bias = values(shape.n)
        var viaBLAS = [Double](repeating: 0, count: shape.m * shape.n), viaKernels = viaBLAS
        var blasTimes: [Double] = [], kernelTimes: [Double] = []
        a1.withUnsafeBufferPointer { a1 in
            b1.withUnsafeBufferPointer { b1 in
                a2.withUnsafeBufferPointer { a2 in
                    b2.withUnsafeBufferPointer { b2 in
                        bias.withUnsafeBufferPointer { bias in
                            func operand(
                                _ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>
                            )
                                -> ShortProducts.Operand
                            {
                                ShortProducts.Operand(
                                    a: a.baseAddress!, lda: shape.aTransposed ? shape.m : shape.k, b: b.baseAddress!,
                                    ldb: shape.bTransposed ? shape.k : shape.n, aTransposed: shape.aTransposed,
                                    transposed: shape.bTransposed)
                            }
                            let first = operand(a1, b1), second = shape.twoProducts ? operand(a2, b2) : nil
                            let base: ShortProducts.Base = shape.bias ? .bias(bias.baseAddress!) : .zero
                            func time(_ kernels: Bool, into c: inout [Double]) -> Double {
                                c.withUnsafeMutableBufferPointer { c in
                                    let start = DispatchTime.now().uptimeNanoseconds
                                    ShortProducts.run(
                                        m: shape.m, n: shape.n, k: shape.k, first, plus: second, base: base,
                                        into: c.baseAddress!, ldc: shape.n, useKernels: kernels)
                                    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                                }
                            }
                            for _ in 0..<repeats {
                                blasTimes.append(time(false, into: &viaBLAS))
                                kernelTimes.append(time(true, into: &viaKernels))
                            }
                        }
                    }
                }
            }
        }
        func median(_ times: [Double]) -> Double { times.sorted()[times.count / 2] }
        let identical = zip(viaBLAS, viaKernels).allSatisfy { $0.bitPattern == $1.bitPattern }
        return Row(
            shape: shape, blasSeconds: median(blasTimes), kernelSeconds: median(kernelTimes), identical: identical)
    }
}
