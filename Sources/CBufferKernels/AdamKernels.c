#include "AdamKernels.h"

#include <math.h>

// Each function below is the Swift reference path it names, operation for operation: the
// fixed-point conversions of AdamFixedPoint.swift and FixedPoint.swift, the coder steps of
// InformationBuffer+SegmentCoder.swift, the divisions of InformationBuffer+Divisor.swift, and the
// loops of ReversibleAdam.swift and ReversibleAdamTrainer.swift. Floating-point expressions keep
// the Swift code's association (left to right) and contraction into FMA is off, so every lane of
// every CPU gets the Swift path's bits; ReversibleAdamKernelTests compares the two bit for bit.

#pragma clang fp contract(off)

#define INLINE inline __attribute__((always_inline))

typedef unsigned __int128 u128;
typedef __int128 i128;

static const u128 raw_limit = (u128)1 << 120;

static INLINE u128 load(const uint64_t *p) { return (u128)p[1] << 64 | p[0]; }

static INLINE void store(uint64_t *p, u128 x) {
    p[0] = (uint64_t)x;
    p[1] = (uint64_t)(x >> 64);
}

/* (x div n, x mod n) for x < n*2^64 (InformationBuffer.Divisor.divide). */
static INLINE uint64_t divide(const rewind_divisor *d, u128 x, uint64_t *remainder) {
    u128 shifted = x << d->shift;
    uint64_t u1 = (uint64_t)(shifted >> 64), u0 = (uint64_t)shifted;
    u128 product = (u128)d->reciprocal * u1;
    uint64_t low = (uint64_t)product, high = (uint64_t)(product >> 64);
    uint64_t q0 = low + u0;
    uint64_t quotient = high + u1 + (q0 < low ? 1 : 0) + 1;
    uint64_t rest = u0 - quotient * d->normalized;
    if (rest > q0) {
        quotient -= 1;
        rest += d->normalized;
    }
    if (rest >= d->normalized) {
        quotient += 1;
        rest -= d->normalized;
    }
    *remainder = rest >> d->shift;
    return quotient;
}

/* AdamVariance.divMod(_:by:): two 128-by-64-bit steps. */
static INLINE u128 div_mod(const rewind_divisor *d, u128 x, uint64_t *remainder) {
    uint64_t carry;
    uint64_t upper = divide(d, x >> 64, &carry);
    uint64_t lower = divide(d, (u128)carry << 64 | (uint64_t)x, remainder);
    return (u128)upper << 64 | lower;
}

/* AdamMoment.floorDivMod(_:by:). */
static INLINE i128 floor_div_mod(const rewind_divisor *d, i128 x, uint64_t *remainder) {
    int negative = x < 0;
    uint64_t rest;
    u128 quotient = div_mod(d, (u128)(negative ? ~x : x), &rest);
    *remainder = negative ? d->numerator - 1 - rest : rest;
    return negative ? ~(i128)quotient : (i128)quotient;
}

/* AdamVariance.raw: 0 when x is not finite, negative or out of range (*ok cleared). */
static INLINE u128 variance_raw(double x, int *ok) {
    if (!isfinite(x) || !(x >= 0)) {
        *ok = 0;
        return 0;
    }
    double upper = x * 0x1p36;
    if (!(upper < 0x1p56)) {
        *ok = 0;
        return 0;
    }
    uint64_t high = (uint64_t)upper;
    uint64_t low = (uint64_t)((upper - (double)high) * 0x1p64);
    return (u128)high << 64 | low;
}

/* AdamMoment.raw. */
static INLINE i128 moment_raw(double x, int *ok) {
    u128 magnitude = variance_raw(fabs(x), ok);
    if (*ok && !(magnitude < raw_limit)) *ok = 0;
    if (!*ok) return 0;
    return x < 0 ? -(i128)magnitude : (i128)magnitude;
}

/* AdamVariance.value. */
static INLINE double variance_value(u128 raw) {
    return (double)(uint64_t)(raw >> 64) * 0x1p-36 + (double)(uint64_t)raw * 0x1p-100;
}

/* AdamMoment.value. */
static INLINE double moment_value(i128 raw) {
    return raw < 0 ? -variance_value((u128)0 - (u128)raw) : variance_value((u128)raw);
}

/* FixedPoint.raw. */
static INLINE int64_t fixed_raw(double x, int *ok) {
    if (!isfinite(x)) {
        *ok = 0;
        return 0;
    }
    double scaled = x * 0x1p52;
    if (!(fabs(scaled) < 0x1p62)) {
        *ok = 0;
        return 0;
    }
    return (int64_t)scaled;
}

static INLINE double fixed_value(int64_t raw) { return (double)raw * 0x1p-52; }

/* SegmentCoder.bitLength. */
static INLINE int64_t bit_length(uint64_t high, uint32_t low) {
    return high != 0 ? 96 - __builtin_clzll(high) : (low != 0 ? 32 - __builtin_clz(low) : 0);
}

/* ReversibleAdam.update: m-hat, the root and the update u = alpha*m-hat/(root + epsilon). */
static INLINE double update(const rewind_adam_step *s, i128 m, u128 v, double *m_hat, double *root) {
    *m_hat = moment_value(m) * s->inverse1;
    *root = sqrt(variance_value(v) * s->inverse2);
    return s->alpha * *m_hat / (*root + s->epsilon);
}

/* The coder's multiply (SegmentCoder.multiplyTile) of a value c in [0, 2^32): pop base n from
   x, X = c*n + r, push X mod 2^32; returns X div 2^32. X < 2^64: no carry. */
static INLINE uint64_t coder_multiply(
    rewind_coder_tile *tile, int64_t i, const rewind_divisor *d, uint64_t c) {
    uint64_t h = tile->high[i];
    uint32_t l = tile->low[i];
    int emit = h >= d->numerator << 31;
    u128 x = emit ? (u128)h : (u128)h << 32 | l;
    uint64_t popped;
    uint64_t y = divide(d, x, &popped);
    uint64_t product = c * d->numerator + popped;
    uint32_t digit = (uint32_t)product;
    tile->high[i] = y;
    tile->low[i] = digit;
    tile->length += bit_length(y, digit);
    if (emit) {
        tile->flags[i / 64] |= (uint64_t)1 << (i % 64);
        tile->words[i] = l;
    }
    return product >> 32;
}

/* The coder's divide (SegmentCoder.divideTile, as its vector kernel leaves it) of a value c' in
   [0, 2^32): (c, r) = divmod(c'*2^32 + digit, n), x <- (x div 2^32)*n + r; flags a state that
   fell below 2^63, for the caller to pop a word into. Returns c. */
static INLINE uint64_t coder_divide(rewind_coder_tile *tile, int64_t i, const rewind_divisor *d, uint64_t value) {
    u128 x = (u128)value << 32 | tile->low[i];
    int too_large = (uint64_t)(x >> 63) >= d->numerator;
    tile->overflow |= too_large;
    uint64_t remainder;
    uint64_t c = divide(d, too_large ? 0 : x, &remainder);
    u128 state = (u128)tile->high[i] * d->numerator + remainder;
    uint64_t high = (uint64_t)(state >> 32);
    uint32_t low = (uint32_t)state;
    tile->high[i] = high;
    tile->low[i] = low;
    tile->length += bit_length(high, low);
    if (state < (u128)1 << 63) tile->flags[i / 64] |= (uint64_t)1 << (i % 64);
    return c;
}

/* ReversibleAdam.forward, the moments and the weight of one parameter at a time. */
static INLINE int64_t adam_forward(
    int64_t count, uint64_t *m, uint64_t *v, int64_t *w, double *weights, const double *gradient,
    rewind_coder_tile *first, rewind_coder_tile *second, const rewind_divisor *beta1,
    const rewind_divisor *beta2, const rewind_adam_step *step, int32_t *failure) {
    const u128 mask = 0xffffffff;
    for (int64_t i = 0; i < count; i++) {
        // m <- beta1*m and v <- beta2*v: the coder multiplies the low word, the rest is
        // multiplied whole (m >> 32 is the floor, so the low word is never negative).
        i128 mi = (i128)load(m + 2 * i);
        uint64_t c1 = coder_multiply(first, i, beta1, (uint64_t)((u128)mi & mask));
        mi = (i128)((u128)(mi >> 32) * beta1->numerator + c1);
        u128 vi = load(v + 2 * i);
        uint64_t c2 = coder_multiply(second, i, beta2, (uint64_t)(vi & mask));
        vi = (vi >> 32) * beta2->numerator + c2;
        double g = gradient[i];
        int ok = 1;
        i128 dm = moment_raw(step->decay1 * g, &ok);
        u128 dv = ok ? variance_raw(step->decay2 * g * g, &ok) : 0;
        if (!ok) {
            *failure = 1;
            return i;
        }
        i128 updatedM = (i128)((u128)mi + (u128)dm);
        u128 updatedV = vi + dv;
        u128 magnitude = updatedM < 0 ? (u128)0 - (u128)updatedM : (u128)updatedM;
        if (!(magnitude < raw_limit) || updatedV < vi || !(updatedV < raw_limit)) {
            *failure = 2;
            return i;
        }
        store(m + 2 * i, (u128)updatedM);
        store(v + 2 * i, updatedV);
        double m_hat, root;
        int64_t decrement = fixed_raw(update(step, updatedM, updatedV, &m_hat, &root), &ok);
        if (!ok) {
            *failure = 3;
            return i;
        }
        int64_t position = w[i] - decrement;
        if (!((uint64_t)(position < 0 ? -position : position) < (uint64_t)1 << 62)) {
            *failure = 4;
            return i;
        }
        w[i] = position;
        weights[i] = fixed_value(position);
    }
    return -1;
}

/* The first loop of AdamAdjoint.reverse. */
static INLINE int64_t adam_undo_update(
    int64_t count, const uint64_t *m, const uint64_t *v, int64_t *w, double *weights, const double *dw, double *dm,
    double *dv, const rewind_adam_step *step, double *sums) {
    double d_alpha = sums[0], d_eps = sums[1], d_c1 = sums[2], d_c2 = sums[3];
    const double rate = step->rate, half = step->half;
    for (int64_t i = 0; i < count; i++) {
        double m_hat, root;
        double u = update(step, (i128)load(m + 2 * i), load(v + 2 * i), &m_hat, &root);
        double denominator = root + step->epsilon;
        int ok = 1;
        int64_t increment = fixed_raw(u, &ok);
        if (!ok) return i;
        int64_t restored = w[i] + increment;
        w[i] = restored;
        weights[i] = fixed_value(restored);
        double a = dw[i], inverse = 1 / denominator;
        double ratio = a * u * inverse;
        d_alpha -= a * m_hat * inverse;
        d_eps += ratio;
        d_c1 += a * u;
        d_c2 -= ratio * root;
        dm[i] -= a * rate * inverse;
        if (root > 0) dv[i] += ratio * half / root;
    }
    sums[0] = d_alpha;
    sums[1] = d_eps;
    sums[2] = d_c1;
    sums[3] = d_c2;
    return -1;
}

/* ReversibleAdam.undoMoments and the second loop of AdamAdjoint.reverse. */
static INLINE int64_t adam_undo_moments(
    int64_t count, uint64_t *m, uint64_t *v, const double *gradient, rewind_coder_tile *first,
    rewind_coder_tile *second, const rewind_divisor *beta1, const rewind_divisor *beta2,
    const rewind_adam_step *step, double *dm, double *dv, double *direction, double *sums) {
    double d_beta1 = sums[0], d_beta2 = sums[1];
    const double b1 = step->beta1, b2 = step->beta2;
    for (int64_t i = 0; i < count; i++) {
        double g = gradient[i];
        int ok = 1;
        u128 dvi = variance_raw(step->decay2 * g * g, &ok);
        i128 dmi = ok ? moment_raw(step->decay1 * g, &ok) : 0;
        if (!ok) return i;
        // x' = H*n + L' with L' < n: floor division recovers both; then the coder divides L'.
        uint64_t rest;
        u128 high = div_mod(beta2, load(v + 2 * i) - dvi, &rest);
        u128 vi = (high << 32) + coder_divide(second, i, beta2, rest);
        store(v + 2 * i, vi);
        i128 upper = floor_div_mod(beta1, (i128)((u128)load(m + 2 * i) - (u128)dmi), &rest);
        i128 mi = (i128)(((u128)upper << 32) + coder_divide(first, i, beta1, rest));
        store(m + 2 * i, (u128)mi);
        if (!dm) continue;
        d_beta1 += dm[i] * (moment_value(mi) - g);
        d_beta2 += dv[i] * (variance_value(vi) - g * g);
        direction[i] = (1 - b1) * dm[i] + 2 * (1 - b2) * g * dv[i];
        dm[i] *= b1;
        dv[i] *= b2;
    }
    sums[0] = d_beta1;
    sums[1] = d_beta2;
    return -1;
}

// Each kernel twice: for any x86-64, and for CPUs with AVX-512 (F, DQ, VL) and BMI2, where the
// compiler has one-instruction conversions between unsigned 64-bit integers and doubles and
// flag-free shifts and multiplies. The same operations on the same values, so the same bits;
// only the instructions the compiler may pick differ.
#if defined(__x86_64__) && defined(__clang__)
#define WIDE __attribute__((target("avx512f,avx512dq,avx512vl,bmi2")))
static int wide_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2");
}
#define DISPATCH(name, params, args)                                                               \
    WIDE static int64_t name##_wide params { return adam_##name args; }                            \
    int64_t rewind_adam_##name params {                                                            \
        static int wide = -1;                                                                      \
        int use = __atomic_load_n(&wide, __ATOMIC_RELAXED);                                        \
        if (use < 0) __atomic_store_n(&wide, use = wide_available(), __ATOMIC_RELAXED);           \
        return use && !step->portable ? name##_wide args : adam_##name args;                       \
    }
#else
#define DISPATCH(name, params, args) \
    int64_t rewind_adam_##name params { return adam_##name args; }
#endif

DISPATCH(forward,
    (int64_t count, uint64_t *m, uint64_t *v, int64_t *w, double *weights, const double *gradient,
        rewind_coder_tile *first, rewind_coder_tile *second, const rewind_divisor *beta1,
        const rewind_divisor *beta2, const rewind_adam_step *step, int32_t *failure),
    (count, m, v, w, weights, gradient, first, second, beta1, beta2, step, failure))

DISPATCH(undo_update,
    (int64_t count, const uint64_t *m, const uint64_t *v, int64_t *w, double *weights, const double *dw,
        double *dm, double *dv, const rewind_adam_step *step, double *sums),
    (count, m, v, w, weights, dw, dm, dv, step, sums))

DISPATCH(undo_moments,
    (int64_t count, uint64_t *m, uint64_t *v, const double *gradient, rewind_coder_tile *first,
        rewind_coder_tile *second, const rewind_divisor *beta1, const rewind_divisor *beta2,
        const rewind_adam_step *step, double *dm, double *dv, double *direction, double *sums),
    (count, m, v, gradient, first, second, beta1, beta2, step, dm, dv, direction, sums))
