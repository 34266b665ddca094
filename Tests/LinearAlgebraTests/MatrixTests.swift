import LinearAlgebra
import RewindTestSupport
import Testing

@Suite struct MatrixTests {
    private func randomMatrix(_ rows: Int, _ cols: Int, _ random: inout SeededGenerator) -> Matrix {
        Matrix(rows: rows, cols: cols, elements: random.gaussians(rows * cols))
    }

    @Test func elementsAreStoredRowMajor() {
        var m = Matrix(rows: 2, cols: 3, elements: [1, 2, 3, 4, 5, 6])
        #expect(m[0, 2] == 3)
        #expect(m[1, 0] == 4)
        m[1, 2] = 9
        #expect(m.elements == [1, 2, 3, 4, 5, 9])
        #expect(Matrix(rows: 2, cols: 2) { i, j in Double(10 * i + j) }.elements == [0, 1, 10, 11])
    }

    @Test func productMatchesNaiveTripleLoop() {
        var random = SeededGenerator(seed: 3)
        let a = randomMatrix(4, 6, &random), b = randomMatrix(6, 5, &random)
        let product = a * b
        #expect(product.rows == 4 && product.cols == 5)
        for i in 0..<4 {
            for j in 0..<5 {
                var sum = 0.0
                for p in 0..<6 { sum += a[i, p] * b[p, j] }
                #expect(abs(product[i, j] - sum) < 1e-13)
            }
        }
    }

    @Test func matrixVectorProductMatchesNaiveLoop() {
        var random = SeededGenerator(seed: 4)
        let a = randomMatrix(3, 4, &random), x = random.gaussians(4)
        let y = a * x
        for i in 0..<3 {
            let expected = (0..<4).reduce(0.0) { $0 + a[i, $1] * x[$1] }
            #expect(abs(y[i] - expected) < 1e-13)
        }
    }

    @Test func identityIsNeutralAndTransposeSwapsIndices() {
        var random = SeededGenerator(seed: 5)
        let a = randomMatrix(3, 4, &random)
        #expect(Matrix.identity(3) * a == a)
        #expect(a * Matrix.identity(4) == a)
        let t = a.transposed()
        #expect(t.rows == 4 && t.cols == 3)
        #expect(t[2, 1] == a[1, 2])
        #expect(t.transposed() == a)
    }

    @Test func productWithAnEmptyInnerDimensionIsZero() {
        let product = Matrix(rows: 2, cols: 0) * Matrix(rows: 0, cols: 3)
        #expect(product == Matrix(rows: 2, cols: 3, repeating: 0))
    }

    @Test func equalityComparesShapeAsWellAsElements() {
        #expect(Matrix(rows: 2, cols: 3) != Matrix(rows: 3, cols: 2))
        #expect(Matrix(rows: 1, cols: 2, elements: [1, 2]) != Matrix(rows: 1, cols: 2, elements: [1, 3]))
    }
}
