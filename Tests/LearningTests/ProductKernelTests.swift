import Foundation
import LinearAlgebra
import Testing

@testable import Learning

/// `rewind_products` against the `BLAS.gemm` calls it stands in for: the same bits in every element,
/// whatever the shape, operand layout, strides and base.
@Suite("The conv layers' product kernels")
struct ProductKernelTests {
    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var aTransposed: Bool, bTransposed: Bool
        var second: (aTransposed: Bool, bTransposed: Bool)?
        var base: Int  // 0: +0, 1: C, 2: a bias row
        var description: String {
            "m \(m) n \(n) k \(k) A\(aTransposed ? "ᵀ" : "") B\(bTransposed ? "ᵀ" : "")"
                + (second.map { " + A\($0.aTransposed ? "ᵀ" : "")B\($0.bTransposed ? "ᵀ" : "")" } ?? "")
                + " base \(base)"
        }
    }

    /// Runs `c` through the kernels and through the BLAS calls from the same C and operands (values
    /// spread over many binades, some exactly zero, rows padded beyond their width) and answers
    /// how many elements of C (padding included) differ in their bits.
    static func differingElements(_ c: Case, random: inout SplitMix64) -> Int {
        func values(_ count: Int) -> [Double] {
            (0..<count).map { _ in
                let u = random.nextUnit()
                if u < 0.05 { return 0 }
                let magnitude = Double(sign: .plus, exponent: random.nextIndex(below: 40) - 20, significand: 1)
                return (random.nextUnit() * 2 - 1) * magnitude
            }
        }
        func stride(_ width: Int) -> Int { width + random.nextIndex(below: 3) }
        struct Stored { var a: [Double], lda: Int, b: [Double], ldb: Int, aT: Bool, bT: Bool }
        func operand(aT: Bool, bT: Bool) -> Stored {
            let lda = stride(aT ? c.m : c.k), ldb = stride(bT ? c.k : c.n)
            return Stored(
                a: values((aT ? c.k : c.m) * lda), lda: lda, b: values((bT ? c.n : c.k) * ldb), ldb: ldb, aT: aT,
                bT: bT)
        }
        let first = operand(aT: c.aTransposed, bT: c.bTransposed)
        let second = c.second.map { operand(aT: $0.aTransposed, bT: $0.bTransposed) }
        let ldc = stride(c.n), bias = values(c.n), start = values(c.m * ldc)
        func run(kernels: Bool) -> [Double] {
            var out = start
            first.a.withUnsafeBufferPointer { a1 in
                first.b.withUnsafeBufferPointer { b1 in
                    (second?.a ?? []).withUnsafeBufferPointer { a2 in
                        (second?.b ?? []).withUnsafeBufferPointer { b2 in
                            bias.withUnsafeBufferPointer { row in
                                out.withUnsafeMutableBufferPointer { cOut in
                                    let one = ShortProducts.Operand(
                                        a: a1.baseAddress!, lda: first.lda, b: b1.baseAddress!, ldb: first.ldb,
                                        aTransposed: first.aT, transposed: first.bT)
                                    let two = second.map {
                                        ShortProducts.Operand(
                                            a: a2.baseAddress!, lda: $0.lda, b: b2.baseAddress!, ldb: $0.ldb,
                                            aTransposed: $0.aT, transposed: $0.bT)
                                    }
                                    let base: ShortProducts.Base =
                                        c.base == 0 ? .zero : c.base == 1 ? .accumulate : .bias(row.baseAddress!)
                                    ShortProducts.run(
                                        m: c.m, n: c.n, k: c.k, one, plus: two, base: base, into: cOut.baseAddress!,
                                        ldc: ldc, useKernels: kernels)
                                }
                            }
                        }
                    }
                }
            }
            return out
        }
        let viaKernels = run(kernels: true), viaBLAS = run(kernels: false)
        return zip(viaKernels, viaBLAS).filter { $0.bitPattern != $1.bitPattern }.count
    }

    /// Where the kernels run (AVX-512 with OpenBLAS's Haswell family: this project's CI machines),
    /// 600 random shapes: odd and even rows (OpenBLAS sums an odd last row in four chains), column
    /// counts off the vector width, inner dimensions across OpenBLAS's 256-value blocks, every
    /// layout, one and two products, each base. Elsewhere both paths are the BLAS calls.
    @Test func theKernelsGiveTheBLASCallsBitsOnRandomShapes() {
        var random = SplitMix64(seed: 41)
        var failures: [String] = []
        for _ in 0..<600 {
            let wide = random.nextIndex(below: 2) == 0
            let c = Case(
                m: 1 + random.nextIndex(below: wide ? 300 : 24), n: 1 + random.nextIndex(below: wide ? 60 : 20),
                k: 1 + random.nextIndex(below: [64, 300, 1200][random.nextIndex(below: 3)]),
                aTransposed: random.nextIndex(below: 2) == 0, bTransposed: random.nextIndex(below: 2) == 0,
                second: random.nextIndex(below: 2) == 0
                    ? (random.nextIndex(below: 2) == 0, random.nextIndex(below: 2) == 0) : nil,
                base: random.nextIndex(below: 3))
            let differing = Self.differingElements(c, random: &random)
            if differing > 0 { failures.append("\(c): \(differing) elements") }
        }
        #expect(failures.isEmpty, "\(failures.count) shapes differ: \(failures.prefix(10))")
    }

    /// LeNet's own products, batch 100 (and an odd split of it), with inner dimensions of tens of
    /// thousands for the weight gradients: many OpenBLAS blocks added onto C one after another.
    @Test(arguments: [
        Case(m: 7_840, n: 8, k: 25, aTransposed: false, bTransposed: false, second: nil, base: 2),
        Case(m: 1_960, n: 16, k: 200, aTransposed: false, bTransposed: false, second: (false, false), base: 2),
        Case(m: 1_962, n: 200, k: 16, aTransposed: false, bTransposed: true, second: (false, true), base: 0),
        Case(m: 25, n: 8, k: 78_400, aTransposed: true, bTransposed: false, second: nil, base: 1),
        Case(m: 200, n: 16, k: 19_600, aTransposed: true, bTransposed: false, second: (true, false), base: 0),
        Case(m: 13, n: 16, k: 9_801, aTransposed: true, bTransposed: false, second: nil, base: 0),
    ])
    func theKernelsGiveTheBLASCallsBitsAtLeNetsShapes(_ c: Case) {
        var random = SplitMix64(seed: UInt64(c.m * 31 + c.k))
        #expect(Self.differingElements(c, random: &random) == 0)
    }

    /// What the kernels imitate, checked on the BLAS itself: an element of a row pair is one FMA
    /// chain in k order added onto C, and an odd last row is summed differently (in four chains),
    /// often in other bits, so the random shapes above tell the two apart.
    @Test func theBLASSumsRowPairsInOneChainAndAnOddLastRowOtherwise() {
        var random = SplitMix64(seed: 5)
        let m = 3, n = 8, k = 64
        let a = (0..<m * k).map { _ in random.nextUnit() * 2 - 1 },
            b = (0..<k * n).map { _ in random.nextUnit() * 2 - 1 }
        var c = [Double](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    ShortProducts.run(
                        m: m, n: n, k: k, .init(a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n), base: .zero,
                        into: c.baseAddress!, ldc: n, useKernels: false)
                }
            }
        }
        func chain(_ i: Int, _ j: Int) -> Double {
            var sum = 0.0
            for p in 0..<k { sum = sum.addingProduct(a[i * k + p], b[p * n + j]) }  // one rounding: an FMA
            return 0 + sum
        }
        #expect(
            (0..<2).allSatisfy { i in (0..<n).allSatisfy { j in c[i * n + j].bitPattern == chain(i, j).bitPattern } })
        #expect((0..<n).contains { j in c[2 * n + j].bitPattern != chain(2, j).bitPattern })
    }

    /// On a CPU with AVX-512 under the Haswell family (this project's machines) the kernels do run,
    /// so the comparisons above compare two different computations.
    @Test(.enabled(if: Self.kernelsShouldRun, "no AVX-512 or not OpenBLAS's Haswell family here"))
    func theKernelsRunWhereTheyApply() {
        #expect(ShortProducts.kernelsApply)
    }

    /// A gathered A (offset tables into a source buffer, as a conv layer's im2col matrix is read)
    /// against the matrix those tables describe, written out and multiplied by the BLAS calls:
    /// random tables (repeated and overlapping offsets included), both layouts of A, odd and even
    /// rows, inner dimensions across blocks, a second gathered product, each base.
    @Test(.enabled(if: Self.kernelsShouldRun, "no AVX-512 or not OpenBLAS's Haswell family here"))
    func aGatheredAGivesTheBitsOfTheMatrixItDescribes() {
        var random = SplitMix64(seed: 77)
        var failures: [String] = []
        for trial in 0..<200 {
            let m = 1 + random.nextIndex(below: 90), n = 1 + random.nextIndex(below: 40)
            let k = 1 + random.nextIndex(below: [40, 700][random.nextIndex(below: 2)])
            let transposed = random.nextIndex(below: 2) == 0, base = random.nextIndex(below: 3)
            let (storedRows, storedColumns) = transposed ? (k, m) : (m, k)
            let source = (0..<500).map { _ in random.nextUnit() * 2 - 1 }
            func operand() -> (rows: [Int64], columns: [Int64], written: [Double], b: [Double]) {
                let rows = (0..<storedRows).map { _ in Int64(random.nextIndex(below: 250)) }
                let columns = (0..<storedColumns).map { _ in Int64(random.nextIndex(below: 250)) }
                let written = rows.flatMap { r in columns.map { source[Int(r + $0)] } }
                return (rows, columns, written, (0..<k * n).map { _ in random.nextUnit() * 2 - 1 })
            }
            let one = operand(), two = random.nextIndex(below: 2) == 0 ? operand() : nil
            let bias = (0..<n).map { _ in random.nextUnit() }, start = (0..<m * n).map { _ in random.nextUnit() }
            func run(gathered: Bool) -> [Double] {
                var c = start
                func use(
                    _ o: (rows: [Int64], columns: [Int64], written: [Double], b: [Double]),
                    _ body: (ShortProducts.Operand) -> Void
                ) {
                    source.withUnsafeBufferPointer { src in
                        o.written.withUnsafeBufferPointer { w in
                            o.rows.withUnsafeBufferPointer { r in
                                o.columns.withUnsafeBufferPointer { t in
                                    o.b.withUnsafeBufferPointer { b in
                                        body(
                                            gathered
                                                ? .init(
                                                    a: src.baseAddress!, lda: 0, b: b.baseAddress!, ldb: n,
                                                    aTransposed: transposed,
                                                    gather: (r.baseAddress!, t.baseAddress!))
                                                : .init(
                                                    a: w.baseAddress!, lda: storedColumns, b: b.baseAddress!, ldb: n,
                                                    aTransposed: transposed))
                                    }
                                }
                            }
                        }
                    }
                }
                bias.withUnsafeBufferPointer { row in
                    c.withUnsafeMutableBufferPointer { out in
                        let baseKind: ShortProducts.Base =
                            base == 0 ? .zero : base == 1 ? .accumulate : .bias(row.baseAddress!)
                        use(one) { first in
                            guard let two else {
                                ShortProducts.run(
                                    m: m, n: n, k: k, first, base: baseKind, into: out.baseAddress!, ldc: n,
                                    useKernels: gathered)
                                return
                            }
                            use(two) { second in
                                ShortProducts.run(
                                    m: m, n: n, k: k, first, plus: second, base: baseKind, into: out.baseAddress!,
                                    ldc: n, useKernels: gathered)
                            }
                        }
                    }
                }
                return c
            }
            let differing = zip(run(gathered: true), run(gathered: false)).filter { $0.bitPattern != $1.bitPattern }
            if !differing.isEmpty {
                failures.append("#\(trial) m \(m) n \(n) k \(k) \(transposed ? "Aᵀ" : "A"): \(differing.count)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) cases differ: \(failures.prefix(10))")
    }

    static let kernelsShouldRun: Bool = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = text.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
        return flags.contains("avx512f") && BLASKernel.loadedFamily == "Haswell"
    }()
}
