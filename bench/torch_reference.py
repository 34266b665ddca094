#!/usr/bin/env python3
"""Recompute a layered (conv) export's hypergradient with PyTorch: float64 on the CPU, reverse mode
through the unrolled SGD-momentum loop with torch.func, a second anchor beside bench/jax_reference.py.

Input: a JSON file written by `rewind export --problem conv|conv-small|lenet` (or a dense problem).
The loop is the JAX reference's, in the same arithmetic:

    g = grad L(w; batch_t);  v <- gamma_t v - (1 - gamma_t) g;  w <- w + alpha_t v

with gamma = n/2^32 as Rewind applies it, and torch.func.grad_and_value of the validation loss
f(w_{T+1}) with respect to (alpha, gamma, lambda, s, w_1), the inner gradient itself a
torch.func.grad (so the outer one differentiates through it: forward-over-reverse is not needed,
reverse-over-reverse through the stored trajectory is what plain autodiff does). The network is
written independently of Rewind's kernels: torch.nn.functional.conv2d on NCHW with the weights
permuted from Rewind's (kernel, kernel, in channels, filters), explicit `same` padding with the odd
pixel at the bottom/right, pooling on reshaped windows, max pooling through an explicit argmax (the
first maximum in row-major window order, detached), and the flatten in NHWC order.

Every run is a child process, so its peak RSS (VmHWM) is its own, with an address-space limit
(--memory-cap GiB): a run that needs more stops with "out of memory" instead of pushing the shared
machine into the kernel's OOM killer.

    python bench/torch_reference.py EXPORT.json [--threads 1] [--repeats 1] [--memory-cap 12]

Needs torch and numpy (`PYTHON=... bench/layered_speed.py` runs it for the speed table).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# Data loading, the groups and the comparison are the JAX reference's (numpy only; no JAX needed).
from jax_reference import (  # noqa: E402
    GROUPS, load_data, memory_kib, network_layers, relative, reset_peak_memory, same_padding, with_parameters)


def network(w, x, layers, blocks, image):
    """Logits of the layered network; images travel as NCHW, back to NHWC before any dense layer."""
    import torch
    import torch.nn.functional as F

    activations = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}
    a = x if image is None else x.reshape((x.shape[0],) + image).permute(0, 3, 1, 2)
    for layer, weights, bias in with_parameters(w, layers, blocks):
        kind = layer["type"]
        if kind == "dense":
            if a.dim() == 4:
                a = a.permute(0, 2, 3, 1)
            a = a.reshape(a.shape[0], -1) @ weights.reshape(-1, layer["units"]) + bias
        elif kind == "conv2d":
            k, stride, filters = layer["kernel"], layer["stride"], layer["filters"]
            channels, height, width = a.shape[1:]
            if layer["padding"] == "same":
                top, bottom, left, right = same_padding(height, width, k, stride)
                a = F.pad(a, (left, right, top, bottom))
            kernel = weights.reshape(k, k, channels, filters).permute(3, 2, 0, 1)  # HWIO -> OIHW
            a = F.conv2d(a, kernel, bias, stride=stride)
        elif kind in ("maxpool", "avgpool"):
            size = layer["size"]
            batch, channels, height, width = a.shape
            out_h, out_w = height // size, width // size
            windows = a[:, :, :out_h * size, :out_w * size].reshape(batch, channels, out_h, size, out_w, size)
            windows = windows.permute(0, 1, 2, 4, 3, 5).reshape(batch, channels, out_h, out_w, size * size)
            if kind == "avgpool":
                a = windows.sum(dim=-1) / (size * size)
            else:
                first = torch.argmax(windows.detach(), dim=-1, keepdim=True)  # the first maximum
                a = torch.gather(windows, -1, first)[..., 0]
        elif kind == "flatten":
            if a.dim() == 4:
                a = a.permute(0, 2, 3, 1)
            a = a.reshape(a.shape[0], -1)
        else:
            a = activations[kind](a)
    return a


def run_child(path, repeats, threads, output):
    import numpy as np
    import torch
    from torch.func import grad, grad_and_value

    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)
    with open(path) as handle:
        export = json.load(handle)
    (x_train, y_train), (x_valid, y_valid) = load_data(export)
    blocks = export["blocks"]
    layers, image = network_layers(export["architecture"])
    n = blocks[-1]["offset"] + blocks[-1]["rows"] * blocks[-1]["cols"]
    block_of = torch.as_tensor(
        np.concatenate([np.full(b["rows"] * b["cols"], k, dtype=np.int64) for k, b in enumerate(blocks)]))
    assert block_of.shape == (n,)

    def tensor(values, dtype=torch.float64):
        return torch.as_tensor(np.asarray(values), dtype=dtype)

    schedule = export["schedule"]
    alpha, gamma = tensor(schedule["learning_rates"]), tensor(schedule["momenta_applied"])  # (T, K)
    l2, scales, noise = tensor(schedule["l2"]), tensor(schedule["init_scales"]), tensor(export["noise"])
    batches = tensor(export["batches"], torch.int64)  # (T, B)
    x_train, y_train = tensor(x_train), tensor(y_train, torch.int64)
    x_valid, y_valid = tensor(x_valid), tensor(y_valid, torch.int64)

    def cross_entropy(w, x, y):
        log_p = torch.log_softmax(network(w, x, layers, blocks, image), dim=1)
        return -torch.gather(log_p, 1, y[:, None]).mean()

    def validation_loss(w):
        # In chunks of 1,000 images (Rewind's are 128): one pass over 10,000 28x28 images would
        # unfold the second conv of LeNet into a 3.1 GB matrix at once. Same value, summed in order.
        total = 0
        for start in range(0, x_valid.shape[0], 1000):
            log_p = torch.log_softmax(network(w, x_valid[start:start + 1000], layers, blocks, image), dim=1)
            total = total - torch.gather(log_p, 1, y_valid[start:start + 1000, None]).sum()
        return total / x_valid.shape[0]

    def training_loss(w, lam, x, y):
        return cross_entropy(w, x, y) + 0.5 * torch.sum(lam * w * w)

    gradient = grad(training_loss)

    def meta_objective(alpha, gamma, lam, s, w_offset):
        # w_offset = 0 makes w_1 = s*eps; its gradient is df/dw_1.
        w = s[block_of] * noise + w_offset
        v = torch.zeros_like(w)
        for t in range(alpha.shape[0]):
            rows = batches[t]
            g = gradient(w, lam, x_train[rows], y_train[rows])
            decay = gamma[t][block_of]
            v = decay * v - (1 - decay) * g
            w = w + alpha[t][block_of] * v
        return validation_loss(w), w

    hypergradient = grad_and_value(meta_objective, argnums=(0, 1, 2, 3, 4), has_aux=True)
    arguments = (alpha, gamma, l2, scales, torch.zeros(n))
    baseline = memory_kib("VmRSS")
    reset_peak_memory()
    seconds, cpu, result = [], [], None
    for _ in range(repeats):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        result = hypergradient(*arguments)
        seconds.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append(after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime)
    grads, (objective, final_weights) = result
    np.savez(output, objective=objective.detach().numpy(), final_weights=final_weights.detach().numpy(),
             **{name: value.detach().numpy() for name, value in zip(GROUPS, grads)})
    print(json.dumps({
        "seconds": seconds, "cpu_seconds": cpu, "baseline_rss_bytes": baseline * 1024,
        "peak_rss_bytes": memory_kib("VmHWM") * 1024, "threads": threads, "torch": torch.__version__}))


def compare(path, repeats=1, threads=1, memory_cap_gib=12.0, directory=None):
    """Runs the child on `path`; returns its summary with "agreement" (relative difference from
    Rewind's values per group), or {"out_of_memory": True, ...} when it hit the memory cap."""
    import numpy as np

    with open(path) as handle:
        rewind = json.load(handle)["rewind"]
    with tempfile.TemporaryDirectory(prefix="rewind-torch-") as scratch:
        output = os.path.join(directory or scratch, os.path.basename(path) + ".torch.npz")
        command = [sys.executable, os.path.abspath(__file__), "--child", path, "--repeats", str(repeats),
                   "--threads", str(threads), "--npz", output]
        cap = int(memory_cap_gib * 2 ** 30)

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

        environment = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        result = subprocess.run(command, capture_output=True, text=True, preexec_fn=limit, env=environment)
        if result.returncode != 0:
            text = result.stderr.strip()
            if "can't allocate memory" in text or "MemoryError" in text or "out of memory" in text.lower():
                return {"out_of_memory": True, "memory_cap_bytes": cap, "message": text.splitlines()[-1]}
            sys.exit(f"PyTorch child failed on {path}:\n{text}")
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        with np.load(output) as data:
            values = {key: data[key] for key in data.files}
    summary["agreement"] = {
        name: relative(rewind[name] if name in ("objective", "final_weights") else rewind["hypergradient"][name],
                       values[name]) for name in ["objective", "final_weights"] + GROUPS}
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exports", nargs="*", help="files written by `rewind export`")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per file")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--memory-cap", type=float, default=12.0, help="address-space limit of a run, GiB")
    parser.add_argument("--tolerance", type=float, default=1e-10, help="largest relative gap accepted")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--npz", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        return run_child(arguments.child, arguments.repeats, arguments.threads, arguments.npz)
    if not arguments.exports:
        parser.error("give at least one file written by `rewind export`")
    worst = 0.0
    for path in arguments.exports:
        summary = compare(path, arguments.repeats, arguments.threads, arguments.memory_cap)
        if summary.get("out_of_memory"):
            print(f"{path}: out of memory at the {arguments.memory_cap:g} GiB cap ({summary['message']})")
            continue
        print(f"{path}: {min(summary['seconds']):.2f} s wall, {min(summary['cpu_seconds']):.2f} s CPU, peak RSS "
              f"{summary['peak_rss_bytes'] / 2 ** 20:.0f} MiB (+{(summary['peak_rss_bytes'] - summary['baseline_rss_bytes']) / 2 ** 20:.0f})")
        for name, gap in summary["agreement"].items():
            print(f"  {name:16s} {gap:.2e}")
            worst = max(worst, gap)
    if worst > arguments.tolerance:
        sys.exit(f"some group differs from Rewind by more than {arguments.tolerance:.0e}")


if __name__ == "__main__":
    main()
