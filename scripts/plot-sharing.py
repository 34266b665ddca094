#!/usr/bin/env python3
"""Draws the learned transforms T_l of a weight-sharing result as heat maps (SVG) and prints how
strongly each alphabet is paired with its rotated copy per layer.

Usage: python3 scripts/plot-sharing.py examples/results/omniglot-sharing-result.json docs/images/omniglot-sharing.svg

Pairing per layer: the mean of T_l[a, a'] and T_l[a', a] over the alphabets a and their rotated
copies a' (the two off-diagonal blocks' diagonals), against the mean of every other off-diagonal
entry. The paper's finding is that the pairing is stronger in the upper layers.
"""
import json
import sys


def colour(value, scale):
    """White at 0, blue for positive, red for negative, full at |value| = scale."""
    t = max(-1.0, min(1.0, value / scale)) if scale > 0 else 0.0
    if t >= 0:
        r, g, b = 255 - int(205 * t), 255 - int(160 * t), 255 - int(40 * t)
    else:
        r, g, b = 255 + int(40 * t), 255 + int(200 * t), 255 + int(200 * t)
    return f"#{r:02x}{g:02x}{b:02x}"


def pairing(t, alphabets):
    n = len(t)
    paired = [t[a][a + alphabets] for a in range(alphabets)] + [t[a + alphabets][a] for a in range(alphabets)]
    others = [t[i][j] for i in range(n) for j in range(n) if i != j and abs(i - j) != alphabets]
    return sum(paired) / len(paired), sum(others) / len(others)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    result = json.load(open(sys.argv[1]))
    tasks, transforms = result["tasks"], result["transforms"]
    n, layers = len(tasks), len(transforms)
    alphabets = n // 2 if result["settings"]["rotations"] else 0
    cell, label, gap = 22, 150, 40
    size = n * cell
    width = label + layers * (size + gap)
    height = 60 + size + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11">']
    out.append(f'<text x="{label}" y="16" font-size="13">Learned T_l (row: task, column: shared z of task); '
               "0.5·I + 0.05·11ᵀ at the start</text>")
    for i, name in enumerate(tasks):
        out.append(f'<text x="{label - 6}" y="{60 + i * cell + cell * 0.7:.1f}" text-anchor="end">{name}</text>')
    for l, t in enumerate(transforms):
        x0 = label + l * (size + gap)
        scale = max(abs(v) for row in t for v in row)
        out.append(f'<text x="{x0}" y="48">layer {l + 1} (max |T| {scale:.2f})</text>')
        for i in range(n):
            for j in range(n):
                out.append(f'<rect x="{x0 + j * cell}" y="{60 + i * cell}" width="{cell}" height="{cell}" '
                           f'fill="{colour(t[i][j], scale)}"><title>T{l + 1}[{tasks[i]}, {tasks[j]}] = '
                           f'{t[i][j]:.4f}</title></rect>')
        out.append(f'<rect x="{x0}" y="60" width="{size}" height="{size}" fill="none" stroke="#888"/>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    print("| layer | diagonal (own z) | alphabet ↔ rotated copy | other off-diagonal |")
    print("|---|---:|---:|---:|")
    for l, t in enumerate(transforms):
        diagonal = sum(t[i][i] for i in range(n)) / n
        if alphabets:
            paired, others = pairing(t, alphabets)
            print(f"| {l + 1} | {diagonal:.4f} | {paired:.4f} | {others:.4f} |")
        else:
            print(f"| {l + 1} | {diagonal:.4f} | – | – |")


if __name__ == "__main__":
    main()
