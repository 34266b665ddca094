#!/usr/bin/env python3
"""Writes the dataset-distillation CSV to stdout: ten learnable training rows, one per class 0-9,
then every row of data/digits.csv.gz for validation.

The service takes the first `split.train` rows of a data set as the training rows, so these ten
rows are what the job learns. They start blank (all-zero pixels), as the paper's near-blank
images do, or as the class means with --start means. Pixels are scaled from 0..16 to [0, 1] to
match the built-in digits. Standard library only.

With --dataset mnist: the ten rows of 784 pixels, then mnist's first 10,000 training images (the
validation rows) and its 10,000 test images (a held-out test split), pixels k/256 exactly as the
built-in mnist has them (from data/mnist.bin.gz).
"""
import argparse
import gzip
import os
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", choices=["blank", "means"], default="blank")
    parser.add_argument("--digits", default=os.path.join(os.path.dirname(__file__), "..", "data", "digits.csv.gz"))
    parser.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    args = parser.parse_args()
    if args.dataset == "mnist":
        return write_mnist(args.start)

    with gzip.open(args.digits, "rt") as source:
        rows = [line.strip().split(",") for line in source if line.strip()]
    features = [[int(value) / 16 for value in row[:-1]] for row in rows]
    labels = [int(row[-1]) for row in rows]
    width = len(features[0])

    out = sys.stdout
    for label in range(10):
        if args.start == "blank":
            pixels = [0.0] * width
        else:
            members = [x for x, y in zip(features, labels) if y == label]
            pixels = [sum(column) / len(members) for column in zip(*members)]
        out.write(",".join(format(p, ".6g") for p in pixels) + f",{label}\n")
    for x, y in zip(features, labels):
        out.write(",".join(format(p, ".6g") for p in x) + f",{y}\n")


def write_mnist(start):
    path = os.path.join(os.path.dirname(__file__), "..", "data", "mnist.bin.gz")
    with gzip.open(path, "rb") as source:
        raw = source.read()
    labels, pixels = raw[20:70020], raw[70020:]
    rows = list(range(0, 10000)) + list(range(60000, 70000))
    cells = ["0"] + [repr(k / 256) for k in range(1, 256)]
    out = sys.stdout
    for label in range(10):
        if start == "blank":
            row = ["0"] * 784
        else:
            members = [i for i in range(10000) if labels[i] == label]
            row = [format(sum(pixels[i * 784 + j] for i in members) / 256 / len(members), ".6g") for j in range(784)]
        out.write(",".join(row) + f",{label}\n")
    for i in rows:
        out.write(",".join(cells[k] for k in pixels[i * 784:(i + 1) * 784]) + f",{labels[i]}\n")


if __name__ == "__main__":
    main()
