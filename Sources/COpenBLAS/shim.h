#ifndef REWIND_COPENBLAS_SHIM_H
#define REWIND_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS header also declares openblas_set_num_threads / openblas_get_num_threads,
// openblas_get_config and openblas_get_corename.
#include <cblas.h>

// The x86-64 features that decide which OpenBLAS kernel family this CPU can run, so that Rewind
// never asks OpenBLAS for kernels the CPU (or the OS, for the AVX registers) cannot execute.
// Bits: 1 SSE3, 2 AVX, 4 AVX2, 8 FMA. Always 0 elsewhere.
#if defined(__x86_64__)
#include <cpuid.h>
static inline unsigned rewind_x86_features(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    unsigned sse3 = c & 1u, fma = (c >> 12) & 1u, osxsave = (c >> 27) & 1u, avx = (c >> 28) & 1u;
    unsigned ymm = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        ymm = (lo & 6u) == 6u;  // the OS saves XMM and YMM state
    }
    unsigned avx2 = 0;
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        avx2 = (b >> 5) & 1u;
    }
    return sse3 | ((avx & ymm) << 1) | ((avx2 & ymm) << 2) | ((fma & ymm) << 3);
}
#else
static inline unsigned rewind_x86_features(void) { return 0; }
#endif
#endif
