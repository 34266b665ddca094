#!/usr/bin/env python3
"""Converts Omniglot's small background set 1 into Rewind's built-in `omniglot` tasks.

Source: github.com/brendenlake/omniglot, file python/images_background_small1.zip (MIT licence,
Copyright (c) 2015 Brenden Lake): 5 alphabets (Balinese, Early_Aramaic, Greek, Korean, Latin),
136 characters, 20 drawings of each, 105x105 pixels, 1 bit per pixel, ink black on white.
These are not the 5 alphabets of Maclaurin, Duvenaud & Adams (2015), which are not named there.

Per character the first 15 drawings (in file-name order) are kept: the weight-sharing job uses 12
to train (10 train + 2 validation, re-split every meta-iteration) and 3 to test.

Downsampling (105 -> 28): ink is 1 and paper 0; every output pixel is the exact area average of
the input pixels it covers (one output pixel spans 3.75 x 3.75 input pixels; partly covered
input pixels count with their covered fraction), then the average is quantised to 16 levels
(round(15 * mean), 0...15). Pixels are later scaled to [0, 1] as level / 15.

Writes
  data/omniglot-small1.u8.gz   2040 rows of 1 + 1 + 784 bytes: alphabet, character, 28x28 levels
                               (row-major), gzip-compressed
  Sources/Tuning/OmniglotData.swift   the same rows compiled in (pixels as zero-run-length text)

Usage: python3 scripts/convert-omniglot.py path/to/images_background_small1.zip  (from the package root)
       python3 scripts/convert-omniglot.py --embed   (regenerate the Swift file from data/ only)
"""
import gzip
import os
import struct
import sys
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "omniglot-small1.u8.gz")
TARGET = os.path.join(ROOT, "Sources", "Tuning", "OmniglotData.swift")
SIZE = 28
SOURCE_SIZE = 105
DRAWINGS = 15
LEVELS = 15


def decode_png(data):
    """Pixels (rows of 0/1 ints, 1 = white) of a non-interlaced 1-bit greyscale PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        chunk = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 1 and colour == 0 and interlace == 0, f"unsupported PNG {header}"
    raw = zlib.decompress(idat)
    stride = (width + 7) // 8
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - 1] if i > 0 else 0
            up = previous[i]
            upleft = previous[i - 1] if i > 0 else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - upleft
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else upleft)) & 255
        rows.append([(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
        previous = line
    return rows


def downsample(white):
    """Exact area average of the ink (1 - white) over each of SIZE x SIZE cells, as 0...LEVELS."""
    scale = SOURCE_SIZE / SIZE
    weights = []  # per output index: [(input index, covered fraction)]
    for o in range(SIZE):
        lo, hi = o * scale, (o + 1) * scale
        weights.append([(i, min(hi, i + 1) - max(lo, i)) for i in range(int(lo), min(SOURCE_SIZE, int(hi) + 1))
                        if min(hi, i + 1) > max(lo, i)])
    out = []
    for oy in range(SIZE):
        for ox in range(SIZE):
            ink = 0.0
            for y, fy in weights[oy]:
                row = white[y]
                for x, fx in weights[ox]:
                    ink += fy * fx * (1 - row[x])
            out.append(int(round(LEVELS * ink / (scale * scale))))
    return out


def convert(archive):
    with zipfile.ZipFile(archive) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".png"))
        alphabets = sorted({n.split("/")[1] for n in names})
        records = []
        for a, alphabet in enumerate(alphabets):
            characters = sorted({n.split("/")[2] for n in names if n.split("/")[1] == alphabet})
            for c, character in enumerate(characters):
                drawings = sorted(n for n in names if n.split("/")[1] == alphabet and n.split("/")[2] == character)
                for name in drawings[:DRAWINGS]:
                    records.append(bytes([a, c]) + bytes(downsample(decode_png(z.read(name)))))
    os.makedirs(os.path.dirname(DATA), exist_ok=True)
    with gzip.GzipFile(DATA, "wb", mtime=0) as out:
        out.write(b"".join(records))
    return alphabets


def embed(alphabets):
    with gzip.open(DATA, "rb") as source:
        raw = source.read()
    width = 2 + SIZE * SIZE
    assert len(raw) % width == 0
    lines = []
    for r in range(len(raw) // width):
        row = raw[r * width : (r + 1) * width]
        text, zeros = [f"{row[0]}{row[1]:02d}"], 0
        for p in row[2:]:
            if p == 0:
                zeros += 1
                continue
            while zeros > 0:  # a run of k zeros (1...26) is one of "A"..."Z"
                k = min(zeros, 26)
                text.append(chr(ord("A") + k - 1))
                zeros -= k
            text.append(chr(ord("a") + p - 1))  # levels 1...15 are "a"..."o"
        lines.append("".join(text))  # trailing zeros are implied
    names = ", ".join(f'"{a}"' for a in alphabets)
    body = "\n".join(lines)
    with open(TARGET, "w") as out:
        out.write(
            "// Generated by scripts/convert-omniglot.py from data/omniglot-small1.u8.gz: do not edit.\n\n"
            "/// Omniglot's small background set 1 (github.com/brendenlake/omniglot, MIT licence, (c) 2015\n"
            "/// Brenden Lake), 15 drawings per character, area-averaged to 28×28 and quantised to 0...15.\n"
            "/// One row per line: the alphabet as one digit, the character as two, then the pixels in\n"
            "/// row-major order, a level 1...15 as \"a\"...\"o\" and a run of k zeros (1...26) as the k-th\n"
            "/// capital letter; zeros after the last ink are implied. Decoded by `OmniglotTasks`.\n"
            "enum OmniglotData {\n"
            f"    static let rows = {len(lines)}\n"
            f"    static let side = {SIZE}\n"
            f"    static let levels = {LEVELS}\n"
            f"    static let alphabets = [{names}]\n"
            '    static let encoded: StaticString = """\n'
            + "\n".join("        " + line for line in body.split("\n"))
            + '\n        """\n}\n'
        )


def main():
    args = sys.argv[1:]
    if args == ["--embed"]:
        alphabets = ["Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"]
    elif len(args) == 1:
        alphabets = convert(args[0])
    else:
        sys.exit(__doc__)
    embed(alphabets)
    print(f"wrote {DATA} ({os.path.getsize(DATA)} bytes) and {TARGET} ({os.path.getsize(TARGET)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
