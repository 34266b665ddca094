import CBufferKernels
import LinearAlgebra

/// The layers' matrix products, c ← (base + op(A₁)·op(B₁)) + op(A₂)·op(B₂), with the bits of the
/// `BLAS.gemm` calls that define them, computed by `rewind_products` where it applies and by
/// those calls elsewhere.
///
/// OpenBLAS's Haswell kernels (the family the project pins) sum each element as one FMA chain per
/// block of 256 inner values, adding each block's sum onto C (an odd last row in four chains);
/// `rewind_products` does the same operations in the same order with AVX-512, straight from the
/// operands instead of packed copies of them and with the bias and a second product fused in,
/// 1.4–2.5× faster at LeNet's shapes. It runs only where OpenBLAS runs the Haswell family, so
/// whichever runs gives the same bits;
/// `ProductKernelTests` holds the two to that over random shapes, layouts, strides and bases.
public enum ShortProducts {
    /// One product's operands: A (m, k) with row stride `lda`, or stored (k, m) when
    /// `aTransposed`; B (k, n) with row stride `ldb`, or stored (n, k) when `transposed`.
    public struct Operand {
        public var a: UnsafePointer<Double>
        public var lda: Int
        public var b: UnsafePointer<Double>
        public var ldb: Int
        public var aTransposed = false
        public var transposed = false
        /// A gathered A (kernels only; `lda` unused): A's stored matrix S, (m, k) or (k, m), is
        /// S[q, t] = a[rows[q] + columns[t]]: a convolution's im2col matrix read from its padded
        /// images (`ImageGather`), without being written out.
        public var gather: (rows: UnsafePointer<Int64>, columns: UnsafePointer<Int64>)?

        public init(
            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int, aTransposed: Bool = false,
            transposed: Bool = false, gather: (rows: UnsafePointer<Int64>, columns: UnsafePointer<Int64>)? = nil
        ) {
            (self.a, self.lda, self.b, self.ldb, self.aTransposed, self.transposed, self.gather) = (
                a, lda, b, ldb, aTransposed, transposed, gather
            )
        }
    }

    /// What the first product is added to.
    public enum Base {
        /// +0 (β = 0).
        case zero
        /// C's own values (β = 1).
        case accumulate
        /// A row of n values in every row of C (a bias).
        case bias(UnsafePointer<Double>)
    }

    /// Whether `rewind_products` runs here: AVX-512, and OpenBLAS on the Haswell family whose bits
    /// it reproduces.
    public static let kernelsApply = rewind_product_kernels_available() != 0 && BLASKernel.loadedFamily == "Haswell"

    /// c ← (base + first.a·op(first.b)) + second.a·op(second.b), c (m, n) with row stride `ldc`.
    /// `useKernels: false` runs the BLAS calls (for the tests and `rewind bench-products`).
    public static func run(
        m: Int, n: Int, k: Int, _ first: Operand, plus second: Operand? = nil, base: Base,
        into c: UnsafeMutablePointer<Double>, ldc: Int, useKernels: Bool = true
    ) {
        if useKernels && kernelsApply
            && viaKernels(m: m, n: n, k: k, first, plus: second, base: base, into: c, ldc: ldc)
        {
            return
        }
        precondition(
            first.gather == nil && second?.gather == nil, "ShortProducts: a gathered operand needs the kernels")
        var beta = 1.0
        switch base {
        case .zero: beta = 0
        case .accumulate: break
        case .bias(let row):
            // A few values per row (a conv layer's filters): a plain loop, not a memmove per row.
            for i in 0..<m {
                let target = c + i * ldc
                for j in 0..<n { target[j] = row[j] }
            }
        }
        BLAS.gemm(
            transposeA: first.aTransposed, transposeB: first.transposed, m: m, n: n, k: k, alpha: 1, a: first.a,
            lda: first.lda,
            b: first.b, ldb: first.ldb, beta: beta, c: c, ldc: ldc)
        if let second {
            BLAS.gemm(
                transposeA: second.aTransposed, transposeB: second.transposed, m: m, n: n, k: k, alpha: 1, a: second.a,
                lda: second.lda, b: second.b, ldb: second.ldb, beta: 1, c: c, ldc: ldc)
        }
    }

    /// What a paired product's two outputs start from: +0, or one bias row each.
    public enum PairedBase {
        case zero
        case biases(UnsafePointer<Double>, UnsafePointer<Double>)
    }

    /// c ← base₁ + first.a·first.b and c2 ← (base₂ + first.a·b2) + second.a·op(second.b): a pass's
    /// product and its R-pass's, which share A (the layer's input, or its im2col matrix), in one
    /// sweep that reads A once and runs twice the columns per tile (`rewind_paired_products`).
    /// Each output has the bits of `run` called for it alone, which is what runs where the
    /// kernels do not. b2 has first.b's shape and row stride, c2 c's; first.b is not transposed.
    public static func runPaired(
        m: Int, n: Int, k: Int, _ first: Operand, pairedWith b2: UnsafePointer<Double>, plus second: Operand? = nil,
        base: PairedBase, into c: UnsafeMutablePointer<Double>, pairedInto c2: UnsafeMutablePointer<Double>,
        ldc: Int, useKernels: Bool = true
    ) {
        precondition(!first.transposed, "ShortProducts.runPaired: first.b is transposed")
        if useKernels && kernelsApply {
            var one = operand(first)
            var biases: (UnsafePointer<Double>?, UnsafePointer<Double>?) = (nil, nil)
            if case .biases(let b, let bPaired) = base { biases = (b, bPaired) }
            let done =
                if let second {
                    withUnsafePointer(to: operand(second)) {
                        rewind_paired_products(
                            Int64(m), Int64(n), Int64(k), &one, b2, $0, biases.0, biases.1, c, c2, Int64(ldc))
                    }
                } else {
                    rewind_paired_products(
                        Int64(m), Int64(n), Int64(k), &one, b2, nil, biases.0, biases.1, c, c2, Int64(ldc))
                }
            if done != 0 { return }
        }
        var paired = first
        paired.b = b2
        let (base1, base2): (Base, Base) =
            switch base {
            case .zero: (.zero, .zero)
            case .biases(let b, let bPaired): (.bias(b), .bias(bPaired))
            }
        run(m: m, n: n, k: k, first, base: base1, into: c, ldc: ldc, useKernels: useKernels)
        run(m: m, n: n, k: k, paired, plus: second, base: base2, into: c2, ldc: ldc, useKernels: useKernels)
    }

    private static func operand(_ o: Operand) -> rewind_product {
        rewind_product(
            a: o.a, lda: Int64(o.lda), b: o.b, ldb: Int64(o.ldb), a_transposed: o.aTransposed ? 1 : 0,
            b_transposed: o.transposed ? 1 : 0, row_offsets: o.gather?.rows, column_offsets: o.gather?.columns)
    }

    private static func viaKernels(
        m: Int, n: Int, k: Int, _ first: Operand, plus second: Operand?, base: Base,
        into c: UnsafeMutablePointer<Double>, ldc: Int
    ) -> Bool {
        var one = operand(first)
        var bias: UnsafePointer<Double>?
        var accumulate: Int32 = 0
        switch base {
        case .zero: break
        case .accumulate: accumulate = 1
        case .bias(let row): bias = row
        }
        if let second {
            var two = operand(second)
            return rewind_products(Int64(m), Int64(n), Int64(k), &one, &two, bias, accumulate, c, Int64(ldc)) != 0
        }
        return rewind_products(Int64(m), Int64(n), Int64(k), &one, nil, bias, accumulate, c, Int64(ldc)) != 0
    }
}
