#ifndef REWIND_IMAGE_KERNELS_H
#define REWIND_IMAGE_KERNELS_H

#include <stdint.h>

/// The image layers' elementwise passes with AVX-512, eight values per instruction: compares,
/// selects and copies only, so each gives the bits of the Swift loop it stands in for
/// (`rectify` and `maxPool` in Network+ImageKernels.swift; `ImageKernelTests` compares them).

/// Nonzero when this CPU runs the kernels below (AVX-512 F).
int rewind_image_kernels_available(void);

/// out[i] = z[i] > 0 ? z[i] : +0 (NaN is not above 0).
void rewind_rectify(const double *z, double *out, int64_t count);

/// Max pooling of `images` NHWC images of (height, width, channels) over size × size windows
/// (stride size) into (height / size, width / size, channels): out ← each window's maximum,
/// routes ← the index within its image of the first maximum in row-major window order (a value
/// replaces the maximum only when it compares above it), as a double.
void rewind_max_pool(
    const double *x, double *out, double *routes, int64_t images, int64_t height, int64_t width, int64_t channels,
    int64_t size);

/// Max pooling's R-forward: for each of `images` images and each of its `outCount` outputs,
/// out ← x[route] (`routes` as `rewind_max_pool` writes them: an index into the image's `inCount`
/// values, as a double), times (a[route] > 0 ? 1 : 0) when `a` is not null (relu's φ' read from
/// its output: the relu's R-forward at the maximum).
void rewind_gather_maxima(
    const double *x, const double *routes, const double *a, double *out, int64_t images, int64_t inCount,
    int64_t outCount);

#endif
