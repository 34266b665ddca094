#!/usr/bin/env python3
"""One table: Rewind's and JAX's time and peak memory per hypergradient on the canonical problem.

Input: files written by `rewind export --problem mlp` (one per T). For each, JAX recomputes the same
hypergradient (reverse mode through the unrolled loop, float64, jit, compile excluded) in its own
process, with the XLA thread settings of the environment (bench/run-speed-comparison.sh sets them),
and the table shows both medians, their ratio (Rewind / JAX: below 1 means Rewind is faster), peak
RSS, and the largest relative gap between the two hypergradients as a check that both computed the
same thing.

Usage (bench/run-speed-comparison.sh does all of it):
    python bench/speed_comparison.py EXPORT.json [EXPORT.json ...] [--repeats 5] [--markdown OUT.md]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jax_reference  # noqa: E402  (the child process and the comparison helpers)


def baseline_row(path):
    """Another build's `rewind export` of the same problem: its times only."""
    with open(path) as handle:
        rewind = json.load(handle)["rewind"]
    return {"seconds": statistics.median(rewind["seconds"]), "min": min(rewind["seconds"]),
            "cpu": statistics.median(rewind.get("cpu_seconds", rewind["seconds"]))}


def row(path, repeats, directory):
    with open(path) as handle:
        export = json.load(handle)
    rewind = export["rewind"]
    jax_run = jax_reference.spawn(path, "applied", repeats, directory)
    gap = max(
        jax_reference.relative(
            rewind["hypergradient"][name] if name in jax_reference.GROUPS else rewind[name],
            jax_run["values"][name])
        for name in ["objective"] + jax_reference.GROUPS)
    ours, theirs = statistics.median(rewind["seconds"]), statistics.median(jax_run["seconds"])
    # CPU time (user + system, every thread) barely depends on other load; on an idle machine the
    # wall time is about CPU time / threads when the threads are kept busy.
    our_cpu = statistics.median(rewind.get("cpu_seconds", rewind["seconds"]))
    their_cpu = statistics.median([u + s for u, s in zip(jax_run["user_seconds"], jax_run["system_seconds"])])
    mib = 1048576
    plain = statistics.median(rewind["plain_seconds"]) if rewind.get("plain_seconds") else None
    plain_cpu = statistics.median(rewind["plain_cpu_seconds"]) if rewind.get("plain_cpu_seconds") else None
    return {
        "T": export["iterations"], "problem": export["problem"],
        "rewind_plain": plain, "training_ratio": ours / plain if plain else None,
        "rewind_plain_cpu": plain_cpu, "training_cpu_ratio": our_cpu / plain_cpu if plain_cpu else None,
        "rewind_seconds": ours, "rewind_min": min(rewind["seconds"]),
        "jax_seconds": theirs, "jax_min": min(jax_run["seconds"]),
        "ratio": ours / theirs, "ratio_of_minima": min(rewind["seconds"]) / min(jax_run["seconds"]),
        "rewind_cpu": our_cpu, "jax_cpu": their_cpu, "cpu_ratio": our_cpu / their_cpu,
        "rewind_peak_mib": rewind["peak_rss_bytes"] / mib, "jax_peak_mib": jax_run["peak_rss_bytes"] / mib,
        "threads": rewind.get("threads", 1), "jax_threads": jax_run["threads"],
        "gap": gap, "jax": jax_run["jax"], "fingerprint": rewind.get("numeric_fingerprint", ""),
    }


def table(rows):
    lines = [
        "| T | Rewind (s), median [min] | JAX (s), median [min] | ratio Rewind/JAX (of minima) "
        "| CPU s Rewind / JAX (ratio) | Rewind peak RSS | JAX peak RSS | hypergradient gap |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with_plain = all(r.get("rewind_plain") for r in rows)
    if with_plain:
        lines[0] += " Rewind plain training (s) | hypergradient / training |"
        lines[1] += "---:|---:|"
        if all(r.get("rewind_plain_cpu") for r in rows):
            lines[0] += " (CPU) |"
            lines[1] += "---:|"
    with_baseline = all(r.get("baseline") for r in rows)
    if with_baseline:
        lines[0] += " baseline build: hypergradient (s), median [min] | CPU s | baseline / this build (CPU) |"
        lines[1] += "---:|---:|---:|"
    for r in rows:
        lines.append(
            f"| {r['T']} | {r['rewind_seconds']:.4f} [{r['rewind_min']:.4f}] | {r['jax_seconds']:.4f} [{r['jax_min']:.4f}] "
            f"| **{r['ratio']:.2f}** ({r['ratio_of_minima']:.2f}) "
            f"| {r['rewind_cpu']:.4f} / {r['jax_cpu']:.4f} ({r['cpu_ratio']:.2f}) | {r['rewind_peak_mib']:.0f} MiB "
            f"| {r['jax_peak_mib']:.0f} MiB | {r['gap']:.1e} |"
            + (f" {r['rewind_plain']:.4f} | {r['training_ratio']:.2f} |" if with_plain else "")
            + (f" {r['training_cpu_ratio']:.2f} |" if with_plain and r.get("rewind_plain_cpu") else "")
            + (f" {r['baseline']['seconds']:.4f} [{r['baseline']['min']:.4f}] | {r['baseline']['cpu']:.4f} "
               f"| {r['baseline']['seconds'] / r['rewind_seconds']:.2f} ({r['baseline']['cpu'] / r['rewind_cpu']:.2f}) |"
               if with_baseline else ""))
    first = rows[0]
    problem = {
        "mnist": "MNIST at the paper's size (mnist rows 0-9,999 / 10,000-19,999, MLP 784-50-50-50-10 tanh, "
                 "batch 200 with replacement)",
    }.get(first.get("problem"), "Canonical problem (digits 1000/797, MLP 64-50-50-10 tanh, batch 100)")
    lines += ["", (
        f"{problem}, one hypergradient = T forward "
        f"and T reverse steps. Rewind: {first['threads']} trainer thread(s), BLAS on one thread, "
        f"{first['fingerprint']}. JAX {first['jax']}: float64, CPU, jit, compile excluded, "
        f"{first['jax_threads']} OS threads in its process. Times are wall-clock medians [minima]; CPU s is the "
        f"median user + system time of one run over all threads. Peak RSS is VmHWM over the timed runs. "
        f"Load average (1 min) when the table was printed: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exports", nargs="+", help="files written by `rewind export --problem mlp`")
    parser.add_argument("--baseline", action="append", default=[],
                        help="another build's export of the same problem, one per EXPORT in order (timed beside it)")
    parser.add_argument("--repeats", type=int, default=5, help="timed JAX runs per file (median reported)")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--json", help="also write the rows as JSON to this file")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rewind-speed-") as directory:
        rows = []
        for path in arguments.exports:
            print(f"JAX on {path} ...", file=sys.stderr, flush=True)
            rows.append(row(path, arguments.repeats, directory))
    for r, path in zip(rows, arguments.baseline):
        r["baseline"] = baseline_row(path)
    text = table(rows)
    print(text)
    if arguments.markdown:
        with open(arguments.markdown, "w") as handle:
            handle.write(text + "\n")
    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    if any(r["gap"] > 1e-10 for r in rows):
        sys.exit("Rewind and JAX disagree by more than 1e-10: they did not compute the same hypergradient")


if __name__ == "__main__":
    main()
