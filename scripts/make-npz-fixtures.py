#!/usr/bin/env python3
"""Writes the .npz archives the upload tests send, with real numpy, into the directory given.

Good archives: table.npz (savez, float64 30x4, int64 labels, with table.csv holding the same
numbers), images.npz (savez_compressed, uint8 30x4x4, uint8 labels) and images4.npz (savez,
float32 30x4x4x1). Bad ones, each refused with a 422: object (a pickled object array), fortran,
bigendian, mismatch (29 labels), nan, missing_y, extra (a third member), float_labels.
The tests run this when numpy is importable and fall back to the copies in Tests/Fixtures/npz.
"""
import os
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
y = np.arange(30) % 3
x = rng.normal(size=(30, 4)) + y[:, None]
np.savez(os.path.join(out, "table.npz"), x=x, y=y.astype(np.int64))
with open(os.path.join(out, "table.csv"), "w") as f:
    for row, label in zip(x, y):
        f.write(",".join(repr(float(v)) for v in row) + f",{label}\n")
pixels = (rng.integers(0, 40, size=(30, 4, 4)) + 200 * (np.arange(4)[None, None, :] == y[:, None, None])).astype(np.uint8)
np.savez_compressed(os.path.join(out, "images.npz"), x=pixels, y=y.astype(np.uint8))
np.savez(os.path.join(out, "images4.npz"), x=(pixels / 255.0).astype(np.float32)[..., None], y=y.astype(np.int16))

bad = {
    "object": dict(x=np.array([[1, "a"]] * 30, dtype=object), y=y),
    "fortran": dict(x=np.asfortranarray(x), y=y),
    "bigendian": dict(x=x.astype(">f8"), y=y),
    "mismatch": dict(x=x, y=y[:29]),
    "nan": dict(x=np.where(np.arange(120).reshape(30, 4) == 57, np.nan, x), y=y),
    "missing_y": dict(x=x),
    "extra": dict(x=x, y=y, z=y),
    "float_labels": dict(x=x, y=y.astype(np.float64)),
}
for name, arrays in bad.items():
    np.savez(os.path.join(out, f"{name}.npz"), **arrays)
