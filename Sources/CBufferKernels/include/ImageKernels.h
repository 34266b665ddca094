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

/// Max pooling's R-forward over the windows `rewind_max_pool` walks: out ← x at each window's
/// route (as it wrote them), times (a > 0 ? 1 : 0) there when `a` is not null (relu's φ' read from
/// its output: the relu's R-forward at the maximum).
void rewind_gather_maxima(
    const double *x, const double *routes, const double *a, double *out, int64_t images, int64_t height, int64_t width,
    int64_t channels, int64_t size);

/// Max pooling's backward step (the adjoint of `rewind_gather_maxima`): below ← 0 + the gradient
/// of each window's output at its route, times (a > 0 ? 1 : 0) there when `a` is not null (relu's
/// backward step too), and +0 everywhere else; every value of `below` written once. With
/// `gradient2` and `below2` (both or neither) the same for a second gradient over the same routes
/// (the R-backward's R{δ}) in the same pass.
void rewind_unpool_maxima(
    const double *gradient, const double *gradient2, const double *routes, const double *a, double *below,
    double *below2, int64_t images, int64_t height, int64_t width, int64_t channels, int64_t size);

#endif
