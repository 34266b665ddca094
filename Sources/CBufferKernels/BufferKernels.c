#include "BufferKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f,avx512dq,avx512cd,avx512vl")))

int rewind_buffer_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vl");
}

#include "VectorDivision.h"

KERNEL int64_t rewind_buffer_multiply(
    uint64_t *high, uint32_t *low, int64_t *values, int64_t count, uint64_t n, uint64_t normalized,
    uint64_t reciprocal, int64_t shift, uint64_t *emitted, uint32_t *words) {
    const __m512i vn = _mm512_set1_epi64((int64_t)n), vd = _mm512_set1_epi64((int64_t)normalized);
    const __m512i vr = _mm512_set1_epi64((int64_t)reciprocal);
    const __m512i threshold = _mm512_set1_epi64((int64_t)(n << 31));
    const __m512i low32 = _mm512_set1_epi64(0xffffffff);
    const __m128i vshift = _mm_cvtsi64_si128(shift), vback = _mm_cvtsi64_si128(64 - shift);
    __m512i lengths = _mm512_setzero_si512();
    for (int64_t i = 0; i < count; i += 8) {
        __mmask8 lanes = count - i >= 8 ? 0xff : (__mmask8)((1u << (count - i)) - 1);
        __m512i h = _mm512_maskz_loadu_epi64(lanes, high + i);
        __m512i l = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(lanes, low + i));
        __m512i c = _mm512_maskz_loadu_epi64(lanes, values + i);
        __mmask8 emit = _mm512_cmpge_epu64_mask(h, threshold) & lanes;
        // x = h*2^32 + l, or h alone when a word leaves: as x1*2^64 + x0.
        __m512i x1 = _mm512_maskz_srli_epi64((__mmask8)~emit, h, 32);
        __m512i x0 = _mm512_mask_mov_epi64(_mm512_or_si512(_mm512_slli_epi64(h, 32), l), emit, h);
        __m512i y, popped;
        divide8(x1, x0, vd, vr, vshift, vback, &y, &popped);
        // X = c*n + r = (c_high*n)*2^32 + (c_low*n + r); the second term stays below 2^64.
        __m512i bottom = _mm512_add_epi64(_mm512_mul_epu32(c, vn), popped);
        // c_high*n with c_high signed and n up to 2^32 - 1: unsigned, then minus n*2^32 if c < 0
        // (all modulo 2^64, which holds the true result).
        __m512i top = _mm512_mul_epu32(_mm512_srli_epi64(c, 32), vn);
        top = _mm512_mask_sub_epi64(top, _mm512_movepi64_mask(c), top, _mm512_slli_epi64(vn, 32));
        __m512i digit = _mm512_and_si512(bottom, low32);
        c = _mm512_add_epi64(top, _mm512_srli_epi64(bottom, 32));
        _mm512_mask_storeu_epi64(values + i, lanes, c);
        _mm512_mask_storeu_epi64(high + i, lanes, y);
        _mm256_mask_storeu_epi32(low + i, lanes, _mm512_cvtepi64_epi32(digit));
        lengths = _mm512_add_epi64(lengths, _mm512_maskz_mov_epi64(lanes, bit_lengths(y, digit)));
        if (emit) {
            emitted[i / 64] |= (uint64_t)emit << (i % 64);
            _mm256_mask_storeu_epi32(words + i, emit, _mm512_cvtepi64_epi32(l));
        }
    }
    return _mm512_reduce_add_epi64(lengths);
}

KERNEL int64_t rewind_buffer_divide(
    uint64_t *high, uint32_t *low, int64_t *values, int64_t count, uint64_t n, uint64_t normalized,
    uint64_t reciprocal, int64_t shift, uint64_t *below, uint64_t *overflow) {
    const __m512i vn = _mm512_set1_epi64((int64_t)n), vd = _mm512_set1_epi64((int64_t)normalized);
    const __m512i vr = _mm512_set1_epi64((int64_t)reciprocal);
    const __m512i low32 = _mm512_set1_epi64(0xffffffff), ones = _mm512_set1_epi64(-1);
    const __m512i limit = _mm512_set1_epi64((int64_t)1 << 63);
    const __m128i vshift = _mm_cvtsi64_si128(shift), vback = _mm_cvtsi64_si128(64 - shift);
    __m512i lengths = _mm512_setzero_si512();
    __mmask8 overflowed = 0;
    for (int64_t i = 0; i < count; i += 8) {
        __mmask8 lanes = count - i >= 8 ? 0xff : (__mmask8)((1u << (count - i)) - 1);
        __m512i h = _mm512_maskz_loadu_epi64(lanes, high + i);
        __m512i digit = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(lanes, low + i));
        __m512i c = _mm512_maskz_loadu_epi64(lanes, values + i);
        // X = c*2^32 + digit; a negative X is divided as ~X = -X - 1 >= 0.
        __mmask8 negative = _mm512_movepi64_mask(c);
        __m512i magnitude = _mm512_mask_xor_epi64(c, negative, c, ones);
        __m512i bits = _mm512_mask_xor_epi64(digit, negative, digit, low32);
        __m512i x1 = _mm512_srli_epi64(magnitude, 32);
        __m512i x0 = _mm512_or_si512(_mm512_slli_epi64(magnitude, 32), bits);
        // A quotient of 2^63 or more does not fit: X >> 63 >= n. Divide zero instead.
        __m512i top = _mm512_or_si512(_mm512_slli_epi64(x1, 1), _mm512_srli_epi64(x0, 63));
        __mmask8 large = _mm512_cmpge_epu64_mask(top, vn) & lanes;
        overflowed |= large;
        x1 = _mm512_mask_mov_epi64(x1, large, _mm512_setzero_si512());
        x0 = _mm512_mask_mov_epi64(x0, large, _mm512_setzero_si512());
        __m512i q, r;
        divide8(x1, x0, vd, vr, vshift, vback, &q, &r);
        q = _mm512_mask_xor_epi64(q, negative, q, ones);
        r = _mm512_mask_sub_epi64(r, negative, _mm512_sub_epi64(vn, _mm512_set1_epi64(1)), r);
        _mm512_mask_storeu_epi64(values + i, lanes, q);
        // x = h*n + r < 2^95, as (h_high*n)*2^32 + (h_low*n + r).
        __m512i bottom = _mm512_add_epi64(_mm512_mul_epu32(h, vn), r);
        __m512i upper = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(h, 32), vn), _mm512_srli_epi64(bottom, 32));
        // x = upper*2^32 + low32(bottom): high = upper, low = low32(bottom).
        __m512i newLow = _mm512_and_si512(bottom, low32);
        _mm512_mask_storeu_epi64(high + i, lanes, upper);
        _mm256_mask_storeu_epi32(low + i, lanes, _mm512_cvtepi64_epi32(newLow));
        lengths = _mm512_add_epi64(lengths, _mm512_maskz_mov_epi64(lanes, bit_lengths(upper, newLow)));
        // x < 2^63 <=> upper < 2^31.
        __mmask8 small = _mm512_cmplt_epu64_mask(upper, _mm512_srli_epi64(limit, 32)) & lanes;
        if (small) below[i / 64] |= (uint64_t)small << (i % 64);
    }
    *overflow |= overflowed;
    return _mm512_reduce_add_epi64(lengths);
}

#else

int rewind_buffer_kernels_available(void) { return 0; }

int64_t rewind_buffer_multiply(
    uint64_t *high, uint32_t *low, int64_t *values, int64_t count, uint64_t n, uint64_t normalized,
    uint64_t reciprocal, int64_t shift, uint64_t *emitted, uint32_t *words) {
    return -1;
}

int64_t rewind_buffer_divide(
    uint64_t *high, uint32_t *low, int64_t *values, int64_t count, uint64_t n, uint64_t normalized,
    uint64_t reciprocal, int64_t shift, uint64_t *below, uint64_t *overflow) {
    return -1;
}

#endif
