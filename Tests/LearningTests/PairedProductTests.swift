import LinearAlgebra
import Testing

@testable import Learning

/// `ShortProducts.runPaired` (a pass's product and its R-pass's over one A, in one sweep) against
/// the two `ShortProducts.run` calls it stands in for: every bit of both outputs, padding included.
@Suite("Paired products")
struct PairedProductTests {
    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var aTransposed: Bool
        var gathered: Bool
        /// A second product onto the paired output, and whether its B is stored transposed.
        var second: Bool, secondTransposed: Bool
        var biases: Bool
        var description: String {
            "m \(m) n \(n) k \(k) \(gathered ? "gathered " : "")A\(aTransposed ? "ᵀ" : "")"
                + (second ? " + A₂B₂\(secondTransposed ? "ᵀ" : "")" : "") + (biases ? " biases" : "")
        }
    }

    /// How many elements of the two outputs (rows padded beyond their width) differ in their bits
    /// between `runPaired` and the two single calls, from the same starting values. A gathered A
    /// reads random offset tables into a source buffer (needs the kernels, whose single calls
    /// `ProductKernelTests` holds to the BLAS's bits); a strided one is compared with the BLAS.
    static func differingElements(_ c: Case, random: inout SplitMix64) -> Int {
        func values(_ count: Int) -> [Double] {
            (0..<count).map { _ in
                if random.nextUnit() < 0.05 { return 0 }
                let magnitude = Double(sign: .plus, exponent: random.nextIndex(below: 40) - 20, significand: 1)
                return (random.nextUnit() * 2 - 1) * magnitude
            }
        }
        let (storedRows, storedColumns) = c.aTransposed ? (c.k, c.m) : (c.m, c.k)
        let lda = storedColumns + random.nextIndex(below: 3), ldb = c.n + random.nextIndex(below: 3)
        let ldc = c.n + random.nextIndex(below: 3)
        let source = values(c.gathered ? 600 : storedRows * lda)
        let rowTable = (0..<storedRows).map { _ in Int64(random.nextIndex(below: 300)) }
        let columnTable = (0..<storedColumns).map { _ in Int64(random.nextIndex(below: 300)) }
        let b = values(c.k * ldb), b2 = values(c.k * ldb)
        let secondLDA = c.m + 1, secondLDB = c.secondTransposed ? c.k + 2 : c.n + 2
        let secondA = values(c.k * secondLDA), secondB = values((c.secondTransposed ? c.n : c.k) * secondLDB)
        let bias = values(c.n), bias2 = values(c.n)
        let start = values(c.m * ldc), start2 = values(c.m * ldc)

        func run(paired: Bool) -> [Double] {
            var out = start, out2 = start2
            source.withUnsafeBufferPointer { src in
                rowTable.withUnsafeBufferPointer { rows in
                    columnTable.withUnsafeBufferPointer { columns in
                        b.withUnsafeBufferPointer { b in
                            b2.withUnsafeBufferPointer { b2 in
                                secondA.withUnsafeBufferPointer { a2 in
                                    secondB.withUnsafeBufferPointer { bTwo in
                                        bias.withUnsafeBufferPointer { bias in
                                            bias2.withUnsafeBufferPointer { bias2 in
                                                out.withUnsafeMutableBufferPointer { c1 in
                                                    out2.withUnsafeMutableBufferPointer { c2 in
                                                        let first = ShortProducts.Operand(
                                                            a: src.baseAddress!, lda: lda, b: b.baseAddress!,
                                                            ldb: ldb, aTransposed: c.aTransposed,
                                                            gather: c.gathered
                                                                ? (rows.baseAddress!, columns.baseAddress!) : nil)
                                                        let second =
                                                            c.second
                                                            ? ShortProducts.Operand(
                                                                a: a2.baseAddress!, lda: secondLDA,
                                                                b: bTwo.baseAddress!, ldb: secondLDB,
                                                                aTransposed: true, transposed: c.secondTransposed)
                                                            : nil
                                                        if paired {
                                                            ShortProducts.runPaired(
                                                                m: c.m, n: c.n, k: c.k, first,
                                                                pairedWith: b2.baseAddress!, plus: second,
                                                                base: c.biases
                                                                    ? .biases(bias.baseAddress!, bias2.baseAddress!)
                                                                    : .zero,
                                                                into: c1.baseAddress!, pairedInto: c2.baseAddress!,
                                                                ldc: ldc)
                                                            return
                                                        }
                                                        var firstOfPair = first
                                                        firstOfPair.b = b2.baseAddress!
                                                        ShortProducts.run(
                                                            m: c.m, n: c.n, k: c.k, first,
                                                            base: c.biases ? .bias(bias.baseAddress!) : .zero,
                                                            into: c1.baseAddress!, ldc: ldc, useKernels: c.gathered)
                                                        ShortProducts.run(
                                                            m: c.m, n: c.n, k: c.k, firstOfPair, plus: second,
                                                            base: c.biases ? .bias(bias2.baseAddress!) : .zero,
                                                            into: c2.baseAddress!, ldc: ldc, useKernels: c.gathered)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return out + out2
        }
        return zip(run(paired: true), run(paired: false)).filter { $0.bitPattern != $1.bitPattern }.count
    }

    /// 400 random shapes: odd and even rows (an odd last row is summed in four chains), column
    /// counts off the vector width and beyond sixteen (several sweeps of each output), inner
    /// dimensions across OpenBLAS's 256-value blocks, either layout of A, written out or gathered
    /// (where the kernels run), with and without a second product and biases.
    @Test func pairedProductsGiveTheBitsOfTheTwoSingleCalls() {
        var random = SplitMix64(seed: 2026)
        var failures: [String] = []
        for _ in 0..<400 {
            let wide = random.nextIndex(below: 2) == 0
            let c = Case(
                m: 1 + random.nextIndex(below: wide ? 400 : 30), n: 1 + random.nextIndex(below: wide ? 50 : 17),
                k: 1 + random.nextIndex(below: [40, 300, 1100][random.nextIndex(below: 3)]),
                aTransposed: random.nextIndex(below: 2) == 0,
                gathered: ProductKernelTests.kernelsShouldRun && random.nextIndex(below: 2) == 0,
                second: random.nextIndex(below: 2) == 0, secondTransposed: random.nextIndex(below: 2) == 0,
                biases: random.nextIndex(below: 2) == 0)
            let differing = Self.differingElements(c, random: &random)
            if differing > 0 { failures.append("\(c): \(differing) elements") }
        }
        #expect(failures.isEmpty, "\(failures.count) shapes differ: \(failures.prefix(10))")
    }

    /// LeNet's paired products: the forward and R-forward of each conv layer (gathered, biases, the
    /// second layer's R{input}·W onto R{z}) and the weight gradients with their R-passes (Aᵀ over
    /// tens of thousands of inner values), at a batch of 100 and an odd split of one.
    @Test(
        .enabled(if: ProductKernelTests.kernelsShouldRun, "no AVX-512 or not OpenBLAS's Haswell family here"),
        arguments: [
            Case(
                m: 7_840, n: 8, k: 25, aTransposed: false, gathered: true, second: false, secondTransposed: false,
                biases: true),
            Case(
                m: 1_961, n: 16, k: 200, aTransposed: false, gathered: true, second: true, secondTransposed: false,
                biases: true),
            Case(
                m: 25, n: 8, k: 78_400, aTransposed: true, gathered: true, second: false, secondTransposed: false,
                biases: false),
            Case(
                m: 13, n: 16, k: 19_600, aTransposed: true, gathered: true, second: true, secondTransposed: false,
                biases: false),
            Case(
                m: 101, n: 10, k: 784, aTransposed: false, gathered: false, second: true, secondTransposed: false,
                biases: true),
        ])
    func pairedProductsGiveTheBitsOfTheTwoSingleCallsAtLeNetsShapes(_ c: Case) {
        var random = SplitMix64(seed: UInt64(c.m * 7 + c.k))
        #expect(Self.differingElements(c, random: &random) == 0)
    }
}
