#include "ActivationKernels.h"

// A line-by-line transcription of PortableMath.tanh (PortableMath+Activations.swift) and the high
// part of PortableMath.expParts (PortableMath.swift) into four-lane AVX2 vectors. Every operation
// is an IEEE add, subtract, multiply, divide, compare or bit operation, evaluated in the Swift
// code's order; contraction into FMA is switched off, so each lane gets the Swift lane's bits.
// PortableMathTests compares the two over every branch and special value.

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#pragma clang fp contract(off)

#define KERNEL __attribute__((target("avx2")))

int rewind_activation_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));
typedef unsigned long long v4u __attribute__((vector_size(32)));

#define SPLAT(x) ((v4d){(x), (x), (x), (x)})

static inline KERNEL v4d blend(v4i mask, v4d yes, v4d no) {
    return (v4d)(((v4i)yes & mask) | ((v4i)no & ~mask));
}

static inline KERNEL v4d near_zero(v4d a) {
    v4d s = a * a;
    v4d q = SPLAT(-0x1.f5fd5e537f1c0p-24);
    q = q * s + 0x1.0c032920efec0p-20;
    q = q * s - 0x1.27960d9f2ee5dp-18;
    q = q * s + 0x1.d680d195123ecp-17;
    q = q * s - 0x1.3eab444ae6febp-15;
    q = q * s + 0x1.93c8d99be8b7fp-14;
    q = q * s - 0x1.f4fe265c2c1f9p-13;
    q = q * s + 0x1.354fa65076b81p-11;
    q = q * s - 0x1.7da295b09b3cdp-10;
    q = q * s + 0x1.d6d3c3556fa2ap-9;
    q = q * s - 0x1.226e3513e2b13p-7;
    q = q * s + 0x1.664f4880d13c7p-6;
    q = q * s - 0x1.ba1ba1ba14dcep-5;
    q = q * s + 0x1.11111111110c6p-3;
    q = q * s - 0x1.5555555555555p-2;
    return a + a * (s * q);
}

static inline KERNEL v4d exp_tail(v4d r) {
    v4d s = SPLAT(0x1.61bfa26897079p-33);
    s = s * r + 0x1.1f7f20380f743p-29;
    s = s * r + 0x1.ae642c871071fp-26;
    s = s * r + 0x1.27e4d41d518c8p-22;
    s = s * r + 0x1.71de3a5aa6f3ap-19;
    s = s * r + 0x1.a01a01a9e81b0p-16;
    s = s * r + 0x1.a01a01a0196aep-13;
    s = s * r + 0x1.6c16c16c15a6cp-10;
    s = s * r + 0x1.1111111111111p-7;
    s = s * r + 0x1.5555555555557p-5;
    s = s * r + 0x1.5555555555555p-3;
    return s * r + 0x1.0000000000000p-1;
}

static inline KERNEL v4d power2(v4i k) { return (v4d)(((v4u)k + 1023) << 52); }

/// PortableMath.exp: the high part of expParts.
static inline KERNEL v4d portable_exp(v4d x) {
    const double shifter = 0x1.8p52;
    v4d xc = blend(x > 720, SPLAT(720), x);
    xc = blend(xc < -760, SPLAT(-760), xc);
    v4d shifted = xc * 0x1.71547652b82fep+0 + shifter;
    v4d kd = shifted - shifter;
    v4d hi = xc - kd * 0x1.62e42fee00000p-1;
    v4d lo = kd * 0x1.a39ef35793c76p-33;
    v4d r = hi - lo;
    v4d tail = r * r * exp_tail(r) - lo;
    v4d p = hi + tail;
    v4d y = 1 + p;
    v4i k = (v4i)shifted - (v4i)SPLAT(shifter);
    v4i k1 = k >> 1;
    v4d scale1 = power2(k1), scale2 = power2(k - k1);
    return y * scale1 * scale2;
}

static inline KERNEL v4d away(v4d a) {
    v4d clamped = blend(a > 20, SPLAT(20), a);
    v4d e = portable_exp(clamped + clamped);
    return 1 - 2 / (e + 1);
}

static inline KERNEL v4d portable_tanh(v4d x) {
    const v4i signBit = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
    v4i sign = (v4i)x & signBit;
    v4d a = (v4d)((v4i)x & ~signBit);
    v4i near = a < 0.9;
    int mask = _mm256_movemask_pd((__m256d)near);
    v4d result;
    if (mask == 0xF) {
        result = near_zero(a);
    } else if (mask == 0) {
        result = away(a);
    } else {
        result = blend(near, near_zero(a), away(a));
    }
    return (v4d)((v4i)result | sign);
}

KERNEL void rewind_tanh_forward(double *z, double *derivative, int64_t count) {
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        v4d x;
        __builtin_memcpy(&x, z + i, sizeof x);
        v4d a = portable_tanh(x);
        v4d d = 1 - a * a;
        __builtin_memcpy(z + i, &a, sizeof a);
        __builtin_memcpy(derivative + i, &d, sizeof d);
    }
    if (i < count) {
        // The tail padded with zeros, as PortableMath.forEachVector pads it.
        double lanes[4] = {0, 0, 0, 0};
        for (int64_t j = i; j < count; j++) lanes[j - i] = z[j];
        v4d x;
        __builtin_memcpy(&x, lanes, sizeof x);
        v4d a = portable_tanh(x);
        v4d d = 1 - a * a;
        for (int64_t j = i; j < count; j++) {
            z[j] = a[j - i];
            derivative[j] = d[j - i];
        }
    }
}

#else

int rewind_activation_kernels_available(void) { return 0; }

void rewind_tanh_forward(double *z, double *derivative, int64_t count) {}

#endif
