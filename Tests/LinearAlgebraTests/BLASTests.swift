import LinearAlgebra
import RewindTestSupport
import Testing

/// Naive reference: C = alpha·op(A)·op(B) + beta·C on row-major arrays with leading dimensions.
private func naiveGemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
    a: [Double], lda: Int, b: [Double], ldb: Int, beta: Double, c: inout [Double], ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                sum += x * y
            }
            c[i * ldc + j] = alpha * sum + beta * c[i * ldc + j]
        }
    }
}

private func maxAbsDifference(_ x: [Double], _ y: [Double]) -> Double {
    zip(x, y).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct BLASTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesNaiveProductForEveryTransposeWithPaddedLeadingDimensions(
        transposeA: Bool, transposeB: Bool
    ) {
        var random = SeededGenerator(seed: 11)
        let m = 5, n = 4, k = 3
        // Padded rows: the wrapper must honour leading dimensions, not assume packed storage.
        let lda = (transposeA ? m : k) + 2, ldb = (transposeB ? k : n) + 1, ldc = n + 3
        let a = random.gaussians((transposeA ? k : m) * lda)
        let b = random.gaussians((transposeB ? n : k) * ldb)
        let c0 = random.gaussians(m * ldc)
        var expected = c0
        naiveGemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.7,
            a: a, lda: lda, b: b, ldb: ldb, beta: -1.3, c: &expected, ldc: ldc)
        var c = c0
        c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.7,
                a: a, lda: lda, b: b, ldb: ldb, beta: -1.3, c: cp.baseAddress!, ldc: ldc)
        }
        #expect(maxAbsDifference(c, expected) < 1e-13)
        // The padding of C is left untouched.
        for i in 0..<m { for j in n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j]) } }
    }

    @Test func gemmWithZeroBetaIgnoresNaNInTheOutput() {
        let a: [Double] = [1, 2, 3, 4], b: [Double] = [5, 6, 7, 8]
        var c = [Double](repeating: .nan, count: 4)
        c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(
                transposeA: false, transposeB: false, m: 2, n: 2, k: 2, alpha: 1, a: a, lda: 2,
                b: b, ldb: 2, beta: 0, c: cp.baseAddress!, ldc: 2)
        }
        #expect(c == [19, 22, 43, 50])
    }

    @Test(arguments: [false, true])
    func gemvMatchesNaiveProduct(transpose: Bool) {
        var random = SeededGenerator(seed: 12)
        let m = 4, n = 3, lda = 5
        let a = random.gaussians(m * lda)
        let x = random.gaussians(transpose ? m : n)
        let y0 = random.gaussians(transpose ? n : m)
        var expected = y0
        for i in expected.indices {
            var sum = 0.0
            for p in x.indices { sum += (transpose ? a[p * lda + i] : a[i * lda + p]) * x[p] }
            expected[i] = 2 * sum + 0.5 * y0[i]
        }
        var y = y0
        y.withUnsafeMutableBufferPointer { yp in
            BLAS.gemv(
                transpose: transpose, m: m, n: n, alpha: 2, a: a, lda: lda, x: x, beta: 0.5,
                y: yp.baseAddress!)
        }
        #expect(maxAbsDifference(y, expected) < 1e-13)
    }

    @Test func axpyDotAndScalHonourStrides() {
        let x: [Double] = [1, -1, 2, -1, 3, -1]
        var y: [Double] = [10, 0, 20, 0, 30, 0]
        y.withUnsafeMutableBufferPointer { yp in
            BLAS.axpy(count: 3, alpha: 2, x: x, incx: 2, y: yp.baseAddress!, incy: 2)
        }
        #expect(y == [12, 0, 24, 0, 36, 0])
        #expect(BLAS.dot(count: 3, x: x, incx: 2, y: y, incy: 2) == 12 + 48 + 108)
        y.withUnsafeMutableBufferPointer { yp in
            BLAS.scal(count: 3, alpha: 0.5, x: yp.baseAddress!, incx: 2)
        }
        #expect(y == [6, 0, 12, 0, 18, 0])
    }

    @Test func threadCountRoundTrips() {
        let original = BLAS.threadCount
        BLAS.setThreadCount(1)
        #expect(BLAS.threadCount == 1)
        BLAS.setThreadCount(original)
        #expect(BLAS.threadCount == original)
    }

    @Test func gemmRejectsALeadingDimensionShorterThanARow() async {
        await #expect(processExitsWith: .failure) {
            let a = [Double](repeating: 1, count: 16)
            var c = [Double](repeating: 0, count: 16)
            c.withUnsafeMutableBufferPointer { cp in
                BLAS.gemm(
                    transposeA: false, transposeB: false, m: 2, n: 4, k: 4, alpha: 1, a: a, lda: 3,
                    b: a, ldb: 4, beta: 0, c: cp.baseAddress!, ldc: 4)
            }
        }
    }
}
