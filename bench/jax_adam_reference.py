#!/usr/bin/env python3
"""Recompute Rewind's exact Adam hypergradients with JAX and compare them, group by group.

Input: JSON files written by `rewind bench-adam --dump DIR` (problem, batches, initial weights,
the schedule as Rewind applies it, Rewind's hypergradient for every group, time and peak memory).
For each file this script runs the same forward loop, with Rewind's order of operations,

    g = grad L(w; batch_t)                          (L includes 0.5 * sum(l2 * w^2))
    P1 <- P1 * beta1_t;  P2 <- P2 * beta2_t
    m <- beta1_t m + (1 - beta1_t) g;  v <- beta2_t v + (1 - beta2_t) g g
    w <- rho_t w - alpha_t (m / (1 - P1)) / (sqrt(v / (1 - P2)) + eps),   rho_t = 1 - alpha_t wd

unrolled with jax.lax.scan in float64, and takes jax.grad of the validation loss f(w_{T+1}) with
respect to (alpha, beta1, beta2, eps, l2, s, wd, w_1). beta1 and beta2 are the rationals n/2^32
the dynamics apply; rho_t is 1 - alpha_t wd plus the (constant) amount Rewind's rounding of rho to
n/2^32 moved it, so JAX's forward is Rewind's and d rho / d alpha = -wd, d rho / d wd = -alpha as
in Rewind. What remains different is only Rewind's fixed-point grid (w on 2^-52, m and v on 2^-100);
a second JAX run rounds its own forward pass to that grid (--grid) to show how much the grid alone
moves each group.

Reports per group the relative difference ||a - b|| / ||b|| and the largest elementwise gap
max|a - b| / max|b|, and the time and peak memory of one hypergradient on both sides.

Usage (bench/run-jax-adam-comparison.sh does all of it):
    python bench/jax_adam_reference.py EXPORT.json [EXPORT.json ...] [--repeats 5] [--markdown OUT.md]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jax_reference import (  # noqa: E402  (the SGD comparison's helpers: data, memory, tables)
    compile_and_time, load_data, peak, relative, run_child_process, timing)

TOLERANCE = 1e-10
GROUPS = ["learning_rates", "beta1", "beta2", "epsilon", "l2", "init_scales", "weight_decay", "initial_weights"]


def run_child(path, repeats, output, grid=False):
    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    with open(path) as handle:
        export = json.load(handle)
    (x_train, y_train), (x_valid, y_valid) = load_data(export)

    blocks = export["blocks"]
    sizes = export["architecture"]["layer_sizes"]
    activation = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}[
        export["architecture"]["activation"]]
    n = blocks[-1]["offset"] + blocks[-1]["rows"] * blocks[-1]["cols"]
    block_of = np.concatenate([np.full(b["rows"] * b["cols"], k, dtype=np.int32) for k, b in enumerate(blocks)])

    schedule = export["schedule"]
    f64 = lambda name: jnp.asarray(schedule[name], dtype=jnp.float64)  # noqa: E731
    alpha, beta1, beta2 = f64("learning_rates"), f64("beta1_applied"), f64("beta2_applied")   # (T, K)
    epsilon, l2, scales, wd = f64("epsilon"), f64("l2"), f64("init_scales"), f64("weight_decay")
    # Rewind's rho is 1 - alpha*wd rounded to n/2^32; the rounding is a constant offset here.
    rho_offset = jnp.asarray(
        np.asarray(schedule["decay_applied"]) - (1 - np.asarray(schedule["learning_rates"]) * np.asarray(wd)))
    noise = jnp.asarray(export["noise"], dtype=jnp.float64)
    batches = jnp.asarray(export["batches"], dtype=jnp.int32)
    x_train, y_train = jnp.asarray(x_train), jnp.asarray(y_train)
    x_valid, y_valid = jnp.asarray(x_valid), jnp.asarray(y_valid)
    block_of = jnp.asarray(block_of)

    def cross_entropy(w, x, y):
        a = x
        for layer in range(len(sizes) - 1):
            wb, bb = blocks[2 * layer], blocks[2 * layer + 1]
            weights = w[wb["offset"]:wb["offset"] + wb["rows"] * wb["cols"]].reshape(wb["rows"], wb["cols"])
            a = a @ weights + w[bb["offset"]:bb["offset"] + bb["cols"]]
            if layer < len(sizes) - 2:
                a = activation(a)
        log_p = jax.nn.log_softmax(a, axis=1)
        return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))

    def snap(x, on, truncate=False, bits=52):
        # With --grid: Rewind's fixed-point grid, 2^-52 for w and 2^-100 for m, in the forward pass
        # only (the derivative is the identity's, as in Rewind's reverse pass). Increments are
        # truncated as Rewind truncates them; the decayed products are rounded to nearest, where
        # Rewind's buffer rounds by its stored digits (the same size of error, not the same bits).
        if not on:
            return x
        scaled = x * 2.0 ** bits
        snapped = (jnp.trunc(scaled) if truncate else jnp.round(scaled)) * 2.0 ** -bits
        return x + jax.lax.stop_gradient(snapped - x)

    gradient = jax.grad(lambda w, lam, x, y: cross_entropy(w, x, y) + 0.5 * jnp.sum(lam * w * w))

    def meta_objective(alpha, beta1, beta2, eps, lam, s, wd, w_offset):
        w = s[block_of] * noise + w_offset

        def step(state, xs):
            w, m, v, p1, p2 = state
            alpha_t, b1_t, b2_t, offset_t, rows = xs
            g = gradient(w, lam, x_train[rows], y_train[rows])
            p1, p2 = p1 * b1_t, p2 * b2_t
            b1, b2 = b1_t[block_of], b2_t[block_of]
            m = snap(b1 * m, grid, bits=100) + snap((1 - b1) * g, grid, truncate=True, bits=100)
            v = b2 * v + (1 - b2) * g * g
            c1, c2, a = (1 - p1)[block_of], (1 - p2)[block_of], alpha_t[block_of]
            scaled = v / c2
            # sqrt'(0) is infinite; Rewind skips v's adjoint where v = 0, and so does this.
            root = jnp.where(scaled > 0, jnp.sqrt(jnp.where(scaled > 0, scaled, 1.0)), 0.0)
            rho = (1 - alpha_t * wd + offset_t)[block_of]
            w = snap(rho * w, grid) - snap(a * (m / c1) / (root + eps), grid, truncate=True)
            return (w, m, v, p1, p2), None

        k = s.shape[0]
        start = (w, jnp.zeros_like(w), jnp.zeros_like(w), jnp.ones(k), jnp.ones(k))
        (w, *_), _ = jax.lax.scan(step, start, (alpha, beta1, beta2, rho_offset, batches))
        return cross_entropy(w, x_valid, y_valid), w

    start_gap = float(np.max(np.abs(np.asarray(scales[block_of] * noise) - np.asarray(export["initial_weights"]))))
    if start_gap > 2.0 ** -52:
        sys.exit(f"w_1 = s*eps differs from Rewind's initial weights by {start_gap:.3g}")

    hypergradient = jax.jit(jax.value_and_grad(meta_objective, argnums=tuple(range(8)), has_aux=True))
    arguments = (alpha, beta1, beta2, epsilon, l2, scales, wd, jnp.zeros(n, dtype=jnp.float64))

    ((objective, final_weights), grads), summary = compile_and_time(hypergradient, arguments, repeats)
    np.savez(
        output, objective=np.asarray(objective), final_weights=np.asarray(final_weights),
        **{name: np.asarray(value) for name, value in zip(GROUPS, grads)})
    print(json.dumps(summary))


def spawn(path, repeats, directory, grid=False):
    output = os.path.join(directory, f"{os.path.basename(path)}.{int(grid)}.npz")
    command = [sys.executable, os.path.abspath(__file__), "--child", path, "--repeats", str(repeats), "--npz", output]
    if grid:
        command.append("--grid")
    return run_child_process(command, output, path, single_thread=os.environ.get("JAX_THREADS", "1") == "1")


def largest(a, b):
    import numpy as np
    a, b = np.ravel(np.asarray(a, dtype=np.float64)), np.ravel(np.asarray(b, dtype=np.float64))
    scale = np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else float(np.max(np.abs(a - b)))


def compare(path, repeats, directory):
    with open(path) as handle:
        export = json.load(handle)
    rewind = export["rewind"]
    jax_run = spawn(path, repeats, directory)
    other = spawn(path, 1, directory, grid=True)
    label = f"{export['problem']} T={export['iterations']}"
    rows = []
    for name in ["objective", "final_weights"] + GROUPS:
        ours = rewind[name] if name in ("objective", "final_weights") else rewind["hypergradient"][name]
        theirs = jax_run["values"][name]
        rows.append((name, relative(ours, theirs), largest(ours, theirs), relative(other["values"][name], theirs)))
    return {"label": label, "export": export, "rows": rows, "jax": jax_run}


def tables(results):
    lines = ["#### Agreement with JAX per group", "",
             "| problem | group | ‖Rewind − JAX‖ / ‖JAX‖ | max \\|Rewind − JAX\\| / max \\|JAX\\| "
             "| ‖JAX on Rewind's grid − JAX‖ / ‖JAX‖ |", "|---|---|---:|---:|---:|"]
    for result in results:
        for name, norm, worst, floor in result["rows"]:
            lines.append(f"| {result['label']} | {name} | {norm:.2e} | {worst:.2e} | {floor:.2e} |")
    lines += ["", "#### Time and peak memory of one Adam hypergradient (forward + reverse)", "",
              "| problem | Rewind (s), median [min] | JAX (s), median [min] | Rewind / JAX | JAX compile (s) "
              "| Rewind peak RSS (above start) | JAX peak RSS (above start) |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        rewind, jax_run = result["export"]["rewind"], result["jax"]
        ratio = statistics.median(rewind["seconds"]) / statistics.median(jax_run["seconds"])
        lines.append(
            f"| {result['label']} | {timing(rewind['seconds'])} | {timing(jax_run['seconds'])} | {ratio:.2f} "
            f"| {jax_run['compile_seconds']:.2f} | {peak(rewind)} | {peak(jax_run)} |")
    worst = max(norm for result in results for _, norm, _, _ in result["rows"])
    lines += ["", f"Largest Rewind-vs-JAX relative gap: {worst:.2e} (target ≤ {TOLERANCE:.0e}, or ten times the gap "
              "that Rewind's fixed-point grid alone opens in JAX, where that is larger).", "",
              f"JAX {results[0]['jax']['jax']}, float64, CPU; Rewind with one BLAS thread. Times are medians "
              "of the timed runs (JAX after compilation); peak RSS is VmHWM over the timed runs, reset just "
              "before them."]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exports", nargs="*", help="files written by `rewind bench-adam --dump DIR`")
    parser.add_argument("--repeats", type=int, default=5, help="timed JAX runs per file (median reported)")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--npz", help=argparse.SUPPRESS)
    parser.add_argument("--grid", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        return run_child(arguments.child, arguments.repeats, arguments.npz, arguments.grid)
    if not arguments.exports:
        parser.error("give at least one file written by `rewind bench-adam --dump DIR`")
    with tempfile.TemporaryDirectory(prefix="rewind-jax-adam-") as directory:
        results = []
        for path in arguments.exports:
            print(f"JAX on {path} ...", file=sys.stderr, flush=True)
            results.append(compare(path, arguments.repeats, directory))
    text = tables(results) + f" Load average (1 min): {os.getloadavg()[0]:.1f}."
    print(text)
    if arguments.markdown:
        with open(arguments.markdown, "w") as handle:
            handle.write(text + "\n")
    # Where rounding JAX's own forward pass to Rewind's grid already moves a group by more, the bar
    # is ten times that.
    if any(norm > max(TOLERANCE, 10 * floor) for result in results for _, norm, _, floor in result["rows"]):
        sys.exit(f"some group differs from JAX by more than {TOLERANCE:.0e} and ten times the grid's own effect")


if __name__ == "__main__":
    main()
