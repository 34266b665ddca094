#!/usr/bin/env python3
"""Speed and memory of a layered (conv) network: Rewind's exact hypergradient against plain
training, JAX's reverse mode and PyTorch's (torch.func), side by side in one run.

The problem is `rewind export --problem lenet`: the LeNet-like net (conv 5x5x8 same -> relu ->
maxpool 2 -> conv 5x5x16 same -> relu -> maxpool 2 -> dense 10, 11,274 parameters) on synthetic
28x28x1 images (10,000 training, 10,000 validation), batch 100, SGD with momentum, per-step and
per-block learning rates and momenta. For each T the export times Rewind's hypergradient
(forward, exact reverse, validation gradient) and, right after each hypergradient run, plain
float64 SGD training plus one validation evaluation (the ratio is of the two medians, so that
both see the same load on a shared machine), and records the peak resident set of the
hypergradient runs. JAX then recomputes the
same hypergradient from the same export by reverse mode through the unrolled loop
(bench/jax_reference.py), which also checks that the two agree; PyTorch does the same in float64
with torch.func (bench/torch_reference.py), each run capped in address space
(--torch-memory-cap) so that a T too long for memory is reported as out of memory. A T whose
memory, extrapolated from two shorter runs, would exceed the cap is not run at all.

Every side gets the whole machine (--threads, default every core up to 2): Rewind's trainer
shares each step between two threads (same bits as one), XLA and PyTorch use their own thread
pools with that many threads. --core N pins everything to one core with one thread each instead
(the per-core comparison). Besides wall and CPU seconds it prints each side's CPU per wall second
(the cores it kept busy) and Rewind's CPU per thread (the caller and the trainer's helper).

FLOPs count the matrix products only (im2col rows x patch x filters per conv layer, and the dense
layers), pass by pass as Rewind runs them. The rate is compared with float64 GEMM peaks measured
here with a dgemm microbenchmark (1024^3, one thread, best of twenty in CPU time, so that other load
on a shared machine does not lower it): the system OpenBLAS with the
kernel family Rewind pins (OPENBLAS_CORETYPE, scripts/blas-family.sh), NumPy's own OpenBLAS with
the CPU's best kernels, and that times the cores for the machine.

    $PYTHON bench/layered_speed.py [--rewind PATH] [--iterations 20,100,1000] [--threads 2 | --core N]
        [--jax-iterations 20,100] [--torch-iterations 20,100,1000] [--json OUT]

Run it with a python that has JAX and/or torch (bench/run-jax-comparison.sh creates .venv-jax with
JAX; `pip install torch` adds PyTorch); the columns of a missing one are left empty.
"""
import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LENET = [
    {"type": "conv2d", "filters": 8, "kernel": 5, "stride": 1, "padding": "same"}, {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "conv2d", "filters": 16, "kernel": 5, "stride": 1, "padding": "same"}, {"type": "relu"},
    {"type": "maxpool", "size": 2},
]
BATCH, VALIDATION, CLASSES, IMAGE = 100, 10_000, 10, (28, 28, 1)


def gemm_shapes(layers, image):
    """(rows per image M, K, N, first) of every layer with parameters, the output layer included."""
    height, width, channels = image
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


def flops(layers, image):
    """GEMM FLOPs per row: forward, backward, R-forward, R-backward."""
    forward = backward = r_forward = r_backward = 0
    for m, k, n, first in gemm_shapes(layers, image):
        product = 2 * m * k * n
        forward += product
        backward += product * (1 if first else 2)        # dW, and dX above the first layer
        r_forward += product * (1 if first else 2)       # a V, and R{a} W above the first layer
        r_backward += product * (1 if first else 4)      # aT R{d} (+ R{a}T d), R{d} WT + d VT
    return forward, backward, r_forward, r_backward


def hypergradient_flops(t):
    """Per step: the gradient forward, the same gradient again in reverse, one HVP; then the
    validation gradient once. Plain training: one gradient per step and one validation forward."""
    forward, backward, r_forward, r_backward = flops(LENET, IMAGE)
    hyper = t * BATCH * (2 * (forward + backward) + r_forward + r_backward) + VALIDATION * (forward + backward)
    training = t * BATCH * (forward + backward) + VALIDATION * forward
    return hyper, training


DGEMM_SYSTEM = r"""
import ctypes, time
import numpy
blas = ctypes.CDLL("libopenblas.so.0")
n = 1024
a, b, c = numpy.random.rand(n, n), numpy.random.rand(n, n), numpy.zeros((n, n))
p = lambda m: m.ctypes.data_as(ctypes.c_void_p)
blas.cblas_dgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_double, ctypes.c_void_p, ctypes.c_int,
    ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_void_p, ctypes.c_int]
best = 1e9
for _ in range(20):
    t = time.process_time()
    blas.cblas_dgemm(101, 111, 111, n, n, n, 1.0, p(a), n, p(b), n, 0.0, p(c), n)
    best = min(best, time.process_time() - t)
print(2 * n ** 3 / best)
"""
# The conv GEMMs as Rewind runs them for a batch of 100 (row-major; transposes as in the passes),
# timed with the pinned kernels: the ceiling of im2col + GEMM at these shapes.
DGEMM_SHAPES = r"""
import ctypes, json, sys, time
import numpy
blas = ctypes.CDLL("libopenblas.so.0")
blas.cblas_dgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_double, ctypes.c_void_p, ctypes.c_int,
    ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_void_p, ctypes.c_int]
p = lambda m: m.ctypes.data_as(ctypes.c_void_p)
rates = {}
for name, ta, tb, m, n, k in json.loads(sys.argv[1]):
    a = numpy.random.rand(k, m) if ta else numpy.random.rand(m, k)
    b = numpy.random.rand(n, k) if tb else numpy.random.rand(k, n)
    c = numpy.zeros((m, n))
    best = 1e9
    for _ in range(5):
        t = time.process_time()
        for _ in range(5):
            blas.cblas_dgemm(101, 112 if ta else 111, 112 if tb else 111, m, n, k, 1.0, p(a), a.shape[1], p(b),
                             b.shape[1], 1.0, p(c), n)
        best = min(best, (time.process_time() - t) / 5)
    rates[name] = 2 * m * n * k / best
print(json.dumps(rates))
"""
DGEMM_NUMPY = r"""
import time, numpy
n = 1024
a, b = numpy.random.rand(n, n), numpy.random.rand(n, n)
best = 1e9
for _ in range(20):
    t = time.process_time(); a @ b; best = min(best, time.process_time() - t)
print(2 * n ** 3 / best)
"""


def dgemm_rate(code, coretype=None):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return float(result.stdout) if result.returncode == 0 else None


def conv_gemm_rates(coretype):
    """GFLOP/s of each conv layer's three GEMM shapes for a batch (forward, weight gradient, input
    gradient) with the pinned kernels, and their FLOP-weighted rate over the hypergradient's mix."""
    shapes = []
    for index, (m, k, n, first) in enumerate(gemm_shapes(LENET, IMAGE)[:-1]):
        rows = m * BATCH
        # Named m x n x k: C (m, n) += op(A) (m, k) op(B) (k, n).
        shapes.append((f"conv{index + 1} forward {rows}x{n}x{k}", False, False, rows, n, k))
        shapes.append((f"conv{index + 1} weight gradient {k}x{n}x{rows}", True, False, k, n, rows))
        if not first:
            shapes.append((f"conv{index + 1} input gradient {rows}x{k}x{n}", False, True, rows, k, n))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    result = subprocess.run([sys.executable, "-c", DGEMM_SHAPES, json.dumps(shapes)], capture_output=True,
                            text=True, env=env)
    return json.loads(result.stdout) if result.returncode == 0 else None


def run_rewind(rewind, t, repeats, directory, core, threads):
    path = os.path.join(directory, f"lenet-{t}.json")
    if os.path.exists(path):  # --keep: an export from an earlier run
        with open(path) as handle:
            return path, json.load(handle)["rewind"]
    pin = ["taskset", "-c", str(core)] if core is not None else []
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    subprocess.run(pin + [rewind, "export", "--problem", "lenet", "--iterations", str(t), "--repeats", str(repeats),
                          "--threads", str(threads), "--output", path], check=True, env=env)
    with open(path) as handle:
        return path, json.load(handle)["rewind"]


@contextlib.contextmanager
def pinned(core):
    """Runs the block (and the children it starts) on `core` alone, or unpinned when None."""
    if core is None:
        yield
        return
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count())))


def run_torch(torch_reference, path, t, measured, args):
    """PyTorch's hypergradient at T = t (pinned like the others), or why it was not run: the growth
    of the earlier runs' memory per step extrapolated past the cap, or the cap reached."""
    cap = args.torch_memory_cap
    if measured and measured[-1][1] is None:
        print(f"PyTorch not run at T={t}: T={measured[-1][0]} ran out of memory", file=sys.stderr, flush=True)
        return {"torch_out_of_memory": "shorter"}
    if len(measured) > 1:  # two runs give the growth per step (one would include the validation pass)
        (low_t, low), (high_t, high) = measured[0], measured[-1]
        estimate = high + (high - low) / (high_t - low_t) * (t - high_t)
        if estimate > cap * 1024:
            print(f"PyTorch not run at T={t}: about {estimate / 1024:.1f} GiB above its start "
                  f"(extrapolated), over the {cap:g} GiB cap", file=sys.stderr, flush=True)
            return {"torch_out_of_memory": "estimated", "torch_estimated_rss_above_start_mib": estimate}
    print(f"PyTorch at T={t} ...", file=sys.stderr, flush=True)
    with pinned(args.core):
        result = torch_reference.compare(path, 1, args.threads, cap)
    if result.get("out_of_memory"):
        return {"torch_out_of_memory": "cap", "torch_memory_cap_gib": cap, "torch_message": result["message"]}
    return {
        "torch_s": statistics.median(result["seconds"]), "torch_cpu_s": statistics.median(result["cpu_seconds"]),
        "torch_peak_rss_mib": result["peak_rss_bytes"] / 1048576,
        "torch_rss_above_start_mib": (result["peak_rss_bytes"] - result["baseline_rss_bytes"]) / 1048576,
        "torch_agreement": result["agreement"], "torch_version": result["torch"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rewind", default=os.path.join(REPO, ".build/release/rewind"))
    parser.add_argument("--iterations", default="20,100,1000")
    parser.add_argument("--repeats", type=int, default=1, help="timed Rewind hypergradients per T")
    parser.add_argument("--jax-iterations", default="20,100", help="T for JAX ('' for none)")
    parser.add_argument("--torch-iterations", default="20,100,1000", help="T for PyTorch ('' for none)")
    parser.add_argument("--torch-memory-cap", type=float, default=14.0,
                        help="address-space limit of a PyTorch run, GiB (longer T are extrapolated, not run)")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count()),
                        help="threads of every side (Rewind: 1 or 2); the default gives each the whole machine")
    parser.add_argument("--core", type=int, help="pin every run to this core, one thread each")
    parser.add_argument("--keep", help="keep the exports and JAX results in this directory, and reuse those "
                        "already there (lenet-T.json, jax-T.json) instead of measuring again")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.core is not None:
        args.threads = 1
    # XLA's default is a thread pool over every core; one thread takes jax_reference's flags.
    if args.threads > 1:
        os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "")

    coretype = subprocess.run(["bash", os.path.join(REPO, "scripts/blas-family.sh")], capture_output=True,
                              text=True).stdout.strip() or None
    peaks = {"system_openblas_pinned": dgemm_rate(DGEMM_SYSTEM, coretype),
             "system_openblas_native": dgemm_rate(DGEMM_SYSTEM), "numpy_native": dgemm_rate(DGEMM_NUMPY),
             "coretype": coretype, "cores": os.cpu_count()}
    peaks["conv_gemms_pinned"] = conv_gemm_rates(coretype)
    core_peak = max(peaks[key] for key in ("system_openblas_pinned", "system_openblas_native", "numpy_native")
                    if peaks[key])
    peaks["machine"] = core_peak * os.cpu_count()
    print(json.dumps(peaks), flush=True)

    jax_ts = {int(t) for t in args.jax_iterations.split(",") if t}
    try:
        sys.path.insert(0, HERE)
        import jax_reference  # noqa: E402 (needs jax in this python)
        import jax  # noqa: F401
    except ImportError:
        jax_reference, jax_ts = None, set()

    torch_ts = {int(t) for t in args.torch_iterations.split(",") if t}
    try:
        import torch  # noqa: F401
        import torch_reference  # noqa: E402
    except ImportError:
        torch_reference, torch_ts = None, set()

    rows, torch_memory = [], []  # (T, MiB above start) of the PyTorch runs so far
    with tempfile.TemporaryDirectory(prefix="rewind-layered-") as scratch:
        directory = args.keep or scratch
        os.makedirs(directory, exist_ok=True)
        for t in map(int, args.iterations.split(",")):
            path, rewind = run_rewind(args.rewind, t, args.repeats, directory, args.core, args.threads)
            hyper_flops, training_flops = hypergradient_flops(t)
            hyper = statistics.median(rewind["seconds"])
            hyper_cpu = statistics.median(rewind["cpu_seconds"])
            row = {
                "T": t, "hypergradient_s": hyper, "training_s": rewind["training_seconds"],
                "ratio": hyper / rewind["training_seconds"],
                "training_cpu_s": rewind["training_cpu_seconds"], "ratio_cpu": hyper_cpu / rewind["training_cpu_seconds"],
                "hypergradient_gflop": hyper_flops / 1e9, "training_gflop": training_flops / 1e9,
                "hypergradient_gflops": hyper_flops / hyper / 1e9,
                "training_gflops": training_flops / rewind["training_seconds"] / 1e9,
                "hypergradient_cpu_s": hyper_cpu, "hypergradient_gflops_cpu": hyper_flops / hyper_cpu / 1e9,
                "threads": rewind.get("threads", 1), "hypergradient_cores_busy": hyper_cpu / hyper,
                "hypergradient_main_thread_cpu_s": statistics.median(rewind["main_thread_cpu_seconds"])
                if rewind.get("main_thread_cpu_seconds") else None,
                "of_core_peak": hyper_flops / hyper / core_peak, "of_core_peak_cpu": hyper_flops / hyper_cpu / core_peak,
                "of_pinned_core_peak": hyper_flops / hyper / peaks["system_openblas_pinned"]
                if peaks["system_openblas_pinned"] else None,
                "of_machine_peak": hyper_flops / hyper / peaks["machine"],
                "rewind_peak_rss_mib": rewind["peak_rss_bytes"] / 1048576,
                "rewind_rss_above_start_mib": (rewind["peak_rss_bytes"] - rewind["baseline_rss_bytes"]) / 1048576,
                "buffer_peak_bits": rewind["buffer_peak_bits"],
            }
            kept = os.path.join(directory, f"jax-{t}.json")
            if os.path.exists(kept):
                with open(kept) as handle:
                    row.update(json.load(handle))
            elif t in jax_ts:
                print(f"JAX at T={t} ...", file=sys.stderr, flush=True)
                with pinned(args.core):
                    result = jax_reference.compare(path, 1, scratch, False)
                applied = result["applied"]
                jax_row = {
                    "jax_s": statistics.median(applied["seconds"]), "jax_compile_s": applied["compile_seconds"],
                    "jax_cpu_s": statistics.median(
                        [user + system for user, system in zip(applied["user_seconds"], applied["system_seconds"])]),
                    "jax_peak_rss_mib": applied["peak_rss_bytes"] / 1048576,
                    "jax_rss_above_start_mib": (applied["peak_rss_bytes"] - applied["baseline_rss_bytes"]) / 1048576,
                    "jax_agreement": {name: same for name, same, _, _ in result["rows"]},
                }
                with open(kept, "w") as handle:
                    json.dump(jax_row, handle)
                row.update(jax_row)
            kept = os.path.join(directory, f"torch-{t}.json")
            if os.path.exists(kept):
                with open(kept) as handle:
                    row.update(json.load(handle))
            elif t in torch_ts:
                torch_row = run_torch(torch_reference, path, t, torch_memory, args)
                if torch_row.get("torch_out_of_memory") in (None, "cap"):  # a measurement, not a decision
                    with open(kept, "w") as handle:
                        json.dump(torch_row, handle)
                row.update(torch_row)
            if row.get("torch_rss_above_start_mib") is not None or row.get("torch_out_of_memory") == "cap":
                torch_memory.append((t, row.get("torch_rss_above_start_mib")))
            if row.get("torch_s"):
                row["rewind_over_torch"] = hyper / row["torch_s"]
                row["rewind_over_torch_cpu"] = hyper_cpu / row["torch_cpu_s"]
            if row.get("jax_s"):
                row["rewind_over_jax"] = hyper / row["jax_s"]
                row["rewind_over_jax_cpu"] = hyper_cpu / row["jax_cpu_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)

    def cell(row, key, fmt):
        return fmt.format(row[key]) if row.get(key) is not None else "—"

    if peaks["conv_gemms_pinned"]:
        print("The conv GEMMs of a batch (m x n x k) with the pinned kernels, GFLOP per CPU s: " + ", ".join(
            f"{name} {rate / 1e9:.1f}" for name, rate in peaks["conv_gemms_pinned"].items()))
    print(f"float64 dgemm 1024^3, one thread, CPU time: system OpenBLAS with {coretype} kernels (as Rewind pins "
          f"them) {(peaks['system_openblas_pinned'] or 0) / 1e9:.1f} GFLOP/s, with its native kernels "
          f"{(peaks['system_openblas_native'] or 0) / 1e9:.1f}, NumPy's OpenBLAS {(peaks['numpy_native'] or 0) / 1e9:.1f}; "
          f"machine ({os.cpu_count()} cores x the best) {peaks['machine'] / 1e9:.1f} GFLOP/s; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"Wall seconds [CPU seconds], {args.threads} thread(s) a side"
          f"{f', pinned to core {args.core}' if args.core is not None else ''}; ratios wall [CPU]; "
          "rates per wall second [per CPU second], against one core's and the machine's float64 peak.")
    print("| T | Rewind hypergradient (s) | plain training (s) | ratio | JAX (s) | Rewind / JAX | PyTorch (s) | "
          "Rewind / PyTorch | GFLOP | GFLOP/s | of one core's peak | of the machine's | Rewind peak RSS (MiB) | "
          "JAX peak RSS (MiB) | PyTorch peak RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def pair(r, wall, cpu, fmt):
        return f"{fmt.format(r[wall])} [{fmt.format(r[cpu])}]" if r.get(wall) is not None else "—"

    for r in rows:
        jax = pair(r, "jax_s", "jax_cpu_s", "{:.1f}")
        if r.get("torch_s") is not None:
            torch_cell = pair(r, "torch_s", "torch_cpu_s", "{:.1f}")
        elif r.get("torch_out_of_memory") == "estimated":
            torch_cell = f"not run: ≈ {r['torch_estimated_rss_above_start_mib'] / 1024:.0f} GiB"
        elif r.get("torch_out_of_memory") == "cap":
            torch_cell = f"out of memory at {r['torch_memory_cap_gib']:g} GiB"
        elif r.get("torch_out_of_memory"):
            torch_cell = "not run: a shorter T ran out of memory"
        else:
            torch_cell = "—"
        wall_rate, rate = r["hypergradient_gflops"], r["hypergradient_gflops_cpu"]
        print(f"| {r['T']} | {r['hypergradient_s']:.2f} [{r['hypergradient_cpu_s']:.2f}] | {r['training_s']:.2f} "
              f"[{r['training_cpu_s']:.2f}] | {pair(r, 'ratio', 'ratio_cpu', '{:.2f}')} | {jax} | "
              f"{pair(r, 'rewind_over_jax', 'rewind_over_jax_cpu', '{:.3f}')} | {torch_cell} | "
              f"{pair(r, 'rewind_over_torch', 'rewind_over_torch_cpu', '{:.3f}')} | "
              f"{r['hypergradient_gflop']:.0f} | {wall_rate:.1f} [{rate:.1f}] | "
              f"{100 * wall_rate * 1e9 / core_peak:.0f} [{100 * rate * 1e9 / core_peak:.0f}] % | "
              f"{100 * wall_rate * 1e9 / peaks['machine']:.1f} [{100 * rate * 1e9 / peaks['machine']:.1f}] % | "
              f"{r['rewind_peak_rss_mib']:.0f} | {cell(r, 'jax_peak_rss_mib', '{:.0f}')} | "
              f"{cell(r, 'torch_peak_rss_mib', '{:.0f}')} |")
    for r in rows:
        busy = [f"Rewind {r['hypergradient_cores_busy']:.2f}"]
        if r.get("hypergradient_main_thread_cpu_s") is not None:
            main = r["hypergradient_main_thread_cpu_s"]
            busy[0] += f" (CPU s per thread: caller {main:.2f}, helper {r['hypergradient_cpu_s'] - main:.2f})"
        for side, name in (("jax", "JAX"), ("torch", "PyTorch")):
            if r.get(f"{side}_s"):
                busy.append(f"{name} {r[f'{side}_cpu_s'] / r[f'{side}_s']:.2f}")
        print(f"T={r['T']} cores busy (CPU s per wall s): " + ", ".join(busy))
    for r in rows:
        for side in ("jax", "torch"):
            if r.get(f"{side}_agreement"):
                gaps = ", ".join(f"{name} {gap:.1e}" for name, gap in r[f"{side}_agreement"].items())
                print(f"T={r['T']} Rewind vs {'JAX' if side == 'jax' else 'PyTorch'}: {gaps}")
    measured = [r for r in rows if r.get("jax_rss_above_start_mib") is not None]
    if measured:
        # Two JAX runs give the growth per step; one gives an upper bound of it (all of its memory
        # above the start counted as trajectory).
        low, high = (measured[0], measured[-1]) if len(measured) > 1 else ({"T": 0, "jax_rss_above_start_mib": 0},
                                                                            measured[0])
        per_step = (high["jax_rss_above_start_mib"] - low["jax_rss_above_start_mib"]) / (high["T"] - low["T"])
        for r in rows:
            if r.get("jax_s") is None:
                r["jax_estimated_rss_above_start_mib"] = high["jax_rss_above_start_mib"] + per_step * (r["T"] - high["T"])
                print(f"JAX not run at T={r['T']}: its stored trajectory grows by {per_step:.1f} MiB per step, "
                      f"so it would need about {r['jax_estimated_rss_above_start_mib'] / 1024:.1f} GiB above its start "
                      f"({os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2 ** 30:.0f} GiB in this machine)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"peaks": peaks, "load_average": os.getloadavg(), "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
