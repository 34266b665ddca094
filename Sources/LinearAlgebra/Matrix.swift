/// A dense matrix of `Double` stored row-major in one flat array.
///
/// A small value type for set-up code and tests; the training loop works on raw buffers through
/// `BLAS` instead, so nothing here is on the hot path.
public struct Matrix: Sendable, Equatable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let cols: Int
    /// The elements, row after row: element (i, j) is at `i * cols + j`.  // (rows, cols)
    public private(set) var elements: [Double]

    /// A `rows × cols` matrix with every element set to `value`.
    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative dimension")
        self.rows = rows
        self.cols = cols
        self.elements = Array(repeating: value, count: rows * cols)
    }

    /// A `rows × cols` matrix over `elements` given row after row.
    public init(rows: Int, cols: Int, elements: [Double]) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative dimension")
        precondition(elements.count == rows * cols, "Matrix: \(elements.count) elements for \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.elements = elements
    }

    /// A `rows × cols` matrix whose element (i, j) is `element(i, j)`, filled row after row.
    public init(rows: Int, cols: Int, element: (_ row: Int, _ col: Int) throws -> Double) rethrows {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative dimension")
        var elements: [Double] = []
        elements.reserveCapacity(rows * cols)
        for i in 0..<rows {
            for j in 0..<cols { elements.append(try element(i, j)) }
        }
        self.init(rows: rows, cols: cols, elements: elements)
    }

    /// The `n × n` identity matrix.
    public static func identity(_ n: Int) -> Matrix {
        Matrix(rows: n, cols: n) { i, j in i == j ? 1 : 0 }
    }

    /// Element (row, col).
    public subscript(row: Int, col: Int) -> Double {
        get {
            precondition(row >= 0 && row < rows && col >= 0 && col < cols, "Matrix: index out of range")
            return elements[row * cols + col]
        }
        set {
            precondition(row >= 0 && row < rows && col >= 0 && col < cols, "Matrix: index out of range")
            elements[row * cols + col] = newValue
        }
    }

    /// The transpose, `cols × rows`.
    public func transposed() -> Matrix {
        Matrix(rows: cols, cols: rows) { i, j in self[j, i] }
    }

    /// Calls `body` with the row-major elements.
    public func withUnsafeBufferPointer<R>(
        _ body: (UnsafeBufferPointer<Double>) throws -> R
    ) rethrows -> R {
        try elements.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the row-major elements, mutable in place (the shape cannot change).
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Double>) throws -> R
    ) rethrows -> R {
        try elements.withUnsafeMutableBufferPointer { buffer in try body(buffer) }
    }

    /// The matrix product through `BLAS.gemm`.
    public static func * (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.cols == rhs.rows, "Matrix: (\(lhs.rows)×\(lhs.cols)) * (\(rhs.rows)×\(rhs.cols))")
        var product = Matrix(rows: lhs.rows, cols: rhs.cols)
        // An empty array may have no base address; an empty product is all zeros anyway.
        guard lhs.rows > 0, lhs.cols > 0, rhs.cols > 0 else { return product }
        lhs.withUnsafeBufferPointer { a in
            rhs.withUnsafeBufferPointer { b in
                product.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(
                        transposeA: false, transposeB: false, m: lhs.rows, n: rhs.cols, k: lhs.cols,
                        alpha: 1, a: a.baseAddress!, lda: lhs.cols,
                        b: b.baseAddress!, ldb: rhs.cols,
                        beta: 0, c: c.baseAddress!, ldc: rhs.cols)
                }
            }
        }
        return product
    }

    /// The matrix-vector product through `BLAS.gemv`.
    public static func * (lhs: Matrix, rhs: [Double]) -> [Double] {
        precondition(lhs.cols == rhs.count, "Matrix: (\(lhs.rows)×\(lhs.cols)) * vector(\(rhs.count))")
        var product = Array(repeating: 0.0, count: lhs.rows)
        guard lhs.rows > 0, lhs.cols > 0 else { return product }
        lhs.withUnsafeBufferPointer { a in
            rhs.withUnsafeBufferPointer { x in
                product.withUnsafeMutableBufferPointer { y in
                    BLAS.gemv(
                        transpose: false, m: lhs.rows, n: lhs.cols, alpha: 1, a: a.baseAddress!,
                        lda: lhs.cols, x: x.baseAddress!, beta: 0, y: y.baseAddress!)
                }
            }
        }
        return product
    }
}
