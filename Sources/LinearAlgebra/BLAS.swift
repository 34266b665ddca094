import COpenBLAS

/// Thin, shape-checked wrappers over the CBLAS routines the model needs, all row-major.
///
/// The wrappers take raw pointers with explicit leading dimensions so callers can work on views
/// into one flat buffer (a parameter block, a slice of a batch) without copying. A shape that does
/// not fit its buffer is a bug in the caller, so every check is a `precondition`. The calls are not
/// inlined into clients on purpose: C types stay inside this module, and a call costs nothing next
/// to the BLAS routine behind it.
public enum BLAS {
    /// C ← alpha·op(A)·op(B) + beta·C with op(A): (m, k), op(B): (k, n), C: (m, n), row-major.
    ///
    /// `lda`, `ldb` and `ldc` are the row strides of the matrices as stored (before `op`). With
    /// `beta == 0` the old contents of C are ignored, NaNs included.
    ///
    /// Measured on OpenBLAS 0.3.21 (SkylakeX/Cooperlake kernels): the small-matrix path for
    /// untransposed A and B does one internal malloc/free of ≤ 1 KB per call; the transposed
    /// variants allocate nothing. Harmless for speed and determinism, but it is not our allocation.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        // Stored A is (m, k), or (k, m) when transposed; a stored row must fit in lda.
        precondition(lda >= max(1, transposeA ? m : k), "gemm: lda too small")
        precondition(ldb >= max(1, transposeB ? k : n), "gemm: ldb too small")
        precondition(ldc >= max(1, n), "gemm: ldc too small")
        if m == 0 || n == 0 { return }
        cblas_dgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb),
            beta, c, blasInt(ldc))
    }

    /// y ← alpha·op(A)·x + beta·y with A stored (m, n) row-major; op(A) is (n, m) if transposed.
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        x: UnsafePointer<Double>, incx: Int = 1,
        beta: Double, y: UnsafeMutablePointer<Double>, incy: Int = 1
    ) {
        precondition(m >= 0 && n >= 0, "gemv: negative dimension")
        precondition(lda >= max(1, n), "gemv: lda too small")
        precondition(incx > 0 && incy > 0, "gemv: increments must be positive")
        let length = transpose ? n : m
        if m == 0 || n == 0 {
            // No products to add, but y must still become beta·y as the definition says.
            if length > 0 { scal(count: length, alpha: beta, x: y, incx: incy) }
            return
        }
        cblas_dgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, blasInt(m), blasInt(n), alpha,
            a, blasInt(lda), x, blasInt(incx), beta, y, blasInt(incy))
    }

    /// y ← alpha·x + y over `count` elements.
    public static func axpy(
        count: Int, alpha: Double, x: UnsafePointer<Double>, incx: Int = 1,
        y: UnsafeMutablePointer<Double>, incy: Int = 1
    ) {
        precondition(count >= 0 && incx > 0 && incy > 0, "axpy: bad count or increment")
        cblas_daxpy(blasInt(count), alpha, x, blasInt(incx), y, blasInt(incy))
    }

    /// ⟨x, y⟩ over `count` elements.
    public static func dot(
        count: Int, x: UnsafePointer<Double>, incx: Int = 1, y: UnsafePointer<Double>,
        incy: Int = 1
    ) -> Double {
        precondition(count >= 0 && incx > 0 && incy > 0, "dot: bad count or increment")
        return cblas_ddot(blasInt(count), x, blasInt(incx), y, blasInt(incy))
    }

    /// x ← alpha·x over `count` elements.
    public static func scal(
        count: Int, alpha: Double, x: UnsafeMutablePointer<Double>, incx: Int = 1
    ) {
        precondition(count >= 0 && incx > 0, "scal: bad count or increment")
        cblas_dscal(blasInt(count), alpha, x, blasInt(incx))
    }

    /// Sets the number of threads OpenBLAS uses, process-wide.
    ///
    /// One thread is right for the MLP's shapes (a second one makes them slower) and keeps every
    /// result independent of how many workers run at once.
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1")
        openblas_set_num_threads(Int32(clamping: count))
    }

    /// The number of threads OpenBLAS currently uses.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Converts a dimension to CBLAS's 32-bit integer, trapping rather than truncating.
    private static func blasInt(_ value: Int) -> Int32 {
        precondition(value <= Int(Int32.max), "BLAS dimension exceeds 32 bits")
        return Int32(value)
    }
}
