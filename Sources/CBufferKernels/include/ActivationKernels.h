#ifndef REWIND_ACTIVATION_KERNELS_H
#define REWIND_ACTIVATION_KERNELS_H

#include <stdint.h>

/// tanh of the hidden layers with AVX2, the same IEEE operations in the same order as the portable
/// four-lane Swift code (`PortableMath.tanh`): no FMA, no reassociation, so the same bits. The
/// portable code runs two lanes per SSE2 instruction; these run four per instruction.

/// Nonzero when this CPU runs `rewind_tanh_forward` (AVX2).
int rewind_activation_kernels_available(void);

/// z[i] <- tanh(z[i]) and derivative[i] <- 1 - tanh(z[i])^2 for i < count.
void rewind_tanh_forward(double *z, double *derivative, int64_t count);

#endif
