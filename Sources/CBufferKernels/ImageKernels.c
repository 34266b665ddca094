#include "ImageKernels.h"

#include <string.h>

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
    const double *x, const double *routes, const double *a, double *out, int64_t images, int64_t height, int64_t width,
    int64_t channels, int64_t size) {
    // Window by window as `rewind_max_pool` walks them: each slot's values are taken where the
    // route names the slot (a vector compare per slot, contiguous loads: gathers are slower here).
    int64_t outHeight = height / size, outWidth = width / size, imageCount = height * width * channels;
    const __m512d lane = _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0), zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1);
    for (int64_t b = 0; b < images; b++) {
        const double *image = x + b * imageCount, *activations = a ? a + b * imageCount : a;
        for (int64_t oy = 0; oy < outHeight; oy++)
            for (int64_t ox = 0; ox < outWidth; ox++) {
                int64_t corner = (oy * size * width + ox * size) * channels;
                for (int64_t c = 0; c < channels; c += 8) {
                    __mmask8 lanes = channels - c >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (channels - c)) - 1);
                    __m512d route = _mm512_maskz_loadu_pd(lanes, routes);
                    __m512d value = zero;
                    for (int64_t dy = 0; dy < size; dy++)
                        for (int64_t dx = 0; dx < size; dx++) {
                            int64_t at = corner + (dy * width + dx) * channels + c;
                            __mmask8 hit = _mm512_mask_cmp_pd_mask(
                                lanes, route, _mm512_add_pd(_mm512_set1_pd((double)at), lane), _CMP_EQ_OQ);
                            __m512d slot = _mm512_maskz_loadu_pd(hit, image + at);
                            if (activations) {
                                __m512d activation = _mm512_maskz_loadu_pd(hit, activations + at);
                                __mmask8 positive = _mm512_cmp_pd_mask(activation, zero, _CMP_GT_OQ);
                                slot = _mm512_mul_pd(slot, _mm512_mask_mov_pd(zero, positive, one));
                            }
                            value = _mm512_mask_mov_pd(value, hit, slot);
                        }
                    _mm512_mask_storeu_pd(out, lanes, value);
                    int64_t written = channels - c >= 8 ? 8 : channels - c;
                    out += written;
                    routes += written;
                }
            }
    }
}

/* The unpooling of images that fit in a core's cache: zero the images, then store each value at
   its route (the same bits as the pass below, with fewer instructions). */
static void unpool_by_scatter(
    const double *gradient, const double *gradient2, const double *routes, const double *a, double *below,
    double *below2, int64_t images, int64_t imageCount, int64_t outCount) {
    memset(below, 0, (size_t)(images * imageCount) * sizeof(double));
    if (below2) memset(below2, 0, (size_t)(images * imageCount) * sizeof(double));
    for (int64_t b = 0; b < images; b++)
        for (int64_t o = 0; o < outCount; o++) {
            int64_t slot = b * outCount + o, at = b * imageCount + (int64_t)routes[slot];
            double factor = a ? (a[at] > 0 ? 1.0 : 0.0) : 1.0;
            below[at] = a ? (0 + gradient[slot]) * factor : 0 + gradient[slot];
            if (below2) below2[at] = a ? (0 + gradient2[slot]) * factor : 0 + gradient2[slot];
        }
}

KERNEL void rewind_unpool_maxima(
    const double *gradient, const double *gradient2, const double *routes, const double *a, double *below,
    double *below2, int64_t images, int64_t height, int64_t width, int64_t channels, int64_t size) {
    int64_t outHeight = height / size, outWidth = width / size, imageCount = height * width * channels;
    // Images beyond about half a core's L2 cache (LeNet's first conv layer: 627,200 values a batch)
    // go window by window: each slot gets its output's value where the route names it and +0
    // elsewhere, every value written once and in order, instead of a zeroing pass whose lines
    // have left the cache before the scattered stores come back to them (1.4-1.6x faster there;
    // in cache the scatter is 1.5x faster).
    if (images * imageCount * (below2 ? 2 : 1) * (int64_t)sizeof(double) < ((int64_t)1 << 20)) {
        unpool_by_scatter(
            gradient, gradient2, routes, a, below, below2, images, imageCount, outHeight * outWidth * channels);
        return;
    }
    // The rows and columns no window covers are zeroed first.
    const __m512d lane = _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0), zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1);
    int ragged = height % size != 0 || width % size != 0;
    for (int64_t b = 0; b < images; b++) {
        const double *activations = a ? a + b * imageCount : a;
        double *image = below + b * imageCount, *image2 = below2 ? below2 + b * imageCount : below2;
        if (ragged) {
            for (int64_t i = 0; i < imageCount; i++) image[i] = 0;
            if (image2)
                for (int64_t i = 0; i < imageCount; i++) image2[i] = 0;
        }
        for (int64_t oy = 0; oy < outHeight; oy++)
            for (int64_t ox = 0; ox < outWidth; ox++) {
                int64_t corner = (oy * size * width + ox * size) * channels;
                for (int64_t c = 0; c < channels; c += 8) {
                    __mmask8 lanes = channels - c >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (channels - c)) - 1);
                    __m512d route = _mm512_maskz_loadu_pd(lanes, routes);
                    // 0 + δ, as the zeroed buffer plus the scattered value gave it.
                    __m512d value = _mm512_add_pd(zero, _mm512_maskz_loadu_pd(lanes, gradient));
                    __m512d value2 = gradient2 ? _mm512_add_pd(zero, _mm512_maskz_loadu_pd(lanes, gradient2)) : zero;
                    for (int64_t dy = 0; dy < size; dy++)
                        for (int64_t dx = 0; dx < size; dx++) {
                            int64_t at = corner + (dy * width + dx) * channels + c;
                            __mmask8 hit = _mm512_mask_cmp_pd_mask(
                                lanes, route, _mm512_add_pd(_mm512_set1_pd((double)at), lane), _CMP_EQ_OQ);
                            __m512d slot = value, slot2 = value2;
                            if (activations) {
                                __m512d activation = _mm512_maskz_loadu_pd(lanes, activations + at);
                                __m512d factor = _mm512_mask_mov_pd(
                                    zero, _mm512_cmp_pd_mask(activation, zero, _CMP_GT_OQ), one);
                                slot = _mm512_mul_pd(slot, factor);
                                slot2 = _mm512_mul_pd(slot2, factor);
                            }
                            _mm512_mask_storeu_pd(image + at, lanes, _mm512_maskz_mov_pd(hit, slot));
                            if (image2) _mm512_mask_storeu_pd(image2 + at, lanes, _mm512_maskz_mov_pd(hit, slot2));
                        }
                    int64_t written = channels - c >= 8 ? 8 : channels - c;
                    routes += written;
                    gradient += written;
                    if (gradient2) gradient2 += written;
                }
            }
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
    const double *x, const double *routes, const double *a, double *out, int64_t images, int64_t height, int64_t width,
    int64_t channels, int64_t size) {
    (void)x, (void)routes, (void)a, (void)out, (void)images, (void)height, (void)width, (void)channels, (void)size;
}

void rewind_unpool_maxima(
    const double *gradient, const double *gradient2, const double *routes, const double *a, double *below,
    double *below2, int64_t images, int64_t height, int64_t width, int64_t channels, int64_t size) {
    (void)gradient, (void)gradient2, (void)routes, (void)a, (void)below, (void)below2, (void)images, (void)height,
        (void)width, (void)channels, (void)size;
}

#endif
