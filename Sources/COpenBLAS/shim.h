#ifndef REWIND_COPENBLAS_SHIM_H
#define REWIND_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS header also declares openblas_set_num_threads / openblas_get_num_threads.
#include <cblas.h>
#endif
