#ifndef REWIND_CZLIB_SHIM_H
#define REWIND_CZLIB_SHIM_H
// zlib: the gzip reader of the built-in MNIST file (data/mnist.bin.gz) and the inflater of .npz uploads.
#include <zlib.h>
#endif
