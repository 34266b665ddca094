#include "ProductKernels.h"

// Every sum is the chain OpenBLAS's Haswell kernel forms: acc ← fma(a[i, p], b[p, j], acc) for p
// in order from acc = +0, then one addition onto the base. Nothing may be contracted or
// reassociated around that (the additions onto the base especially).
#pragma clang fp contract(off)

#define INLINE inline __attribute__((always_inline))

/* The largest inner dimension one OpenBLAS Haswell block covers (DGEMM_Q): beyond it OpenBLAS
   adds partial sums of blocks onto C, and so do these kernels. */
enum { max_inner = 256 };

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f")))

int rewind_product_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* c ← base + acc over a tile of R rows and V vectors (acc[r·V + v]): the one addition of each
   chain's sum onto the base. The first `half` vectors are columns of c (and of the bias), the rest
   columns of c2 (and bias2), a paired product's second output (`half` = V in a plain product);
   the last vector of each is masked by `tail`. `base` as in TILE. */
KERNEL static INLINE void store_tile(
    int R, int V, int half, const __m512d *acc, int base, const double *bias, const double *bias2, double *c,
    double *c2, int64_t ldc, __mmask8 tail) {
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) {
            int second = v >= half, w = second ? v - half : v;
            __mmask8 mask = w == half - 1 ? tail : (__mmask8)0xFF;
            double *out = (second ? c2 : c) + r * ldc + 8 * w;
            __m512d start = base == 2   ? _mm512_maskz_loadu_pd(mask, (second ? bias2 : bias) + 8 * w)
                            : base == 1 ? _mm512_maskz_loadu_pd(mask, out)
                                        : _mm512_setzero_pd();
            _mm512_mask_storeu_pd(out, mask, _mm512_add_pd(start, acc[r * V + v]));
        }
}

/* The chains of one tile: acc[r][v] ← Σ_p a(r, p)·b(p, v) in p order from +0, then onto the base.
   b(p, v) is B's row p at vector v: b[p, 8v ..< 8v + 8] for the first HALF vectors, b2's for the
   rest (a paired product; HALF = V in a plain one), the last vector of each masked by `tail`.
   ROW(p) points `ar` at A's values for p and ELEMENT(r) is row r's value there. */
#define CHAINS(R, V, HALF, ROW, ELEMENT)                                                            \
    __m512d acc[R][V];                                                                              \
    for (int r = 0; r < R; r++)                                                                     \
        for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_pd();                                \
    for (int64_t p = 0; p < k; p++) {                                                               \
        __m512d bv[V];                                                                              \
        for (int v = 0; v < V; v++) {                                                               \
            int w = v % (HALF);                                                                     \
            const double *row = (v < (HALF) ? b : b2) + p * ldb + 8 * w;                            \
            bv[v] = w == (HALF) - 1 ? _mm512_maskz_loadu_pd(tail, row) : _mm512_loadu_pd(row);      \
        }                                                                                           \
        ROW(p);                                                                                     \
        for (int r = 0; r < R; r++) {                                                               \
            __m512d av = _mm512_set1_pd(ELEMENT(r));                                                \
            for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_pd(av, bv[v], acc[r][v]);          \
        }                                                                                           \
    }                                                                                               \
    store_tile(R, V, HALF, &acc[0][0], base, bias, bias2, c, c2, ldc, tail);

/* One tile: rows i0..<i0+R of C, columns j0..<j0+8·V (the last vector masked by `tail`):
   c ← base + Σ_p a(i, p)·b[p, j], each sum one FMA chain in p order, where a(i, p) is
   a[i·ai + p·ap] (ai = lda, ap = 1 for A stored (m, k); ai = 1, ap = lda for A stored (k, m)).
   `base` 0: +0; 1: c itself; 2: bias[j]. A `pair` tile (HALF = V/2) takes its second half of
   vectors from b2 into c2 over bias2: the same chains, A read once for both. */
/* A transposed: each p is a new line of A; ask for the one 16 ahead. */
#define STRIDED_ROW(p)                                                                              \
    const double *ar = a + (p) * ap;                                                                \
    if (ap != 1) _mm_prefetch((const char *)(ar + 16 * ap), _MM_HINT_T0)
#define STRIDED_ELEMENT(r) ar[(r) * ai]
#define TILE(FAMILY, R, V, HALF)                                                                    \
    KERNEL static INLINE void FAMILY##_##R##x##V(                                                   \
        int64_t k, const double *a, int64_t ai, int64_t ap, const double *b, const double *b2,        \
        int64_t ldb, int base, const double *bias, const double *bias2, double *c, double *c2,      \
        int64_t ldc, __mmask8 tail) {                                                               \
        CHAINS(R, V, HALF, STRIDED_ROW, STRIDED_ELEMENT)                                            \
    }

/* R·V accumulators: at least eight independent chains (two FMA units, four cycles each) and at
   most 24 registers, leaving room for B's row and the broadcast. */
TILE(tile, 8, 1, 1)
TILE(tile, 6, 2, 2)
TILE(tile, 4, 3, 3)
TILE(tile, 3, 4, 4)
TILE(tile, 1, 1, 1)
TILE(tile, 1, 2, 2)
TILE(tile, 1, 3, 3)
TILE(tile, 1, 4, 4)
TILE(pair_tile, 6, 2, 1)
TILE(pair_tile, 3, 4, 2)
TILE(pair_tile, 1, 2, 1)
TILE(pair_tile, 1, 4, 2)

/* A tile whose A is gathered (`rewind_product`'s offset tables): a(i, p) = a[ri[i] + pk[p]]. The
   chains are TILE's, term for term; only the addresses of A's values differ. */
#define GATHERED_ROW(p) const double *ar = a + pk[p]
#define GATHERED_ELEMENT(r) ar[ro[r]]
#define GATHER_TILE(FAMILY, R, V, HALF)                                                             \
    KERNEL static INLINE void FAMILY##_##R##x##V(                                                   \
        int64_t k, const double *a, const int64_t *ri, const int64_t *pk, const double *b,            \
        const double *b2, int64_t ldb, int base, const double *bias, const double *bias2, double *c, \
        double *c2, int64_t ldc, __mmask8 tail) {                                                   \
        int64_t ro[R];                                                                              \
        for (int r = 0; r < R; r++) ro[r] = ri[r];                                                  \
        CHAINS(R, V, HALF, GATHERED_ROW, GATHERED_ELEMENT)                                          \
    }

GATHER_TILE(gather, 8, 1, 1)
GATHER_TILE(gather, 6, 2, 2)
GATHER_TILE(gather, 4, 3, 3)
GATHER_TILE(gather, 3, 4, 4)
GATHER_TILE(gather, 1, 1, 1)
GATHER_TILE(gather, 1, 2, 2)
GATHER_TILE(gather, 1, 3, 3)
GATHER_TILE(gather, 1, 4, 4)
GATHER_TILE(pair_gather, 6, 2, 1)
GATHER_TILE(pair_gather, 3, 4, 2)
GATHER_TILE(pair_gather, 1, 2, 1)
GATHER_TILE(pair_gather, 1, 4, 2)

/* The last row of a product with an odd number of rows, as OpenBLAS's kernels for a single column
   of its (transposed) C sum it: in the columns of whole groups of four (`grouped` of them from
   this tile's first column), four FMA chains taking p = 0, 1, 2, 3 mod 4 over the largest multiple
   of eight, the rest onto the first chain, then (q0 + q1) + (q2 + q3); in the last n mod 4
   columns one chain. Then onto the base. The row's p-th value is a[pk[p]] when `pk` is given (a
   gathered A), else a[p·a_step] (a_step 1 along a row of A, its row stride down a column). `base`
   as in TILE. */
KERNEL static INLINE void odd_row(
    int64_t k, const double *a, int64_t a_step, const int64_t *pk, const double *b, int64_t ldb, int base,
    const double *bias, double *c, int vectors, __mmask8 tail, int64_t grouped) {
    int64_t whole = k / 8 * 8;
    for (int v = 0; v < vectors; v++) {
        __mmask8 mask = v == vectors - 1 ? tail : (__mmask8)0xFF;
        int64_t inGroups = grouped - 8 * v;
        __mmask8 fourChains = inGroups >= 8 ? (__mmask8)0xFF : inGroups <= 0 ? 0 : (__mmask8)((1u << inGroups) - 1);
        __m512d q[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
        __m512d one = _mm512_setzero_pd();
        int64_t p = 0;
        for (; p < whole; p++) {
            __m512d av = _mm512_set1_pd(pk ? a[pk[p]] : a[p * a_step]), bv = _mm512_maskz_loadu_pd(mask, b + p * ldb + 8 * v);
            q[p % 4] = _mm512_fmadd_pd(av, bv, q[p % 4]);
            one = _mm512_fmadd_pd(av, bv, one);
        }
        for (; p < k; p++) {
            __m512d av = _mm512_set1_pd(pk ? a[pk[p]] : a[p * a_step]), bv = _mm512_maskz_loadu_pd(mask, b + p * ldb + 8 * v);
            q[0] = _mm512_fmadd_pd(av, bv, q[0]);
            one = _mm512_fmadd_pd(av, bv, one);
        }
        __m512d four = _mm512_add_pd(_mm512_add_pd(q[0], q[1]), _mm512_add_pd(q[2], q[3]));
        __m512d sum = _mm512_mask_blend_pd(fourChains, one, four);
        double *out = c + 8 * v;
        __m512d start = base == 2   ? _mm512_maskz_loadu_pd(mask, bias + 8 * v)
                        : base == 1 ? _mm512_maskz_loadu_pd(mask, out)
                                    : _mm512_setzero_pd();
        _mm512_mask_storeu_pd(out, mask, _mm512_add_pd(start, sum));
    }
}

/* One tile of the family at row i of the current columns, by the number of vectors: H8, H6, H4
   and H3 rows for one to four vectors (all 1 for single rows); a paired family has two or four. */
#define TILE_CALL(FAMILY, H8, H6, H4, H3, A_ARGS...)                                                \
    do {                                                                                            \
        double *ci = cj + i * ldc, *c2i = c2j ? c2j + i * ldc : c2j;                                \
        switch (vectors) {                                                                          \
        case 1: FAMILY##_##H8##x1(k, A_ARGS, bj, b2j, ldb, base, biasj, bias2j, ci, c2i, ldc, tail); break; \
        case 2: FAMILY##_##H6##x2(k, A_ARGS, bj, b2j, ldb, base, biasj, bias2j, ci, c2i, ldc, tail); break; \
        case 3: FAMILY##_##H4##x3(k, A_ARGS, bj, b2j, ldb, base, biasj, bias2j, ci, c2i, ldc, tail); break; \
        default: FAMILY##_##H3##x4(k, A_ARGS, bj, b2j, ldb, base, biasj, bias2j, ci, c2i, ldc, tail); break; \
        }                                                                                           \
    } while (0)
#define PAIR_CALL(FAMILY, H6, H3, A_ARGS...)                                                        \
    do {                                                                                            \
        double *ci = cj + i * ldc, *c2i = c2j + i * ldc;                                            \
        if (vectors == 2) FAMILY##_##H6##x2(k, A_ARGS, bj, b2j, ldb, base, biasj, bias2j, ci, c2i, ldc, tail); \
        else FAMILY##_##H3##x4(k, A_ARGS, bj, b2j, ldb, base, biasj, bias2j, ci, c2i, ldc, tail);   \
    } while (0)

/* Rows i..<chained of the current columns through one tile family (`tile` or `gather`): tiles of
   `rows` rows while they fit, then single rows; A_ARGS are the family's A arguments at row i. */
#define ROW_TILES(FAMILY, A_ARGS...)                                                                \
    for (; i + rows <= chained; i += rows) TILE_CALL(FAMILY, 8, 6, 4, 3, A_ARGS);                   \
    for (; i < chained; i++) TILE_CALL(FAMILY, 1, 1, 1, 1, A_ARGS);
#define PAIR_ROW_TILES(FAMILY, A_ARGS...)                                                           \
    for (; i + rows <= chained; i += rows) PAIR_CALL(FAMILY, 6, 3, A_ARGS);                         \
    for (; i < chained; i++) PAIR_CALL(FAMILY, 1, 1, A_ARGS);

/* The last row of the current columns when m is odd, through `odd_row`; `bj`, `biasj` and `cj`
   the columns' B, bias and C, `vectors` wide. */
#define ODD_ROW(bj, biasj, cj, vectors)                                                             \
    do {                                                                                            \
        if (ri)                                                                                     \
            odd_row(k, a + ri[m - 1], 0, pk, bj, ldb, base, biasj, (cj) + (m - 1) * ldc, vectors, tail, \
                n / 4 * 4 - j0);                                                                    \
        else                                                                                        \
            odd_row(k, a + (m - 1) * ai, ap, NULL, bj, ldb, base, biasj, (cj) + (m - 1) * ldc, vectors, tail, \
                n / 4 * 4 - j0);                                                                    \
    } while (0)

/* c ← base + a·b over rows 0..<m, columns 0..<n, k within one OpenBLAS block: a(i, p) = a[i·ai + p·ap]
   as in TILE, or a[ri[i] + pk[p]] when `ri` is given (a gathered A, as in GATHER_TILE). */
KERNEL static void product(
    int64_t m, int64_t n, int64_t k, const double *a, int64_t ai, int64_t ap, const int64_t *ri, const int64_t *pk,
    const double *b, int64_t ldb, int base, const double *bias, double *c, int64_t ldc) {
    for (int64_t j0 = 0; j0 < n; j0 += 32) {
        int64_t columns = n - j0 < 32 ? n - j0 : 32;
        int vectors = (int)((columns + 7) / 8);
        int last = (int)(columns - 8 * (vectors - 1));
        __mmask8 tail = (__mmask8)((1u << last) - 1);
        const double *bj = b + j0, *biasj = bias ? bias + j0 : bias, *b2j = NULL, *bias2j = NULL;
        double *cj = c + j0, *c2j = NULL;
        int rows = vectors == 1 ? 8 : vectors == 2 ? 6 : vectors == 3 ? 4 : 3;
        // Every row but an odd last one is one FMA chain (OpenBLAS takes rows in pairs and more).
        // Switches, not a table of tile pointers: the tiles are inlined here (called through a
        // table, the 16-deep tiles of a conv column gradient ran at 23-26 GFLOP/s instead of 40).
        int64_t chained = m - m % 2, i = 0;
        if (ri) {
            ROW_TILES(gather, a, ri + i, pk)
        } else {
            ROW_TILES(tile, a + i * ai, ai, ap)
        }
        if (m % 2) ODD_ROW(bj, biasj, cj, vectors);
    }
}

/* c ← base + a·b and c2 ← base + a·b2 (bias and bias2 for a base of 2) as two calls of `product`
   would compute them, in one sweep: each tile's chains take up to sixteen columns of each output
   from the same values of A, which is read once for both. */
KERNEL static void paired_product(
    int64_t m, int64_t n, int64_t k, const double *a, int64_t ai, int64_t ap, const int64_t *ri, const int64_t *pk,
    const double *b, const double *b2, int64_t ldb, int base, const double *bias, const double *bias2, double *c,
    double *c2, int64_t ldc) {
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
        int64_t columns = n - j0 < 16 ? n - j0 : 16;
        int half = (int)((columns + 7) / 8), vectors = 2 * half;
        int last = (int)(columns - 8 * (half - 1));
        __mmask8 tail = (__mmask8)((1u << last) - 1);
        const double *bj = b + j0, *b2j = b2 + j0;
        const double *biasj = bias ? bias + j0 : bias, *bias2j = bias2 ? bias2 + j0 : bias2;
        double *cj = c + j0, *c2j = c2 + j0;
        int rows = vectors == 2 ? 6 : 3;
        int64_t chained = m - m % 2, i = 0;
        if (ri) {
            PAIR_ROW_TILES(pair_gather, a, ri + i, pk)
        } else {
            PAIR_ROW_TILES(pair_tile, a + i * ai, ai, ap)
        }
        if (m % 2) {
            ODD_ROW(bj, biasj, cj, half);
            ODD_ROW(b2j, bias2j, c2j, half);
        }
    }
}

/* The length of the block of the inner dimension that starts `done` values into `k`, as OpenBLAS's
   level-3 driver cuts it (GEMM_Q = 256 and GEMM_UNROLL_M = 4 for the Haswell dgemm): whole
   blocks while at least two remain, then the rest in two near halves. */
static int64_t inner_block(int64_t k, int64_t done) {
    int64_t left = k - done;
    if (left >= 2 * max_inner) return max_inner;
    if (left > max_inner) return (left / 2 + 3) / 4 * 4;
    return left;
}

/* c ← base + a·b for one block of the inner dimension (k ≤ max_inner), B stored (n, k) with row
   stride `ldb`: copied a group of 32 columns at a time into a (k, 32) panel on the stack, so that
   its rows are vectors. */
KERNEL static void product_transposed_b(
    int64_t m, int64_t n, int64_t k, const double *a, int64_t ai, int64_t ap, const int64_t *ri, const int64_t *pk,
    const double *b, int64_t ldb, int base, const double *bias, double *c, int64_t ldc) {
    double panel[max_inner * 32];
    for (int64_t j0 = 0; j0 < n; j0 += 32) {
        int64_t columns = n - j0 < 32 ? n - j0 : 32;
        for (int64_t p = 0; p < k; p++)
            for (int64_t j = 0; j < columns; j++) panel[p * 32 + j] = b[(j0 + j) * ldb + p];
        product(m, columns, k, a, ai, ap, ri, pk, panel, 32, base, bias ? bias + j0 : bias, c + j0, ldc);
    }
}

/* Rows i0 ..< i0 + rows of c ← base + A·B for one operand, and of c2 ← base + A·b2 as well when
   `b2` is given (a paired product; B not transposed): the inner dimension in OpenBLAS's blocks,
   each block's sum added onto C, the first onto `base` (bias/bias2 for 2), the rest onto C. */
KERNEL static void operand_rows(
    int64_t i0, int64_t rows, int64_t n, int64_t k, const rewind_product *operand, const double *b2, int base,
    const double *bias, const double *bias2, double *c, double *c2, int64_t ldc) {
    int64_t ai = operand->a_transposed ? 1 : operand->lda, ap = operand->a_transposed ? operand->lda : 1;
    // A gathered A: the table of C's rows and the table of the inner dimension, each from where
    // this block starts.
    const int64_t *rowTable = operand->a_transposed ? operand->column_offsets : operand->row_offsets;
    const int64_t *innerTable = operand->a_transposed ? operand->row_offsets : operand->column_offsets;
    int gathered = operand->row_offsets != NULL;
    int64_t ldb = operand->ldb;
    for (int64_t done = 0; done < k;) {
        int64_t length = inner_block(k, done);
        const double *a = gathered ? operand->a : operand->a + i0 * ai + done * ap;
        const int64_t *ri = gathered ? rowTable + i0 : NULL, *pk = gathered ? innerTable + done : NULL;
        int start = done == 0 ? base : 1;
        if (b2)
            paired_product(rows, n, length, a, ai, ap, ri, pk, operand->b + done * ldb, b2 + done * ldb, ldb, start,
                bias, bias2, c + i0 * ldc, c2 + i0 * ldc, ldc);
        else if (operand->b_transposed)
            product_transposed_b(rows, n, length, a, ai, ap, ri, pk, operand->b + done, ldb, start, bias,
                c + i0 * ldc, ldc);
        else
            product(rows, n, length, a, ai, ap, ri, pk, operand->b + done * ldb, ldb, start, bias, c + i0 * ldc, ldc);
        done += length;
    }
}

/* Rows per pass of both products (see `rewind_products`). */
static int64_t row_block(const rewind_product *first, int64_t m) { return first->a_transposed ? m : 192; }

static int kernels_apply(int64_t m, int64_t n, int64_t k) {
    static int available = -1;
    if (available < 0) available = rewind_product_kernels_available();
    return available && m > 0 && n > 0 && k > 0;
}

int rewind_products(
    int64_t m, int64_t n, int64_t k, const rewind_product *first, const rewind_product *second,
    const double *bias, int32_t accumulate, double *c, int64_t ldc) {
    if (!kernels_apply(m, n, k)) return 0;
    // A block of rows at a time through both products, so that the second adds onto rows of C that
    // are still in cache (an even number, so that only the last block can end on an odd row). A
    // transposed A is read a block of its rows (the inner dimension) at a time by every row of C,
    // so there all rows go at once: A streams through the cache once.
    int64_t block = row_block(first, m);
    int base = bias ? 2 : accumulate ? 1 : 0;
    for (int64_t i0 = 0; i0 < m; i0 += block) {
        int64_t rows = m - i0 < block ? m - i0 : block;
        operand_rows(i0, rows, n, k, first, NULL, base, bias, NULL, c, NULL, ldc);
        if (second) operand_rows(i0, rows, n, k, second, NULL, 1, NULL, NULL, c, NULL, ldc);
    }
    return 1;
}

int rewind_paired_products(
    int64_t m, int64_t n, int64_t k, const rewind_product *first, const double *b2, const rewind_product *second,
    const double *bias, const double *bias2, double *c, double *c2, int64_t ldc) {
    if (!kernels_apply(m, n, k) || first->b_transposed || (bias == NULL) != (bias2 == NULL)) return 0;
    int64_t block = row_block(first, m);
    int base = bias ? 2 : 0;
    for (int64_t i0 = 0; i0 < m; i0 += block) {
        int64_t rows = m - i0 < block ? m - i0 : block;
        operand_rows(i0, rows, n, k, first, b2, base, bias, bias2, c, c2, ldc);
        if (second) operand_rows(i0, rows, n, k, second, NULL, 1, NULL, NULL, c2, NULL, ldc);
    }
    return 1;
}

#else

int rewind_product_kernels_available(void) { return 0; }

int rewind_products(
    int64_t m, int64_t n, int64_t k, const rewind_product *first, const rewind_product *second,
    const double *bias, int32_t accumulate, double *c, int64_t ldc) {
    (void)m, (void)n, (void)k, (void)first, (void)second, (void)bias, (void)accumulate, (void)c, (void)ldc;
    return 0;
}

int rewind_paired_products(
    int64_t m, int64_t n, int64_t k, const rewind_product *first, const double *b2, const rewind_product *second,
    const double *bias, const double *bias2, double *c, double *c2, int64_t ldc) {
    (void)m, (void)n, (void)k, (void)first, (void)b2, (void)second, (void)bias, (void)bias2, (void)c, (void)c2,
        (void)ldc;
    return 0;
}

#endif
