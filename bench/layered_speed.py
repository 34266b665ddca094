#!/usr/bin/env python3
"""Speed and memory of layered (conv) networks: one exact hypergradient against one exact training
run, for T = 20, 100 and 1000, on the built-in digits as 8x8x1 images.

For each network and T it runs `rewind run` on a spec with meta.iterations = 1, so the job writes
two history items: item 0 trains forward, reverses exactly and evaluates (the hypergradient), item 1
trains forward with the stepped hyperparameters and evaluates (a training run). Each item's
`seconds` is its wall time; their ratio is the cost of the hypergradient over training. Peak
memory is each child's own maximum resident set. FLOPs count the matrix products only (im2col rows ×
patch × filters per conv layer, and the dense layers), pass by pass as the code runs them; the rate
is compared with one core's float64 GEMM rate measured with NumPy on the same machine.

    python3 bench/layered_speed.py [--rewind PATH] [--iterations 20,100,1000] [--json OUT]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

NETWORKS = {
    # conv 5x5x8 same -> relu -> maxpool 2 -> conv 5x5x16 same -> relu -> maxpool 2 -> dense 10
    "lenet-like (8x8x1)": [
        {"type": "conv2d", "filters": 8, "kernel": 5, "padding": "same"}, {"type": "relu"},
        {"type": "maxpool", "size": 2},
        {"type": "conv2d", "filters": 16, "kernel": 5, "padding": "same"}, {"type": "relu"},
        {"type": "maxpool", "size": 2},
    ],
    # the small net of the finite-difference tests: conv 3x3x4 -> tanh -> avgpool 2 -> dense 10
    "conv 3x3x4 tanh avgpool": [
        {"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "tanh"}, {"type": "avgpool", "size": 2},
    ],
}
BATCH, TRAIN, VALIDATION, CLASSES = 100, 1000, 797, 10


def gemm_shapes(layers, height=8, width=8, channels=1):
    """(rows per image M, K, N, first) of every layer with parameters, the output layer included."""
    shapes, first, flat = [], True, None
    for layer in layers + [{"type": "dense", "units": CLASSES}]:
        kind = layer["type"]
        if kind == "conv2d":
            k, stride = layer["kernel"], layer.get("stride", 1)
            if layer.get("padding", "same") == "same":
                out_h, out_w = -(-height // stride), -(-width // stride)
            else:
                out_h, out_w = (height - k) // stride + 1, (width - k) // stride + 1
            shapes.append((out_h * out_w, k * k * channels, layer["filters"], first))
            height, width, channels, first = out_h, out_w, layer["filters"], False
        elif kind in ("maxpool", "avgpool"):
            height, width = height // layer["size"], width // layer["size"]
        elif kind == "dense":
            fan_in = flat if flat is not None else height * width * channels
            shapes.append((1, fan_in, layer["units"], first))
            flat, first = layer["units"], False
        elif kind == "flatten":
            flat = height * width * channels
    return shapes


def flops(layers):
    """GEMM FLOPs per row: forward, backward, R-forward, R-backward."""
    forward = backward = r_forward = r_backward = 0
    for m, k, n, first in gemm_shapes(layers):
        product = 2 * m * k * n
        forward += product
        backward += product * (1 if first else 2)        # dW, and dX above the first layer
        r_forward += product * (1 if first else 2)       # a V, and R{a} W above the first layer
        r_backward += product * (1 if first else 4)      # aT R{d} (+ R{a}T d), R{d} WT + d VT
    return forward, backward, r_forward, r_backward


def spec(layers, iterations):
    return {
        "name": f"layered speed T={iterations}", "dataset": {"name": "digits"},
        "split": {"train": TRAIN, "validation": VALIDATION}, "model": {"layers": layers},
        "training": {"iterations": iterations, "batch_size": BATCH, "seed": 0},
        "hyperparameters": {
            "learning_rate": {"init": 0.1}, "momentum": {"init": 0.9},
            "l2": {"init": 1e-4}, "init_scale": {"init": 0.1}},
        "meta": {"iterations": 1},
    }


def gemm_rate():
    """One core's float64 GEMM rate (FLOP/s), best of three 1024^3 products."""
    code = ("import numpy, time; a = numpy.random.rand(1024, 1024); b = numpy.random.rand(1024, 1024)\n"
            "best = 1e9\n"
            "for _ in range(3):\n    t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)\n"
            "print(2 * 1024 ** 3 / best)")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rewind", default=".build/release/rewind")
    parser.add_argument("--iterations", default="20,100,1000")
    parser.add_argument("--json")
    args = parser.parse_args()
    peak = gemm_rate()
    rows = []
    for name, layers in NETWORKS.items():
        forward, backward, r_forward, r_backward = flops(layers)
        for t in map(int, args.iterations.split(",")):
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
                json.dump(spec(layers, t), handle)
            env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
            start = time.perf_counter()
            with tempfile.TemporaryFile("w+") as stdout:
                child = subprocess.Popen(
                    [args.rewind, "run", handle.name, "--quiet"], stdout=stdout, stderr=subprocess.DEVNULL, env=env)
                _, status, usage = os.wait4(child.pid, 0)  # this child's own peak resident set
                child.returncode = os.waitstatus_to_exitcode(status)
                stdout.seek(0)
                text = stdout.read()
            wall = time.perf_counter() - start
            os.unlink(handle.name)
            if child.returncode != 0:
                sys.exit(f"rewind run failed with status {child.returncode}")
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
            hyper, train = items[0]["seconds"], items[1]["seconds"]
            rss = usage.ru_maxrss
            # Forward gradient + reverse (gradient again + HVP) per step; validation forward once.
            hyper_flops = t * BATCH * (2 * (forward + backward) + r_forward + r_backward) + VALIDATION * forward
            row = {
                "network": name, "T": t, "hypergradient_s": hyper, "training_s": train, "ratio": hyper / train,
                "gflop": hyper_flops / 1e9, "gflops": hyper_flops / hyper / 1e9,
                "fraction_of_gemm_peak": hyper_flops / hyper / peak,
                "max_rss_mib": rss / 1024, "wall_s": wall,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"one core's float64 GEMM rate (NumPy, 1024^3): {peak / 1e9:.1f} GFLOP/s")
    print("| network | T | hypergradient (s) | training (s) | ratio | GFLOP | GFLOP/s | of GEMM peak | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['network']} | {r['T']} | {r['hypergradient_s']:.2f} | {r['training_s']:.2f} | {r['ratio']:.2f} | "
              f"{r['gflop']:.2f} | {r['gflops']:.2f} | {100 * r['fraction_of_gemm_peak']:.0f} % | {r['max_rss_mib']:.0f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"gemm_peak_flops": peak, "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
