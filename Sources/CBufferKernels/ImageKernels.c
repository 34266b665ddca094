#include "ImageKernels.h"

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f")))

int rewind_image_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

KERNEL void rewind_rectify(const double *z, double *out, int64_t count) {
    const __m512d zero = _mm512_setzero_pd();
    for (int64_t i = 0; i < count; i += 8) {
        __mmask8 lanes = count - i >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (count - i)) - 1);
        __m512d v = _mm512_maskz_loadu_pd(lanes, z + i);
        __mmask8 positive = _mm512_cmp_pd_mask(v, zero, _CMP_GT_OQ);
        _mm512_mask_storeu_pd(out + i, lanes, _mm512_maskz_mov_pd(positive, v));
    }
}

KERNEL void rewind_max_pool(
    const double *x, double *out, double *routes, int64_t images, int64_t height, int64_t width, int64_t channels,
    int64_t size) {
    int64_t outHeight = height / size, outWidth = width / size, imageCount = height * width * channels;
    const __m512d lane = _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0);
    for (int64_t b = 0; b < images; b++) {
        const double *image = x + b * imageCount;
        for (int64_t oy = 0; oy < outHeight; oy++)
            for (int64_t ox = 0; ox < outWidth; ox++) {
                int64_t corner = (oy * size * width + ox * size) * channels;
                for (int64_t c = 0; c < channels; c += 8) {
                    __mmask8 lanes = channels - c >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (channels - c)) - 1);
                    __m512d maximum = _mm512_maskz_loadu_pd(lanes, image + corner + c);
                    __m512d best = _mm512_add_pd(_mm512_set1_pd((double)(corner + c)), lane);
                    for (int64_t dy = 0; dy < size; dy++)
                        for (int64_t dx = 0; dx < size; dx++) {
                            if (dy == 0 && dx == 0) continue;
                            int64_t at = corner + (dy * width + dx) * channels + c;
                            __m512d v = _mm512_maskz_loadu_pd(lanes, image + at);
                            __mmask8 above = _mm512_cmp_pd_mask(v, maximum, _CMP_GT_OQ);
                            maximum = _mm512_mask_mov_pd(maximum, above, v);
                            best = _mm512_mask_mov_pd(best, above, _mm512_add_pd(_mm512_set1_pd((double)at), lane));
                        }
                    _mm512_mask_storeu_pd(out, lanes, maximum);
                    _mm512_mask_storeu_pd(routes, lanes, best);
                    int64_t written = channels - c >= 8 ? 8 : channels - c;
                    out += written;
                    routes += written;
                }
            }
    }
}

KERNEL void rewind_gather_maxima(
    const double *x, const double *routes, const double *a, double *out, int64_t images, int64_t inCount,
    int64_t outCount) {
    // A route is a whole number below 2^52: adding 2^52 puts it in the low bits of the mantissa.
    const __m512d shift = _mm512_set1_pd(4503599627370496.0);
    const __m512i shiftBits = _mm512_castpd_si512(shift);
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    for (int64_t b = 0; b < images; b++) {
        const double *image = x + b * inCount, *activations = a ? a + b * inCount : a;
        for (int64_t o = 0; o < outCount; o += 8) {
            __mmask8 lanes = outCount - o >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (outCount - o)) - 1);
            __m512d route = _mm512_maskz_loadu_pd(lanes, routes + o);
            __m512i index = _mm512_sub_epi64(_mm512_castpd_si512(_mm512_add_pd(route, shift)), shiftBits);
            __m512d value = _mm512_mask_i64gather_pd(zero, lanes, index, image, 8);
            if (activations) {
                __m512d activation = _mm512_mask_i64gather_pd(zero, lanes, index, activations, 8);
                __mmask8 positive = _mm512_cmp_pd_mask(activation, zero, _CMP_GT_OQ);
                value = _mm512_mul_pd(value, _mm512_mask_mov_pd(zero, positive, one));
            }
            _mm512_mask_storeu_pd(out + o, lanes, value);
        }
        routes += outCount;
        out += outCount;
    }
}

#else

int rewind_image_kernels_available(void) { return 0; }

void rewind_rectify(const double *z, double *out, int64_t count) { (void)z, (void)out, (void)count; }

void rewind_max_pool(
    const double *x, double *out, double *routes, int64_t images, int64_t height, int64_t width, int64_t channels,
    int64_t size) {
    (void)x, (void)out, (void)routes, (void)images, (void)height, (void)width, (void)channels, (void)size;
}

void rewind_gather_maxima(
    const double *x, const double *routes, const double *a, double *out, int64_t images, int64_t inCount,
    int64_t outCount) {
    (void)x, (void)routes, (void)a, (void)out, (void)images, (void)inCount, (void)outCount;
}

#endif
