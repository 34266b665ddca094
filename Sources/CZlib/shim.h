#ifndef REWIND_CZLIB_SHIM_H
#define REWIND_CZLIB_SHIM_H
// zlib's gzip reader, for the built-in MNIST file (data/mnist.bin.gz).
#include <zlib.h>
#endif
