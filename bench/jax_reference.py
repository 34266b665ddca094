#!/usr/bin/env python3
"""Recompute Rewind's hypergradients with JAX and compare them side by side.

Input: JSON files written by `rewind export` (problem, batches, initial weights, the schedule as
Rewind applies it, Rewind's hypergradient, time and peak memory). For each file this script runs
the same forward loop

    g = grad L(w; batch_t);  v <- gamma_t v - (1 - gamma_t) g;  w <- w + alpha_t v

unrolled with jax.lax.scan in float64, takes jax.grad of the validation loss f(w_{T+1}) with
respect to (alpha, gamma, lambda, s, w_1), and reports ||g_Rewind - g_JAX|| / ||g_JAX|| per group.

Every JAX configuration runs in its own subprocess so that its peak RSS (VmHWM) is its own. JAX
runs twice per file: with gamma = n/2^32 as Rewind applies it (the like-for-like comparison), and
with the requested float gamma (to show what the rational momentum alone changes).

Usage (bench/run-jax-comparison.sh does all of it):
    python bench/jax_reference.py EXPORT.json [EXPORT.json ...] [--repeats 5] [--markdown OUT.md]
"""

import argparse
import csv
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
TOLERANCE = 1e-6
GROUPS = ["learning_rates", "momenta", "l2", "init_scales", "initial_weights"]


# --------------------------------------------------------------------------------------------
# Child: one JAX configuration in its own process.
# --------------------------------------------------------------------------------------------

def memory_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_memory():
    # Linux resets VmHWM to the current RSS on "5"; the Swift side does the same (PeakMemory).
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def load_data(export):
    """The training and validation rows of an export: the built-in digits, or the synthetic images
    regenerated from the export's formula; either way checked against Rewind's sums (exact: every
    value is a small multiple of 1/16 or 1/256), so any difference in the data shows here."""
    import numpy as np

    dataset = export["dataset"]
    if dataset["name"] == "synthetic":
        height, width, channels = export["architecture"]["image"]
        n = np.arange(dataset["validation_rows"][1], dtype=np.int64)[:, None]
        p = np.arange(height * width * channels, dtype=np.int64)[None, :]
        # x[n, p] = ((7919 n + 25 p + 3 p^2 + n p) mod 256) / 256; label[n] = (7 n + n div 10) mod 10
        inputs = ((7919 * n + 25 * p + 3 * p * p + n * p) % 256).astype(np.float64) / 256
        labels = ((7 * n[:, 0] + n[:, 0] // 10) % 10).astype(np.int32)
        source = f"the synthetic images ({dataset['formula']})"
    elif dataset["name"] == "mnist":
        # data/mnist.bin.gz (scripts/convert-mnist.py): a 20-byte header, 70,000 labels, then bytes k.
        with gzip.open(os.path.join(REPO, dataset["file"]), "rb") as handle:
            raw = handle.read()
        labels = np.frombuffer(raw, np.uint8, 70000, 20).astype(np.int32)
        inputs = np.frombuffer(raw, np.uint8, 70000 * 784, 70020).reshape(70000, 784) * dataset["pixel_scale"]
        source = "Rewind's built-in mnist"
    else:
        with gzip.open(os.path.join(REPO, dataset["file"]), "rt") as handle:
            rows = [[int(cell) for cell in row] for row in csv.reader(handle) if row]
        table = np.array(rows, dtype=np.float64)
        inputs = table[:, :-1] * dataset["pixel_scale"]
        labels = table[:, -1].astype(np.int32)
        source = "Rewind's built-in digits"

    def part(bounds, fingerprint):
        x, y = inputs[bounds[0]:bounds[1]], labels[bounds[0]:bounds[1]]
        # Sums of multiples of 1/16 (or 1/256) this small are exact: any parsing difference shows here.
        if float(x.sum()) != fingerprint["input_sum"] or int(y.sum()) != fingerprint["label_sum"]:
            sys.exit(f"rows {bounds} differ from {source}")
        return x, y

    return part(dataset["train_rows"], dataset["train_fingerprint"]), part(
        dataset["validation_rows"], dataset["validation_fingerprint"])


def network_layers(architecture):
    """The layers of an export's network, the output layer included, and its image shape (None
    for a table); the dense shorthand becomes hidden dense layers, each followed by the activation."""
    if "layers" in architecture:
        return architecture["layers"] + [{"type": "dense", "units": architecture["classes"]}], tuple(
            architecture["image"])
    sizes, layers = architecture["layer_sizes"], []
    for units in sizes[1:-1]:
        layers += [{"type": "dense", "units": units}, {"type": architecture["activation"]}]
    return layers + [{"type": "dense", "units": sizes[-1]}], None


def with_parameters(w, layers, blocks):
    """Yields (layer, weights, bias): the views of w in NetworkArchitecture's layout (weights
    flat, then the biases) for layers with parameters, None for the others."""
    block = 0
    for layer in layers:
        if layer["type"] not in ("dense", "conv2d"):
            yield layer, None, None
            continue
        wb, bb = blocks[block], blocks[block + 1]
        block += 2
        yield layer, w[wb["offset"]:wb["offset"] + wb["rows"] * wb["cols"]], w[bb["offset"]:bb["offset"] + bb["cols"]]


def same_padding(height, width, kernel, stride):
    """Rewind's `same` padding, (top, bottom, left, right): the odd pixel at the bottom/right."""
    out_h, out_w = -(-height // stride), -(-width // stride)
    pad_h = max((out_h - 1) * stride + kernel - height, 0)
    pad_w = max((out_w - 1) * stride + kernel - width, 0)
    return pad_h // 2, pad_h - pad_h // 2, pad_w // 2, pad_w - pad_w // 2


def network(w, x, layers, blocks, image):
    """The logits of a network given as layers, written independently of Rewind's kernels: dense
    layers as matrix products, convolutions with lax.conv_general_dilated (NHWC, weights HWIO: the
    layout of NetworkArchitecture, (kernel, kernel, in channels, filters) then the biases), pooling
    on non-overlapping windows. Max pooling takes the first maximum in row-major window order (an
    explicit argmax, so ties route where Rewind routes them, in every derivative)."""
    import jax
    import jax.numpy as jnp

    activations = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}
    a = x if image is None else x.reshape((x.shape[0],) + image)
    for layer, weights, bias in with_parameters(w, layers, blocks):
        kind = layer["type"]
        if kind == "dense":
            a = a.reshape(a.shape[0], -1) @ weights.reshape(-1, layer["units"]) + bias
        elif kind == "conv2d":
            k, stride, filters = layer["kernel"], layer["stride"], layer["filters"]
            height, width, channels = a.shape[1:]
            if layer["padding"] == "same":
                top, bottom, left, right = same_padding(height, width, k, stride)
                padding = [(top, bottom), (left, right)]
            else:
                padding = [(0, 0), (0, 0)]
            a = jax.lax.conv_general_dilated(
                a, weights.reshape(k, k, channels, filters), window_strides=(stride, stride), padding=padding,
                dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=jax.lax.Precision.HIGHEST) + bias
        elif kind in ("maxpool", "avgpool"):
            size = layer["size"]
            batch, height, width, channels = a.shape
            out_h, out_w = height // size, width // size
            windows = a[:, :out_h * size, :out_w * size, :].reshape(batch, out_h, size, out_w, size, channels)
            windows = windows.transpose(0, 1, 3, 5, 2, 4).reshape(batch, out_h, out_w, channels, size * size)
            if kind == "avgpool":
                a = jnp.sum(windows, axis=-1) / (size * size)
            else:
                first = jax.lax.stop_gradient(jnp.argmax(windows, axis=-1))
                a = jnp.take_along_axis(windows, first[..., None], axis=-1)[..., 0]
        elif kind == "flatten":
            a = a.reshape(a.shape[0], -1)
        else:
            a = activations[kind](a)
    return a


def run_child(path, gamma_kind, repeats, output):
    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    with open(path) as handle:
        export = json.load(handle)
    (x_train, y_train), (x_valid, y_valid) = load_data(export)

    blocks = export["blocks"]
    architecture = export["architecture"]
    layers, image = network_layers(architecture)
    n = blocks[-1]["offset"] + blocks[-1]["rows"] * blocks[-1]["cols"]
    block_of = np.concatenate([np.full(b["rows"] * b["cols"], k, dtype=np.int32) for k, b in enumerate(blocks)])
    assert block_of.shape == (n,)

    schedule = export["schedule"]
    alpha = jnp.asarray(schedule["learning_rates"], dtype=jnp.float64)          # (T, K)
    gamma = jnp.asarray(schedule["momenta_" + gamma_kind], dtype=jnp.float64)   # (T, K)
    l2 = jnp.asarray(schedule["l2"], dtype=jnp.float64)                         # (N)
    scales = jnp.asarray(schedule["init_scales"], dtype=jnp.float64)            # (K)
    noise = jnp.asarray(export["noise"], dtype=jnp.float64)                     # (N)
    batches = jnp.asarray(export["batches"], dtype=jnp.int32)                   # (T, B)
    x_train, y_train = jnp.asarray(x_train), jnp.asarray(y_train)
    x_valid, y_valid = jnp.asarray(x_valid), jnp.asarray(y_valid)
    block_of = jnp.asarray(block_of)

    def cross_entropy(w, x, y):
        a = network(w, x, layers, blocks, image)
        log_p = jax.nn.log_softmax(a, axis=1)
        return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))

    def training_loss(w, lam, x, y):
        return cross_entropy(w, x, y) + 0.5 * jnp.sum(lam * w * w)

    gradient = jax.grad(training_loss)

    def meta_objective(alpha, gamma, lam, s, w_offset):
        # w_offset = 0 makes w_1 = s*eps; its gradient is df/dw_1.
        w = s[block_of] * noise + w_offset

        def step(state, xs):
            w, v = state
            alpha_t, gamma_t, rows = xs
            g = gradient(w, lam, x_train[rows], y_train[rows])
            decay = gamma_t[block_of]
            v = decay * v - (1 - decay) * g
            w = w + alpha_t[block_of] * v
            return (w, v), None

        (w, _), _ = jax.lax.scan(step, (w, jnp.zeros_like(w)), (alpha, gamma, batches))
        return cross_entropy(w, x_valid, y_valid), w

    # w_1 = s*eps in float64 here; Rewind truncates it to the 2^-52 grid. Both must agree to that grid.
    start_gap = float(np.max(np.abs(np.asarray(scales[block_of] * noise) - np.asarray(export["initial_weights"]))))
    if start_gap > 2.0 ** -52:
        sys.exit(f"w_1 = s*eps differs from Rewind's initial weights by {start_gap:.3g}")

    hypergradient = jax.jit(jax.value_and_grad(meta_objective, argnums=(0, 1, 2, 3, 4), has_aux=True))
    arguments = (alpha, gamma, l2, scales, jnp.zeros(n, dtype=jnp.float64))

    ((objective, final_weights), grads), summary = compile_and_time(hypergradient, arguments, repeats)
    np.savez(
        output, objective=np.asarray(objective), final_weights=np.asarray(final_weights),
        **{name: np.asarray(value) for name, value in zip(GROUPS, grads)})
    print(json.dumps(summary))


def compile_and_time(function, arguments, repeats):
    """Compiles the jitted `function`, runs it once, then `repeats` timed runs; returns the first
    result and a summary: compile and run seconds, CPU seconds, peak and baseline RSS."""
    import jax

    # The runtime, the data and the arguments, before XLA compiles or allocates anything for the run.
    baseline = memory_kib("VmRSS")
    started = time.perf_counter()
    compiled = function.lower(*arguments).compile()
    compile_seconds = time.perf_counter() - started
    result = jax.block_until_ready(compiled(*arguments))

    reset_peak_memory()
    seconds, cpu = [], []
    for _ in range(repeats):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        jax.block_until_ready(compiled(*arguments))
        seconds.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append((after.ru_utime - usage.ru_utime, after.ru_stime - usage.ru_stime))
    return result, {
        "compile_seconds": compile_seconds,
        "seconds": seconds,
        "user_seconds": [user for user, _ in cpu],
        "system_seconds": [system for _, system in cpu],
        "threads": memory_kib("Threads"),
        "baseline_rss_bytes": baseline * 1024,
        "peak_rss_bytes": memory_kib("VmHWM") * 1024,
        "jax": jax.__version__,
    }


# --------------------------------------------------------------------------------------------
# Parent: run the children, compare, print tables.
# --------------------------------------------------------------------------------------------

def spawn(path, gamma_kind, repeats, directory):
    output = os.path.join(directory, f"{os.path.basename(path)}.{gamma_kind}.npz")
    command = [sys.executable, os.path.abspath(__file__), "--child", path, "--gamma", gamma_kind,
               "--repeats", str(repeats), "--npz", output]
    return run_child_process(command, output, f"{path} ({gamma_kind})")


def run_child_process(command, output, label, single_thread=True):
    """Runs one child, returns its JSON summary with the arrays it saved to `output` as "values"."""
    environment = dict(os.environ, JAX_ENABLE_X64="1", JAX_PLATFORMS="cpu")
    if single_thread:
        # One thread, like Rewind's BLAS: the comparison is per core, not per machine.
        environment.setdefault("XLA_FLAGS", SINGLE_THREAD_FLAGS)
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"JAX child failed on {label}:\n{result.stderr}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    import numpy as np
    with np.load(output) as data:
        summary["values"] = {key: data[key] for key in data.files}
    return summary


def relative(a, b):
    import numpy as np
    a, b = np.ravel(np.asarray(a, dtype=np.float64)), np.ravel(np.asarray(b, dtype=np.float64))
    scale = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else float(np.linalg.norm(a - b))


def compare(path, repeats, directory, requested_too=True):
    with open(path) as handle:
        export = json.load(handle)
    rewind = export["rewind"]
    applied = spawn(path, "applied", repeats, directory)
    # The float-γ run only shows what the rational momentum changes: skipped for the speed runs.
    requested = spawn(path, "requested", 1, directory) if requested_too else applied
    label = f"{export['problem']} T={export['iterations']}"
    rows = []
    for name in ["objective", "final_weights"] + GROUPS:
        ours = rewind[name] if name in ("objective", "final_weights") else rewind["hypergradient"][name]
        rows.append((name, relative(ours, applied["values"][name]), relative(ours, requested["values"][name]),
                     relative(requested["values"][name], applied["values"][name])))
    return {"label": label, "export": export, "rows": rows, "applied": applied}


def timing(seconds):
    # The minimum shows how much of a median is other load on the shared machine.
    return f"{statistics.median(seconds):.3f} [{min(seconds):.3f}]"


def peak(measured):
    """Peak RSS during the timed runs, and how far it rose above the process before the first run."""
    top, start = measured["peak_rss_bytes"] / 1048576, measured["baseline_rss_bytes"] / 1048576
    return f"{top:.0f} MiB (+{top - start:.0f})"


def tables(results, tolerance=TOLERANCE):
    lines = ["#### Agreement: relative difference ‖a − b‖ / ‖b‖ per group", ""]
    lines.append("| problem | group | Rewind vs JAX, γ = n/2^32 | Rewind vs JAX, float γ | JAX float γ vs JAX n/2^32 |")
    lines.append("|---|---|---:|---:|---:|")
    for result in results:
        for name, same, floating, effect in result["rows"]:
            lines.append(f"| {result['label']} | {name} | {same:.2e} | {floating:.2e} | {effect:.2e} |")
    lines += ["", "#### Time and peak memory of one hypergradient (forward + reverse)", ""]
    lines.append("| problem | Rewind (s), median [min] | JAX (s), median [min] | JAX user + sys CPU (s) | JAX compile (s) | Rewind peak RSS (above start) | JAX peak RSS (above start) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        rewind, jax_run = result["export"]["rewind"], result["applied"]
        lines.append(
            f"| {result['label']} | {timing(rewind['seconds'])} | {timing(jax_run['seconds'])} "
            f"| {statistics.median(jax_run['user_seconds']):.3f} + {statistics.median(jax_run['system_seconds']):.3f} | {jax_run['compile_seconds']:.2f} "
            f"| {peak(rewind)} | {peak(jax_run)} |")
    worst = max(same for result in results for _, same, _, _ in result["rows"])
    lines += ["", f"Largest Rewind-vs-JAX gap with the same γ: {worst:.2e} (target ≤ {tolerance:.0e}).", ""]
    lines.append(
        f"JAX {results[0]['applied']['jax']}, float64, CPU, one XLA thread; Rewind with one BLAS thread; both pinned "
        "to one core when run by bench/run-jax-comparison.sh. Times are "
        "medians of the timed runs (JAX after compilation); peak RSS is VmHWM over the timed runs, reset just "
        "before them; \"above start\" subtracts the RSS of the process with its data loaded (JAX: before "
        "compiling, so compilation and XLA's buffers count as the run's).")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exports", nargs="*", help="files written by `rewind export`")
    parser.add_argument("--repeats", type=int, default=5, help="timed JAX runs per file (median reported)")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE,
                        help="largest Rewind-vs-JAX relative gap accepted with the same γ")
    parser.add_argument("--applied-only", action="store_true",
                        help="skip the float-γ JAX run (its columns then read 0)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--gamma", choices=["applied", "requested"], help=argparse.SUPPRESS)
    parser.add_argument("--npz", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        return run_child(arguments.child, arguments.gamma, arguments.repeats, arguments.npz)
    if not arguments.exports:
        parser.error("give at least one file written by `rewind export`")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rewind-jax-") as directory:
        results = []
        for path in arguments.exports:
            print(f"JAX on {path} ...", file=sys.stderr, flush=True)
            results.append(compare(path, arguments.repeats, directory, not arguments.applied_only))
    text = tables(results, arguments.tolerance) + (
        f" Load average (1 min) on this machine: {load_before:.1f} before the JAX runs, "
        f"{os.getloadavg()[0]:.1f} after; on a shared machine a median above its minimum is other load.")
    print(text)
    if arguments.markdown:
        with open(arguments.markdown, "w") as handle:
            handle.write(text + "\n")
    if any(same > arguments.tolerance for result in results for _, same, _, _ in result["rows"]):
        sys.exit(f"some group differs from JAX by more than {arguments.tolerance:.0e} with the same arithmetic")


if __name__ == "__main__":
    main()
