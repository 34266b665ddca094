#ifndef REWIND_VECTOR_DIVISION_H
#define REWIND_VECTOR_DIVISION_H

// Eight-lane AVX-512 integer helpers shared by the buffer's kernels (BufferKernels.c) and Adam's
// (AdamKernels.c). Include after <immintrin.h> with KERNEL defined as the target attribute.

/* High 64 bits of the 128-bit product of a and b, from four 32x32 products. */
KERNEL static inline __m512i mulhi_epu64(__m512i a, __m512i b) {
    const __m512i low32 = _mm512_set1_epi64(0xffffffff);
    __m512i ah = _mm512_srli_epi64(a, 32), bh = _mm512_srli_epi64(b, 32);
    __m512i ll = _mm512_mul_epu32(a, b), lh = _mm512_mul_epu32(a, bh);
    __m512i hl = _mm512_mul_epu32(ah, b), hh = _mm512_mul_epu32(ah, bh);
    __m512i mid = _mm512_add_epi64(_mm512_srli_epi64(ll, 32), _mm512_and_si512(lh, low32));
    mid = _mm512_add_epi64(mid, _mm512_and_si512(hl, low32));
    __m512i high = _mm512_add_epi64(hh, _mm512_srli_epi64(lh, 32));
    high = _mm512_add_epi64(high, _mm512_srli_epi64(hl, 32));
    return _mm512_add_epi64(high, _mm512_srli_epi64(mid, 32));
}

/* (x div n, x mod n) for x = u1*2^64 + u0 < n*2^64 (Moller-Granlund, as the Swift Divisor). */
KERNEL static inline void divide8(
    __m512i x1, __m512i x0, __m512i normalized, __m512i reciprocal, __m128i shift, __m128i back,
    __m512i *quotient, __m512i *remainder) {
    __m512i u1 = _mm512_or_si512(_mm512_sll_epi64(x1, shift), _mm512_srl_epi64(x0, back));
    __m512i u0 = _mm512_sll_epi64(x0, shift);
    __m512i plow = _mm512_mullo_epi64(reciprocal, u1);
    __m512i phigh = mulhi_epu64(reciprocal, u1);
    __m512i q0 = _mm512_add_epi64(plow, u0);
    __mmask8 carry = _mm512_cmplt_epu64_mask(q0, plow);
    const __m512i one = _mm512_set1_epi64(1);
    __m512i q = _mm512_add_epi64(_mm512_add_epi64(phigh, u1), one);
    q = _mm512_mask_add_epi64(q, carry, q, one);
    __m512i r = _mm512_sub_epi64(u0, _mm512_mullo_epi64(q, normalized));
    __mmask8 large = _mm512_cmpgt_epu64_mask(r, q0);
    q = _mm512_mask_sub_epi64(q, large, q, one);
    r = _mm512_mask_add_epi64(r, large, r, normalized);
    __mmask8 small = _mm512_cmpge_epu64_mask(r, normalized);
    q = _mm512_mask_add_epi64(q, small, q, one);
    r = _mm512_mask_sub_epi64(r, small, r, normalized);
    *quotient = q;
    *remainder = _mm512_srl_epi64(r, shift);
}

/* Sum over lanes of the bit length of high*2^32 + low. */
KERNEL static inline __m512i bit_lengths(__m512i high, __m512i low) {
    __m512i fromHigh = _mm512_sub_epi64(_mm512_set1_epi64(96), _mm512_lzcnt_epi64(high));
    __m512i fromLow = _mm512_sub_epi64(_mm512_set1_epi64(64), _mm512_lzcnt_epi64(low));
    __mmask8 zero = _mm512_cmpeq_epu64_mask(high, _mm512_setzero_si512());
    return _mm512_mask_mov_epi64(fromHigh, zero, fromLow);
}

#endif
