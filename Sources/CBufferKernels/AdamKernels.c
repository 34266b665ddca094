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
static INLINE int64_t adam_forward_range(
    int64_t start, int64_t end, uint64_t *m, uint64_t *v, int64_t *w, double *weights, const double *gradient,
    rewind_coder_tile *first, rewind_coder_tile *second, const rewind_divisor *beta1,
    const rewind_divisor *beta2, const rewind_adam_step *step, int32_t *failure) {
    const u128 mask = 0xffffffff;
    for (int64_t i = start; i < end; i++) {
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

static INLINE int64_t adam_forward(
    int64_t count, uint64_t *m, uint64_t *v, int64_t *w, double *weights, const double *gradient,
    rewind_coder_tile *first, rewind_coder_tile *second, const rewind_divisor *beta1,
    const rewind_divisor *beta2, const rewind_adam_step *step, int32_t *failure) {
    return adam_forward_range(0, count, m, v, w, weights, gradient, first, second, beta1, beta2, step, failure);
}

/* The first loop of AdamAdjoint.reverse. */
static INLINE int64_t adam_undo_update_range(
    int64_t start, int64_t end, const uint64_t *m, const uint64_t *v, int64_t *w, double *weights, const double *dw,
    double *dm, double *dv, const rewind_adam_step *step, double *sums) {
    double d_alpha = sums[0], d_eps = sums[1], d_c1 = sums[2], d_c2 = sums[3];
    const double rate = step->rate, half = step->half;
    for (int64_t i = start; i < end; i++) {
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

static INLINE int64_t adam_undo_update(
    int64_t count, const uint64_t *m, const uint64_t *v, int64_t *w, double *weights, const double *dw, double *dm,
    double *dv, const rewind_adam_step *step, double *sums) {
    return adam_undo_update_range(0, count, m, v, w, weights, dw, dm, dv, step, sums);
}

/* ReversibleAdam.undoMoments and the second loop of AdamAdjoint.reverse. */
static INLINE int64_t adam_undo_moments_range(
    int64_t start, int64_t end, uint64_t *m, uint64_t *v, const double *gradient, rewind_coder_tile *first,
    rewind_coder_tile *second, const rewind_divisor *beta1, const rewind_divisor *beta2,
    const rewind_adam_step *step, double *dm, double *dv, double *direction, double *sums) {
    double d_beta1 = sums[0], d_beta2 = sums[1];
    const double b1 = step->beta1, b2 = step->beta2;
    for (int64_t i = start; i < end; i++) {
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

static INLINE int64_t adam_undo_moments(
    int64_t count, uint64_t *m, uint64_t *v, const double *gradient, rewind_coder_tile *first,
    rewind_coder_tile *second, const rewind_divisor *beta1, const rewind_divisor *beta2,
    const rewind_adam_step *step, double *dm, double *dv, double *direction, double *sums) {
    return adam_undo_moments_range(
        0, count, m, v, gradient, first, second, beta1, beta2, step, dm, dv, direction, sums);
}

// Each kernel twice: for any x86-64, and for CPUs with AVX-512 (F, DQ, CD, VL) and BMI2, where the
// compiler has one-instruction conversions between unsigned 64-bit integers and doubles and
// flag-free shifts and multiplies, and where all three run eight parameters per vector instruction
// (forward_vector, undo_update_vector, undo_moments_vector: the same integer operations lane by
// lane, the same IEEE operations in the same order, sums added lane by lane in parameter order,
// so the same bits).
#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f,avx512dq,avx512cd,avx512vl,bmi2")))
#define WIDE KERNEL
static int wide_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("bmi2");
}

#include "VectorDivision.h"

/* Eight 128-bit values stored as (low, high) word pairs at p, as a vector of low words and one of
   high words, and back. */
KERNEL static INLINE void load8(const uint64_t *p, __m512i *low, __m512i *high) {
    __m512i a = _mm512_loadu_si512(p), b = _mm512_loadu_si512(p + 8);
    *low = _mm512_permutex2var_epi64(a, _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0), b);
    *high = _mm512_permutex2var_epi64(a, _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1), b);
}

KERNEL static INLINE void store8(uint64_t *p, __m512i low, __m512i high) {
    _mm512_storeu_si512(p, _mm512_permutex2var_epi64(low, _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), high));
    _mm512_storeu_si512(p + 8, _mm512_permutex2var_epi64(low, _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4), high));
}

/* (low, high) += (b_low, b_high) modulo 2^128. */
KERNEL static INLINE void add128(__m512i *low, __m512i *high, __m512i b_low, __m512i b_high) {
    __m512i sum = _mm512_add_epi64(*low, b_low);
    __mmask8 carry = _mm512_cmplt_epu64_mask(sum, *low);
    *high = _mm512_mask_add_epi64(_mm512_add_epi64(*high, b_high), carry, _mm512_add_epi64(*high, b_high),
        _mm512_set1_epi64(1));
    *low = sum;
}

/* (low, high) <- -(low, high) modulo 2^128 in the lanes of `negative`. */
KERNEL static INLINE void negate128(__mmask8 negative, __m512i *low, __m512i *high) {
    const __m512i zero = _mm512_setzero_si512();
    __mmask8 borrow = _mm512_test_epi64_mask(*low, *low);
    __m512i high_negated = _mm512_mask_sub_epi64(_mm512_sub_epi64(zero, *high), borrow,
        _mm512_sub_epi64(zero, *high), _mm512_set1_epi64(1));
    *high = _mm512_mask_mov_epi64(*high, negative, high_negated);
    *low = _mm512_mask_sub_epi64(*low, negative, zero, *low);
}

/* AdamVariance.raw of x >= 0: clears the lanes of *ok where x is not finite, negative or too large. */
KERNEL static INLINE void variance_raw8(__m512d x, __mmask8 *ok, __m512i *low, __m512i *high) {
    *ok &= _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_GE_OQ);
    __m512d upper = _mm512_mul_pd(x, _mm512_set1_pd(0x1p36));
    *ok &= _mm512_cmp_pd_mask(upper, _mm512_set1_pd(0x1p56), _CMP_LT_OQ);
    *high = _mm512_cvttpd_epu64(upper);
    __m512d fraction = _mm512_sub_pd(upper, _mm512_cvtepu64_pd(*high));
    *low = _mm512_cvttpd_epu64(_mm512_mul_pd(fraction, _mm512_set1_pd(0x1p64)));
}

/* AdamVariance.value. */
KERNEL static INLINE __m512d variance_value8(__m512i low, __m512i high) {
    return _mm512_add_pd(_mm512_mul_pd(_mm512_cvtepu64_pd(high), _mm512_set1_pd(0x1p-36)),
        _mm512_mul_pd(_mm512_cvtepu64_pd(low), _mm512_set1_pd(0x1p-100)));
}

/* AdamMoment.value. */
KERNEL static INLINE __m512d moment_value8(__m512i low, __m512i high) {
    __mmask8 negative = _mm512_movepi64_mask(high);
    negate128(negative, &low, &high);
    __m512d magnitude = variance_value8(low, high);
    return _mm512_castsi512_pd(_mm512_mask_xor_epi64(_mm512_castpd_si512(magnitude), negative,
        _mm512_castpd_si512(magnitude), _mm512_set1_epi64((int64_t)0x8000000000000000ULL)));
}

/* One moment's decay through its coder for eight parameters (coder_multiply, as
   rewind_buffer_multiply does it): returns the new moment; the coder's new state, emitted mask,
   words and bit lengths are left in the out-parameters for the caller to store. */
KERNEL static INLINE void decay8(const rewind_divisor *d, const rewind_coder_tile *tile, int64_t i, int is_signed,
    __m512i *low, __m512i *high, __m512i *y, __m512i *digit, __m512i *words, __mmask8 *emit) {
    const __m512i vn = _mm512_set1_epi64((int64_t)d->numerator);
    const __m512i low32 = _mm512_set1_epi64(0xffffffff);
    const __m128i vshift = _mm_cvtsi64_si128(d->shift), vback = _mm_cvtsi64_si128(64 - d->shift);
    __m512i h = _mm512_loadu_si512(tile->high + i);
    __m512i l = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(tile->low + i)));
    *emit = _mm512_cmpge_epu64_mask(h, _mm512_set1_epi64((int64_t)(d->numerator << 31)));
    __m512i x1 = _mm512_maskz_srli_epi64((__mmask8)~*emit, h, 32);
    __m512i x0 = _mm512_mask_mov_epi64(_mm512_or_si512(_mm512_slli_epi64(h, 32), l), *emit, h);
    __m512i popped;
    divide8(x1, x0, _mm512_set1_epi64((int64_t)d->normalized), _mm512_set1_epi64((int64_t)d->reciprocal), vshift,
        vback, y, &popped);
    // X = c*n + r < 2^64 for the low word c < 2^32.
    __m512i product = _mm512_add_epi64(_mm512_mul_epu32(_mm512_and_si512(*low, low32), vn), popped);
    *digit = _mm512_and_si512(product, low32);
    *words = l;
    __m512i c = _mm512_srli_epi64(product, 32);
    // (x >> 32)*n + c modulo 2^128, the shift arithmetic for m, logical for v.
    __m512i shifted_low = _mm512_or_si512(_mm512_srli_epi64(*low, 32), _mm512_slli_epi64(*high, 32));
    __m512i shifted_high = is_signed ? _mm512_srai_epi64(*high, 32) : _mm512_srli_epi64(*high, 32);
    __m512i a = _mm512_mul_epu32(shifted_low, vn), b = _mm512_mul_epu32(_mm512_srli_epi64(shifted_low, 32), vn);
    __m512i new_low = _mm512_slli_epi64(b, 32), new_high = _mm512_add_epi64(_mm512_mullo_epi64(shifted_high, vn),
        _mm512_srli_epi64(b, 32));
    add128(&new_low, &new_high, a, _mm512_setzero_si512());
    add128(&new_low, &new_high, c, _mm512_setzero_si512());
    *low = new_low;
    *high = new_high;
}

/* The coder's state and what it emitted, stored for eight parameters. */
KERNEL static INLINE void finish8(rewind_coder_tile *tile, int64_t i, __m512i y, __m512i digit, __m512i words,
    __mmask8 emit) {
    _mm512_storeu_si512(tile->high + i, y);
    _mm256_storeu_si256((__m256i *)(tile->low + i), _mm512_cvtepi64_epi32(digit));
    tile->length += _mm512_reduce_add_epi64(bit_lengths(y, digit));
    if (emit) {
        tile->flags[i / 64] |= (uint64_t)emit << (i % 64);
        _mm256_mask_storeu_epi32(tile->words + i, emit, _mm512_cvtepi64_epi32(words));
    }
}

/* The moments' increments of eight parameters, (1 - beta1)*g truncated toward zero and
   (1 - beta2)*g*g (moment_raw, variance_raw): returns the lanes where both are in range. */
KERNEL static INLINE __mmask8 increments8(
    const rewind_adam_step *step, __m512d g, __m512i *dm_low, __m512i *dm_high, __m512i *dv_low, __m512i *dv_high) {
    __mmask8 ok = 0xff;
    __m512d first_increment = _mm512_mul_pd(_mm512_set1_pd(step->decay1), g);
    __mmask8 negative = _mm512_cmp_pd_mask(first_increment, _mm512_setzero_pd(), _CMP_LT_OQ);
    __m512d magnitude = _mm512_abs_pd(first_increment);
    ok &= _mm512_cmp_pd_mask(magnitude, _mm512_set1_pd(INFINITY), _CMP_LT_OQ);
    variance_raw8(magnitude, &ok, dm_low, dm_high);
    negate128(negative, dm_low, dm_high);
    __m512d second_increment = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(step->decay2), g), g);
    ok &= _mm512_cmp_pd_mask(second_increment, _mm512_set1_pd(INFINITY), _CMP_LT_OQ);
    variance_raw8(second_increment, &ok, dv_low, dv_high);
    return ok;
}

/* (low, high) -= (b_low, b_high) modulo 2^128. */
KERNEL static INLINE void sub128(__m512i *low, __m512i *high, __m512i b_low, __m512i b_high) {
    __mmask8 borrow = _mm512_cmplt_epu64_mask(*low, b_low);
    __m512i difference = _mm512_sub_epi64(*high, b_high);
    *high = _mm512_mask_sub_epi64(difference, borrow, difference, _mm512_set1_epi64(1));
    *low = _mm512_sub_epi64(*low, b_low);
}

/* (x div n, x mod n) for x = x1*2^64 + x0 < n*2^64, eight lanes (divide). */
KERNEL static INLINE void divide_by(const rewind_divisor *d, __m512i x1, __m512i x0, __m512i *q, __m512i *r) {
    divide8(x1, x0, _mm512_set1_epi64((int64_t)d->normalized), _mm512_set1_epi64((int64_t)d->reciprocal),
        _mm_cvtsi64_si128(d->shift), _mm_cvtsi64_si128(64 - d->shift), q, r);
}

/* div_mod, eight lanes: (x div n) as (low, high) in place, x mod n returned. */
KERNEL static INLINE __m512i div_mod8(const rewind_divisor *d, __m512i *low, __m512i *high) {
    __m512i upper, carry, lower, rest;
    divide_by(d, _mm512_setzero_si512(), *high, &upper, &carry);
    divide_by(d, carry, *low, &lower, &rest);
    *low = lower;
    *high = upper;
    return rest;
}

/* (low, high) <- (low, high)*2^32 + c modulo 2^128. */
KERNEL static INLINE void shift_add8(__m512i *low, __m512i *high, __m512i c) {
    *high = _mm512_or_si512(_mm512_slli_epi64(*high, 32), _mm512_srli_epi64(*low, 32));
    *low = _mm512_slli_epi64(*low, 32);
    add128(low, high, c, _mm512_setzero_si512());
}

/* coder_divide of eight values below n (as rewind_buffer_divide does it), stored in the tile;
   returns the restored low words. */
KERNEL static INLINE __m512i undecay8(const rewind_divisor *d, rewind_coder_tile *tile, int64_t i, __m512i value) {
    const __m512i vn = _mm512_set1_epi64((int64_t)d->numerator), low32 = _mm512_set1_epi64(0xffffffff);
    __m512i digit = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(tile->low + i)));
    __m512i x1 = _mm512_srli_epi64(value, 32);
    __m512i x0 = _mm512_or_si512(_mm512_slli_epi64(value, 32), digit);
    __m512i top = _mm512_or_si512(_mm512_slli_epi64(x1, 1), _mm512_srli_epi64(x0, 63));
    __mmask8 large = _mm512_cmpge_epu64_mask(top, vn);
    tile->overflow |= large;
    x1 = _mm512_mask_mov_epi64(x1, large, _mm512_setzero_si512());
    x0 = _mm512_mask_mov_epi64(x0, large, _mm512_setzero_si512());
    __m512i c, r;
    divide_by(d, x1, x0, &c, &r);
    // x = h*n + r < 2^95, as (h_high*n)*2^32 + (h_low*n + r).
    __m512i h = _mm512_loadu_si512(tile->high + i);
    __m512i bottom = _mm512_add_epi64(_mm512_mul_epu32(h, vn), r);
    __m512i upper = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(h, 32), vn), _mm512_srli_epi64(bottom, 32));
    __m512i new_low = _mm512_and_si512(bottom, low32);
    _mm512_storeu_si512(tile->high + i, upper);
    _mm256_storeu_si256((__m256i *)(tile->low + i), _mm512_cvtepi64_epi32(new_low));
    tile->length += _mm512_reduce_add_epi64(bit_lengths(upper, new_low));
    __mmask8 below = _mm512_cmplt_epu64_mask(upper, _mm512_set1_epi64((int64_t)1 << 31));
    tile->flags[i / 64] |= (uint64_t)below << (i % 64);
    return c;
}

/* adam_undo_moments eight parameters at a time; the beta sums are added lane by lane in parameter
   order, as the scalar loop adds them. A group whose gradient has no increment (impossible after
   the forward step) and the tail of a tile go through the scalar loop. */
KERNEL static int64_t undo_moments_vector(
    int64_t count, uint64_t *m, uint64_t *v, const double *gradient, rewind_coder_tile *first,
    rewind_coder_tile *second, const rewind_divisor *beta1, const rewind_divisor *beta2,
    const rewind_adam_step *step, double *dm, double *dv, double *direction, double *sums) {
    int64_t i = 0;
    const double b1 = step->beta1, b2 = step->beta2;
    for (; i + 8 <= count; i += 8) {
        __m512d g = _mm512_loadu_pd(gradient + i);
        __m512i dm_low, dm_high, dv_low, dv_high;
        __mmask8 ok = increments8(step, g, &dm_low, &dm_high, &dv_low, &dv_high);
        if (ok != 0xff) {
            int64_t failed = adam_undo_moments_range(
                i, i + 8, m, v, gradient, first, second, beta1, beta2, step, dm, dv, direction, sums);
            if (failed >= 0) return failed;
            continue;
        }
        // v: subtract the increment, x' = H*n + L' by floor division, the coder divides L'.
        __m512i v_low, v_high;
        load8(v + 2 * i, &v_low, &v_high);
        sub128(&v_low, &v_high, dv_low, dv_high);
        __m512i rest = div_mod8(beta2, &v_low, &v_high);
        shift_add8(&v_low, &v_high, undecay8(beta2, second, i, rest));
        store8(v + 2 * i, v_low, v_high);
        // m likewise, a negative m divided as ~m = -m - 1.
        __m512i m_low, m_high;
        load8(m + 2 * i, &m_low, &m_high);
        sub128(&m_low, &m_high, dm_low, dm_high);
        const __m512i ones = _mm512_set1_epi64(-1);
        __mmask8 below_zero = _mm512_movepi64_mask(m_high);
        m_low = _mm512_mask_xor_epi64(m_low, below_zero, m_low, ones);
        m_high = _mm512_mask_xor_epi64(m_high, below_zero, m_high, ones);
        rest = div_mod8(beta1, &m_low, &m_high);
        rest = _mm512_mask_sub_epi64(
            rest, below_zero, _mm512_set1_epi64((int64_t)beta1->numerator - 1), rest);
        m_low = _mm512_mask_xor_epi64(m_low, below_zero, m_low, ones);
        m_high = _mm512_mask_xor_epi64(m_high, below_zero, m_high, ones);
        shift_add8(&m_low, &m_high, undecay8(beta1, first, i, rest));
        store8(m + 2 * i, m_low, m_high);
        if (!dm) continue;
        __m512d dmv = _mm512_loadu_pd(dm + i), dvv = _mm512_loadu_pd(dv + i);
        double terms1[8], terms2[8];
        _mm512_storeu_pd(terms1, _mm512_mul_pd(dmv, _mm512_sub_pd(moment_value8(m_low, m_high), g)));
        _mm512_storeu_pd(
            terms2, _mm512_mul_pd(dvv, _mm512_sub_pd(variance_value8(v_low, v_high), _mm512_mul_pd(g, g))));
        for (int lane = 0; lane < 8; lane++) {
            sums[0] += terms1[lane];
            sums[1] += terms2[lane];
        }
        __m512d along_m = _mm512_mul_pd(_mm512_set1_pd(1 - b1), dmv);
        __m512d along_v = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(2 * (1 - b2)), g), dvv);
        _mm512_storeu_pd(direction + i, _mm512_add_pd(along_m, along_v));
        _mm512_storeu_pd(dm + i, _mm512_mul_pd(dmv, _mm512_set1_pd(b1)));
        _mm512_storeu_pd(dv + i, _mm512_mul_pd(dvv, _mm512_set1_pd(b2)));
    }
    return adam_undo_moments_range(
        i, count, m, v, gradient, first, second, beta1, beta2, step, dm, dv, direction, sums);
}

/* adam_undo_update eight parameters at a time, the four sums added lane by lane in parameter
   order as the scalar loop adds them; the tail, and a group with an update out of range
   (impossible after the forward step), run the scalar loop. */
KERNEL static int64_t undo_update_vector(
    int64_t count, const uint64_t *m, const uint64_t *v, int64_t *w, double *weights, const double *dw, double *dm,
    double *dv, const rewind_adam_step *step, double *sums) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m512i m_low, m_high, v_low, v_high;
        load8(m + 2 * i, &m_low, &m_high);
        load8(v + 2 * i, &v_low, &v_high);
        __m512d m_hat = _mm512_mul_pd(moment_value8(m_low, m_high), _mm512_set1_pd(step->inverse1));
        __m512d root = _mm512_sqrt_pd(_mm512_mul_pd(variance_value8(v_low, v_high), _mm512_set1_pd(step->inverse2)));
        __m512d denominator = _mm512_add_pd(root, _mm512_set1_pd(step->epsilon));
        __m512d u = _mm512_div_pd(_mm512_mul_pd(_mm512_set1_pd(step->alpha), m_hat), denominator);
        __m512d scaled = _mm512_mul_pd(u, _mm512_set1_pd(0x1p52));
        if (_mm512_cmp_pd_mask(_mm512_abs_pd(scaled), _mm512_set1_pd(0x1p62), _CMP_LT_OQ) != 0xff) {
            int64_t failed = adam_undo_update_range(i, i + 8, m, v, w, weights, dw, dm, dv, step, sums);
            if (failed >= 0) return failed;
            continue;
        }
        __m512i restored = _mm512_add_epi64(_mm512_loadu_si512(w + i), _mm512_cvttpd_epi64(scaled));
        _mm512_storeu_si512(w + i, restored);
        _mm512_storeu_pd(weights + i, _mm512_mul_pd(_mm512_cvtepi64_pd(restored), _mm512_set1_pd(0x1p-52)));
        __m512d a = _mm512_loadu_pd(dw + i);
        __m512d inverse = _mm512_div_pd(_mm512_set1_pd(1), denominator);
        __m512d ratio = _mm512_mul_pd(_mm512_mul_pd(a, u), inverse);
        double alpha_terms[8], ratios[8], c1_terms[8], c2_terms[8];
        _mm512_storeu_pd(alpha_terms, _mm512_mul_pd(_mm512_mul_pd(a, m_hat), inverse));
        _mm512_storeu_pd(ratios, ratio);
        _mm512_storeu_pd(c1_terms, _mm512_mul_pd(a, u));
        _mm512_storeu_pd(c2_terms, _mm512_mul_pd(ratio, root));
        for (int lane = 0; lane < 8; lane++) {
            sums[0] -= alpha_terms[lane];
            sums[1] += ratios[lane];
            sums[2] += c1_terms[lane];
            sums[3] -= c2_terms[lane];
        }
        __m512d dmv = _mm512_loadu_pd(dm + i);
        _mm512_storeu_pd(
            dm + i, _mm512_sub_pd(dmv, _mm512_mul_pd(_mm512_mul_pd(a, _mm512_set1_pd(step->rate)), inverse)));
        __m512d dvv = _mm512_loadu_pd(dv + i);
        __mmask8 positive = _mm512_cmp_pd_mask(root, _mm512_setzero_pd(), _CMP_GT_OQ);
        __m512d step_v = _mm512_div_pd(_mm512_mul_pd(ratio, _mm512_set1_pd(step->half)), root);
        _mm512_storeu_pd(dv + i, _mm512_mask_add_pd(dvv, positive, dvv, step_v));
    }
    return adam_undo_update_range(i, count, m, v, w, weights, dw, dm, dv, step, sums);
}

/* adam_forward eight parameters at a time; a group with any lane out of range goes through the
   scalar loop, which stops at the first failing parameter as the Swift loop does. */
KERNEL static int64_t forward_vector(
    int64_t count, uint64_t *m, uint64_t *v, int64_t *w, double *weights, const double *gradient,
    rewind_coder_tile *first, rewind_coder_tile *second, const rewind_divisor *beta1,
    const rewind_divisor *beta2, const rewind_adam_step *step, int32_t *failure) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m512i m_low, m_high, v_low, v_high, y1, digit1, words1, y2, digit2, words2;
        __mmask8 emit1, emit2;
        load8(m + 2 * i, &m_low, &m_high);
        load8(v + 2 * i, &v_low, &v_high);
        decay8(beta1, first, i, 1, &m_low, &m_high, &y1, &digit1, &words1, &emit1);
        decay8(beta2, second, i, 0, &v_low, &v_high, &y2, &digit2, &words2, &emit2);
        __m512d g = _mm512_loadu_pd(gradient + i);
        __m512i dm_low, dm_high, dv_low, dv_high;
        __mmask8 ok = increments8(step, g, &dm_low, &dm_high, &dv_low, &dv_high);
        add128(&m_low, &m_high, dm_low, dm_high);
        add128(&v_low, &v_high, dv_low, dv_high);
        // |m| < 2^120 and v < 2^120 (neither sum can wrap: both terms are below 2^120).
        const __m512i bound = _mm512_set1_epi64((int64_t)1 << 56);
        ok &= _mm512_cmplt_epi64_mask(m_high, bound) & _mm512_cmplt_epu64_mask(v_high, bound);
        ok &= _mm512_cmpgt_epi64_mask(m_high, _mm512_sub_epi64(_mm512_setzero_si512(), bound))
            | (_mm512_cmpeq_epi64_mask(m_high, _mm512_sub_epi64(_mm512_setzero_si512(), bound))
                & _mm512_test_epi64_mask(m_low, m_low));
        // The update, as `update`: m-hat, the root, alpha*m-hat/(root + epsilon).
        __m512d m_hat = _mm512_mul_pd(moment_value8(m_low, m_high), _mm512_set1_pd(step->inverse1));
        __m512d root = _mm512_sqrt_pd(_mm512_mul_pd(variance_value8(v_low, v_high), _mm512_set1_pd(step->inverse2)));
        __m512d u = _mm512_div_pd(_mm512_mul_pd(_mm512_set1_pd(step->alpha), m_hat),
            _mm512_add_pd(root, _mm512_set1_pd(step->epsilon)));
        __m512d scaled = _mm512_mul_pd(u, _mm512_set1_pd(0x1p52));
        ok &= _mm512_cmp_pd_mask(_mm512_abs_pd(scaled), _mm512_set1_pd(0x1p62), _CMP_LT_OQ);
        __m512i position = _mm512_sub_epi64(_mm512_loadu_si512(w + i), _mm512_cvttpd_epi64(scaled));
        ok &= _mm512_cmplt_epi64_mask(_mm512_abs_epi64(position), _mm512_set1_epi64((int64_t)1 << 62));
        if (ok != 0xff) {
            int64_t failed = adam_forward_range(i, i + 8, m, v, w, weights, gradient, first, second, beta1, beta2,
                step, failure);
            if (failed >= 0) return failed;
            continue;
        }
        store8(m + 2 * i, m_low, m_high);
        store8(v + 2 * i, v_low, v_high);
        finish8(first, i, y1, digit1, words1, emit1);
        finish8(second, i, y2, digit2, words2, emit2);
        _mm512_storeu_si512(w + i, position);
        _mm512_storeu_pd(weights + i, _mm512_mul_pd(_mm512_cvtepi64_pd(position), _mm512_set1_pd(0x1p-52)));
    }
    return adam_forward_range(i, count, m, v, w, weights, gradient, first, second, beta1, beta2, step, failure);
}
#define DISPATCH(name, wide_body, params, args)                                                    \
    WIDE static int64_t name##_wide params { return wide_body args; }                              \
    int64_t rewind_adam_##name params {                                                            \
        static int wide = -1;                                                                      \
        int use = __atomic_load_n(&wide, __ATOMIC_RELAXED);                                        \
        if (use < 0) __atomic_store_n(&wide, use = wide_available(), __ATOMIC_RELAXED);           \
        return use && !step->portable ? name##_wide args : adam_##name args;                       \
    }
#else
#define DISPATCH(name, wide_body, params, args) \
    int64_t rewind_adam_##name params { return adam_##name args; }
#endif

DISPATCH(forward, forward_vector,
    (int64_t count, uint64_t *m, uint64_t *v, int64_t *w, double *weights, const double *gradient,
        rewind_coder_tile *first, rewind_coder_tile *second, const rewind_divisor *beta1,
        const rewind_divisor *beta2, const rewind_adam_step *step, int32_t *failure),
    (count, m, v, w, weights, gradient, first, second, beta1, beta2, step, failure))

DISPATCH(undo_update, undo_update_vector,
    (int64_t count, const uint64_t *m, const uint64_t *v, int64_t *w, double *weights, const double *dw,
        double *dm, double *dv, const rewind_adam_step *step, double *sums),
    (count, m, v, w, weights, dw, dm, dv, step, sums))

DISPATCH(undo_moments, undo_moments_vector,
    (int64_t count, uint64_t *m, uint64_t *v, const double *gradient, rewind_coder_tile *first,
        rewind_coder_tile *second, const rewind_divisor *beta1, const rewind_divisor *beta2,
        const rewind_adam_step *step, double *dm, double *dv, double *direction, double *sums),
    (count, m, v, gradient, first, second, beta1, beta2, step, dm, dv, direction, sums))
