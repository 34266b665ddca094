#ifndef REWIND_ADAM_KERNELS_H
#define REWIND_ADAM_KERNELS_H

#include <stdint.h>

/// Adam's per-parameter work, one pass per direction over up to one tile of parameters: the
/// moments' coder steps, their increments and the weight update forward; the moments' decoder
/// steps and the adjoint recurrences backward. A transcription of the Swift reference path of
/// `ReversibleAdam` and `AdamAdjoint` (Sources/Learning/Optimizers): integer arithmetic for the
/// fixed-point parts and the coders, IEEE + - * / and sqrt in the Swift code's order for the rest,
/// FMA contraction off, so the results are the Swift path's bits on every CPU. Where the CPU has
/// AVX-512 (F, DQ, CD, VL) and BMI2 each runs eight parameters per instruction, the same operations
/// lane by lane and every sum added in parameter order: the same bits again.
///
/// m and v are 128-bit integers stored as two 64-bit words, the low word first (Swift's `Int128`
/// and `UInt128` on a little-endian machine).

/// Division by a fixed 32-bit n (`InformationBuffer.Divisor`): n, n << shift, the reciprocal.
typedef struct rewind_divisor {
    uint64_t numerator;
    uint64_t normalized;
    uint64_t reciprocal;
    int64_t shift;
} rewind_divisor;

/// One tile of an information buffer's coders as a kernel steps it (`InformationBuffer`): the
/// state registers x = high*2^32 + low of its parameters, in place, and what the Swift side does
/// afterwards with the stacks, which it owns.
typedef struct rewind_coder_tile {
    uint64_t *high;
    uint32_t *low;
    /// Forward: the word parameter i pushes, where bit i of `flags` is set.
    uint32_t *words;
    /// Forward: bit i when parameter i pushes `words[i]`. Backward: bit i when parameter i's
    /// restored state is below 2^63 (a word comes back from its stack if it has one).
    uint64_t flags[2];
    /// Sum over the tile's parameters of the bit lengths of the new states.
    int64_t length;
    /// Backward: nonzero when a quotient left the Int64 range (a divide that undoes no multiply).
    uint64_t overflow;
} rewind_coder_tile;

/// The scalars of one iteration and block.
typedef struct rewind_adam_step {
    /// 1 - beta1 and 1 - beta2 as applied (the rationals' values).
    double decay1, decay2;
    /// beta1 and beta2 as applied.
    double beta1, beta2;
    /// alpha, 1/c1, 1/c2 (the bias corrections' reciprocals) and epsilon.
    double alpha, inverse1, inverse2, epsilon;
    /// alpha/c1 and 1/(2*c2), the adjoint's per-block factors.
    double rate, half;
    /// Nonzero: the build for any x86-64 even where the CPU has AVX-512 and BMI2 (the same bits;
    /// for tests).
    int32_t portable;
} rewind_adam_step;

/// The forward step of `count` parameters (at most 128): m <- beta1*m and v <- beta2*v through the
/// two coders, the rounded increments added, w moved by the rounded update. Returns -1, or the
/// index of the first parameter that failed with `*failure` set to 1 (gradient not finite or too
/// large), 2 (a moment out of range), 3 (the update out of range) or 4 (w out of range); the
/// parameters after it are untouched.
int64_t rewind_adam_forward(
    int64_t count, uint64_t *m, uint64_t *v, int64_t *w, double *weights, const double *gradient,
    rewind_coder_tile *first, rewind_coder_tile *second, const rewind_divisor *beta1,
    const rewind_divisor *beta2, const rewind_adam_step *step, int32_t *failure);

/// The reverse pass's first half for `count` parameters: from the new m and v, the update's
/// adjoints (sums[0..3] += alpha-bar, epsilon-bar, c1-bar, c2-bar terms, in parameter order; dm
/// and dv updated) and w restored by the same rounded update. Returns -1, or the index of a
/// parameter whose update is out of range (impossible after a forward step).
int64_t rewind_adam_undo_update(
    int64_t count, const uint64_t *m, const uint64_t *v, int64_t *w, double *weights, const double *dw, double *dm,
    double *dv, const rewind_adam_step *step, double *sums);

/// The reverse pass's second half for `count` parameters (at most 128), given the gradient at the
/// restored w: the moments' increments subtracted, their decays undone through the coders, then
/// sums[0..1] += the beta1-bar and beta2-bar terms, the Hessian-vector product's direction, and
/// dm <- beta1*dm, dv <- beta2*dv. Returns -1, or the index of a parameter whose gradient has no
/// increment (impossible after a forward step with the same gradient). With `dm` NULL it only
/// undoes the moments (dv, direction and sums unused).
int64_t rewind_adam_undo_moments(
    int64_t count, uint64_t *m, uint64_t *v, const double *gradient, rewind_coder_tile *first,
    rewind_coder_tile *second, const rewind_divisor *beta1, const rewind_divisor *beta2,
    const rewind_adam_step *step, double *dm, double *dv, double *direction, double *sums);

#endif
