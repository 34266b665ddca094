#ifndef REWIND_BUFFER_KERNELS_H
#define REWIND_BUFFER_KERNELS_H

#include <stdint.h>

/// The information buffer's per-parameter coder step, eight parameters at a time with AVX-512
/// (integer arithmetic only, so the results are those of the scalar Swift kernels bit for bit).
/// The Swift side owns the stacks: the kernels report which parameters move a word, and it moves
/// them. Each returns the sum of the bit lengths of the new states x = high*2^32 + low.

/// Nonzero when this CPU runs the kernels below (AVX-512 F, DQ, CD and VL).
int rewind_buffer_kernels_available(void);

/// Forward step for `count` parameters. For each i with x >= n*2^63 it sets bit i of
/// `emitted` (count/64 rounded up words, cleared by the caller) and stores the old low word in
/// `words[i]`, which the caller pushes.
int64_t rewind_buffer_multiply(
    uint64_t *high, uint32_t *low, int64_t *values, int64_t count, uint64_t n, uint64_t normalized,
    uint64_t reciprocal, int64_t shift, uint64_t *emitted, uint32_t *words);

/// Inverse step for `count` parameters, assuming no word comes back from a stack. For each i whose
/// restored x is below 2^63 it sets bit i of `below` (cleared by the caller): if that parameter's
/// stack is not empty, the caller moves x into `high` and a popped word into `low`. Any quotient
/// beyond the Int64 range sets `*overflow` to nonzero.
int64_t rewind_buffer_divide(
    uint64_t *high, uint32_t *low, int64_t *values, int64_t count, uint64_t n, uint64_t normalized,
    uint64_t reciprocal, int64_t shift, uint64_t *below, uint64_t *overflow);

#endif
