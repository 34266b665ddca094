#!/usr/bin/env python3
"""Writes the dataset-distillation CSV to stdout: ten learnable training rows, one per class 0-9,
then every row of data/digits.csv.gz for validation.

The service takes the first `split.train` rows of a data set as the training rows, so these ten
rows are what the job learns. They start blank (all-zero pixels), as the paper's near-blank
images do, or as the class means with --start means. Pixels are scaled from 0..16 to [0, 1] to
match the built-in digits. Standard library only.
"""
import argparse
import gzip
import os
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", choices=["blank", "means"], default="blank")
    parser.add_argument("--digits", default=os.path.join(os.path.dirname(__file__), "..", "data", "digits.csv.gz"))
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
