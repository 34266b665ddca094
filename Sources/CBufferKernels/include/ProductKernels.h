#ifndef REWIND_PRODUCT_KERNELS_H
#define REWIND_PRODUCT_KERNELS_H

#include <stdint.h>

/// Matrix products with the bits of the OpenBLAS kernels the project pins (Haswell family) and the
/// work of AVX-512, for the conv layers' shapes (a few filters, patches of tens to hundreds of
/// values, tens of thousands of rows).
///
/// OpenBLAS's Haswell dgemm (α = 1) first sets C to the base (β = 0: zero; β = 1: C), cuts the
/// inner dimension k into blocks (256 values while two blocks or more remain, then the rest in two
/// near halves rounded to fours), and adds each block's sum onto C with one addition. In a block,
/// every element of C in a pair of rows is one chain of fused multiply-adds in k order from zero;
/// a last odd row goes through another kernel that sums in four chains (p mod 4 over the largest
/// multiple of eight, the rest onto the first chain, then (q0 + q1) + (q2 + q3)) in its columns of
/// whole fours, and in one chain in the last n mod 4. These kernels do the same operations in the
/// same order, eight columns per vector instruction, straight from the operands (OpenBLAS first
/// copies both into packed panels, which at these shapes costs it about as much as the
/// arithmetic). `ProductKernelTests` compares them with `cblas_dgemm` bit for bit.

/// Nonzero when this CPU runs `rewind_products` (AVX-512 F).
int rewind_product_kernels_available(void);

/// One operand pair of `rewind_products`: A is (m, k) row-major with row stride `lda`, or, when
/// `a_transposed` is nonzero, stored as (k, m); B is (k, n) row-major with row stride `ldb`, or,
/// when `b_transposed` is nonzero, stored as (n, k).
///
/// A gathered A (`row_offsets` not null; `lda` unused): its stored matrix S, (m, k) or (k, m) as
/// above, is S[q, t] = a[row_offsets[q] + column_offsets[t]], so that a convolution's im2col
/// matrix is read from the (zero-padded) images themselves: row_offsets locates each output
/// position's window, column_offsets each (kernel row, kernel column, channel) within it.
typedef struct {
    const double *a;
    int64_t lda;
    const double *b;
    int64_t ldb;
    int32_t a_transposed;
    int32_t b_transposed;
    const int64_t *row_offsets;
    const int64_t *column_offsets;
} rewind_product;

/// c ← (base + first.A·first.B) + second.A·second.B, c (m, n) with row stride `ldc`, the second
/// product only when `second` is not null; base is `bias[j]` in every row when `bias` is not null,
/// else c itself when `accumulate` is nonzero, else +0. These are the bits of `cblas_dgemm`
/// (α = 1) on the Haswell family called for the first product with β = 1 on C holding the base (or
/// β = 0), then for the second with β = 1.
///
/// Returns 0, having changed nothing, when it does not apply (m, n or k not positive, a CPU without
/// AVX-512): the caller then makes the BLAS calls. Returns 1 when done. Allocates nothing (a
/// transposed B goes through a 64 KiB panel on the stack).
int rewind_products(
    int64_t m, int64_t n, int64_t k, const rewind_product *first, const rewind_product *second,
    const double *bias, int32_t accumulate, double *c, int64_t ldc);

/// The two products of a forward pass and its R-pass (or of a weight gradient and its R-pass) that
/// share their A, in one sweep that reads A once: c ← base + first.A·first.B and
/// c2 ← (base₂ + first.A·b2) + second.A·second.B (the second product onto c2 only, when not null).
/// b2 has first.B's shape and row stride, c2 c's; base is bias and bias2 when both are given, else
/// +0 for both. Each output has exactly the bits `rewind_products` gives it alone.
///
/// Returns 0, having changed nothing, where `rewind_products` would, or when first.B is
/// transposed, or only one bias is given: the caller then makes the single calls.
int rewind_paired_products(
    int64_t m, int64_t n, int64_t k, const rewind_product *first, const double *b2, const rewind_product *second,
    const double *bias, const double *bias2, double *c, double *c2, int64_t ldc);

#endif
