#!/usr/bin/env python3
"""Rewind against Optuna's TPE and random search, on equal wall-clock budgets.

Every tuner trains with the same code: each trial of TPE and random search is one `rewind run` of
a spec with `meta.iterations: 0` (one training run with the trial's hyperparameters, evaluated),
and Rewind is one `rewind run` of the tuning spec. The driver timestamps every result as it
arrives, so the wall-clock times include process start-up and each tuner's own overhead.

Per problem and repeat (a repeat changes the shuffled split and the tuners' seeds):
  1. Rewind tunes its spec (hypergradients, guard on); its wall time is the budget B.
  2. TPE, one seed: every trial trains with the same seed, as most users run it.
  3. TPE, averaged: every trial's objective is the mean over 3 fresh seeds (meta.seeds: 3).
  4. Random search, one seed, log-uniform over the same box as TPE.
Each tuner's incumbent (its best by its own objective, on the validation split) is scored on the
held-out test split, averaged over 5 fresh seeds the tuners never saw. The TPE and random-search
space is the four global hyperparameters (learning rate, momentum, L2, initial scale); Rewind
learns the schedules or the per-weight penalties of its spec.

  bench/compare_tuners.py --rewind PATH [--repeats 3] [--out DIR]

Writes DIR/results.json, DIR/table.md and DIR/compare-tuners-PROBLEM.svg (best test loss so far
against wall-clock time, mean over repeats).
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import optuna

EVAL_SEED = 1000  # fresh seeds 1000..1004 for scoring; the tuners use 0..999
EVAL_SEEDS = 5
AVERAGED_SEEDS = 3
DIVERGED = 10.0  # the objective of a trial whose training diverged (ln 10 = 2.3 is chance)

BOX = {  # TPE and random search: log-uniform bounds of the four global hyperparameters
    "learning_rate": (0.01, 20.0),
    "momentum": (0.01, 0.99),
    "l2": (1e-8, 1.0),
    "init_scale": (1e-3, 1.0),
}


def split(repeat):
    return {"train": 900, "validation": 450, "test": 447, "shuffle": True, "seed": 1 + repeat}


PROBLEMS = {
    # The problem: the default spec's 1,209 hyperparameters (per-iteration, per-block
    # learning rates and momenta, per-block L2 and initial scales), 50 meta-iterations.
    "mlp": {
        "title": "digits MLP 64-50-50-10",
        "model": {"hidden": [50, 50], "activation": "tanh"},
        "training": {"iterations": 100, "batch_size": 100, "batches": "random"},
        "rewind": [
            ("Rewind", {}, {"iterations": 50, "step_size": 0.04, "objective": "validation_loss"}),
            ("Rewind, TPE's four globals", "globals", {"iterations": 50, "step_size": 0.1, "objective": "validation_loss"}),
        ],
    },
    # Logistic regression with one L2 penalty per weight (640), as in the per-weight L2 example
    # (learning rate 1 and momentum 0.9 fixed), and a variant that also learns the global learning
    # rate, momentum and initial scale, a superset of what TPE tunes. One training run takes ~15 ms
    # here, so Rewind gets 200 meta-iterations to make the budget long enough for TPE to leave its
    # random start.
    "logreg": {
        "title": "digits logistic regression, per-weight L2",
        "model": {"hidden": []},
        "training": {"iterations": 50, "batch_size": 20, "batches": "cyclic"},
        "rewind": [
            ("Rewind, per-weight L2", {
                "learning_rate": {"init": 1.0, "schedule": "constant", "per_block": False, "learn": False},
                "momentum": {"init": 0.9, "schedule": "constant", "per_block": False, "learn": False},
                "l2": {"init": 0.027182818284590453, "per": "weight", "learn": True},
                "init_scale": {"init": 0.01831563888873418, "per": "global", "learn": False},
            }, {"iterations": 200, "step_size": 0.1, "objective": "validation_loss", "reseed": False}),
            ("Rewind, TPE's four globals", "globals", {"iterations": 200, "step_size": 0.1, "objective": "validation_loss", "reseed": False}),
            ("Rewind, per-weight L2 + α, γ, s", {
                "learning_rate": {"init": 1.0, "schedule": "constant", "per_block": False, "learn": True},
                "momentum": {"init": 0.9, "schedule": "constant", "per_block": False, "learn": True},
                "l2": {"init": 0.027182818284590453, "per": "weight", "learn": True},
                "init_scale": {"init": 0.01831563888873418, "per": "global", "learn": True},
            }, {"iterations": 200, "step_size": 0.1, "objective": "validation_loss", "reseed": False}),
        ],
    },
}


class Rewind:
    def __init__(self, binary):
        self.binary = binary

    def run(self, spec, on_item=None):
        """Runs `rewind run` on spec; returns the items (JSON) or None if training diverged."""
        process = subprocess.Popen(
            [self.binary, "run", "--quiet", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        process.stdin.write(json.dumps(spec))
        process.stdin.close()
        items = []
        for line in process.stdout:
            item = json.loads(line)
            items.append(item)
            if on_item:
                on_item(item)
        stderr = process.stderr.read()
        code = process.wait()
        if code == 1:
            return None
        if code != 0:
            raise RuntimeError(f"rewind run failed ({code}): {stderr.strip()}\nspec: {json.dumps(spec)[:500]}")
        return items


def base_spec(problem, repeat, seed):
    return {
        "dataset": {"name": "digits"},
        "split": split(repeat),
        "model": problem["model"],
        "training": dict(problem["training"], seed=seed),
    }


def global_hyperparameters(values):
    return {
        "learning_rate": {"init": values["learning_rate"], "schedule": "constant", "per_block": False, "learn": False},
        "momentum": {"init": values["momentum"], "schedule": "constant", "per_block": False, "learn": False},
        "l2": {"init": values["l2"], "per": "global", "learn": False},
        "init_scale": {"init": values["init_scale"], "per": "global", "learn": False},
    }


def learned_hyperparameters(template, item):
    """A spec's hyperparameters that reproduce a Rewind history item's values."""
    values = item["hyperparameters"]
    spec = json.loads(json.dumps(template))
    for group in ("learning_rate", "momentum"):
        spec.setdefault(group, {})
        spec[group]["init"] = values[group]
        spec[group].setdefault("schedule", "per_iteration")
        spec[group].setdefault("per_block", True)
    spec.setdefault("l2", {})["init"] = values["l2"]
    spec["l2"].setdefault("per", "block")
    spec.setdefault("init_scale", {})["init"] = values["init_scale"]
    spec["init_scale"].setdefault("per", "block")
    return spec


def evaluate(rewind, problem, repeat, hyperparameters, seed, seeds):
    """One meta.iterations-0 run: (validation loss, test loss, test error), means over `seeds`."""
    spec = base_spec(problem, repeat, seed)
    spec["hyperparameters"] = hyperparameters
    spec["meta"] = {"iterations": 0, "seeds": seeds, "guard": False}
    items = rewind.run(spec)
    if items is None:
        return DIVERGED, DIVERGED, 1.0
    item = items[0]
    return item["validation_loss"], item["test_loss"], item["test_error"]


class Scorer:
    """Scores incumbents on the test split over fresh seeds, once per distinct configuration."""

    def __init__(self, rewind, problem, repeat):
        self.rewind, self.problem, self.repeat = rewind, problem, repeat
        self.cache = {}

    def __call__(self, hyperparameters):
        key = json.dumps(hyperparameters, sort_keys=True)
        if key not in self.cache:
            _, loss, error = evaluate(self.rewind, self.problem, self.repeat, hyperparameters, EVAL_SEED, EVAL_SEEDS)
            self.cache[key] = (loss, error)
        return self.cache[key]


# Rewind on the space TPE searches, started where TPE's box is centred (geometrically).
GLOBALS = {
    "learning_rate": {"init": 0.5, "schedule": "constant", "per_block": False, "learn": True},
    "momentum": {"init": 0.5, "schedule": "constant", "per_block": False, "learn": True},
    "l2": {"init": 1e-4, "per": "global", "learn": True},
    "init_scale": {"init": 0.03, "per": "global", "learn": True},
}


def run_rewind(rewind, problem, variant, repeat, scorer):
    _, template, meta = variant
    if template == "globals":
        template = GLOBALS
    spec = base_spec(problem, repeat, repeat)
    spec["hyperparameters"] = template
    spec["meta"] = meta
    start = time.monotonic()
    arrivals = []
    items = rewind.run(spec, on_item=lambda item: arrivals.append(time.monotonic() - start))
    budget = time.monotonic() - start
    curve, best = [], None
    for item, at in zip(items, arrivals):
        if item.get("step") == "rejected":
            continue
        if best is None or item["validation_loss"] < best["validation_loss"]:
            best = item
            curve.append((at, best["validation_loss"], learned_hyperparameters(template, best)))
    rejected = sum(1 for item in items if item.get("step") == "rejected")
    initial = learned_hyperparameters(template, items[0])
    return budget, curve, {"items": len(items), "rejected": rejected, "initial": scorer(initial)}


def run_search(rewind, problem, repeat, budget, sampler, averaged):
    """TPE or random search over BOX until `budget` seconds have passed."""
    start = time.monotonic()
    curve, best = [], math.inf
    trials = [0]

    def objective(trial):
        values = {name: trial.suggest_float(name, low, high, log=True) for name, (low, high) in BOX.items()}
        hyperparameters = global_hyperparameters(values)
        trials[0] += 1
        if averaged:  # fresh seeds every trial, averaged
            loss, _, _ = evaluate(rewind, problem, repeat, hyperparameters, 10 * trial.number, AVERAGED_SEEDS)
        else:  # the same seed every trial
            loss, _, _ = evaluate(rewind, problem, repeat, hyperparameters, repeat, 1)
        nonlocal best
        if loss < best:
            best = loss
            curve.append((time.monotonic() - start, loss, hyperparameters))
        return loss

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, timeout=budget)
    return curve, {"trials": trials[0]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rewind", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", default="mlp,logreg")
    parser.add_argument("--out", default=".build/compare-tuners")
    parser.add_argument("--report-only", action="store_true", help="redo the table and plots from DIR/results.json")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.report_only:
        with open(os.path.join(args.out, "results.json")) as file:
            report(json.load(file), args.out)
        return
    rewind = Rewind(args.rewind)
    results = {}
    for name in args.problems.split(","):
        problem = PROBLEMS[name]
        runs = []
        for repeat in range(args.repeats):
            scorer = Scorer(rewind, problem, repeat)
            methods, budget = {}, 0
            for variant in problem["rewind"]:
                seconds, rewind_curve, rewind_info = run_rewind(rewind, problem, variant, repeat, scorer)
                print(f"{name} repeat {repeat}: {variant[0]} {seconds:.1f} s, {rewind_info['items']} items "
                      f"({rewind_info['rejected']} rejected)", file=sys.stderr)
                methods[variant[0]] = (rewind_curve, rewind_info)
                budget = max(budget, seconds)
                rewind_info["seconds"] = seconds
            methods["TPE, one seed"] = run_search(
                rewind, problem, repeat, budget, optuna.samplers.TPESampler(seed=repeat), False)
            methods["TPE, 3 seeds averaged"] = run_search(
                rewind, problem, repeat, budget, optuna.samplers.TPESampler(seed=200 + repeat), True)
            methods["random search"] = run_search(
                rewind, problem, repeat, budget, optuna.samplers.RandomSampler(seed=100 + repeat), False)
            run = {"repeat": repeat, "budget": budget, "initial": rewind_info["initial"], "methods": {},
                   "rewind": [variant[0] for variant in problem["rewind"]]}
            for method, (curve, info) in methods.items():
                scored = [(at, objective, *scorer(h)) for at, objective, h in curve]
                run["methods"][method] = {"info": info, "curve": scored}
                final = scored[-1]
                print(f"  {method}: validation {final[1]:.4f}, test {final[2]:.4f} ({final[3]:.3f}), {info}", file=sys.stderr)
            runs.append(run)
        results[name] = {"title": problem["title"], "runs": runs}
        with open(os.path.join(args.out, "results.json"), "w") as file:
            json.dump(results, file, indent=1)
    report(results, args.out)


def test_loss_at(curve, at):
    """The scored test loss of the incumbent at time `at` (None before the first result)."""
    value = None
    for time_, _, loss, _ in curve:
        if time_ <= at:
            value = loss
    return value


def report(results, out):
    lines = []
    for name, result in results.items():
        runs = result["runs"]
        variants = runs[0]["rewind"]
        methods = variants + ["TPE, one seed", "TPE, 3 seeds averaged", "random search"]
        # The reference for "reaches after": the Rewind variant with the lowest mean test loss.
        primary = min(variants, key=lambda v: statistics.mean(r["methods"][v]["curve"][-1][2] for r in runs))
        lines.append(f"#### {result['title']}\n")
        lines.append("| tuner | test loss at the budget | test error | validation loss (own objective) "
                     "| evaluations | the best Rewind variant reaches this test loss after |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        budget = statistics.mean(run["budget"] for run in runs)
        for variant in variants:
            initial = [run["methods"][variant]["info"]["initial"] for run in runs]
            lines.append(f"| initial hyperparameters of {variant} | {fmt([i[0] for i in initial])} "
                         f"| {fmt([i[1] for i in initial], percent=True)} | | | |")
        for method in methods:
            finals = [run["methods"][method]["curve"][-1] for run in runs]
            infos = [run["methods"][method]["info"] for run in runs]
            count = [info.get("trials", info.get("items")) for info in infos]
            reach = []
            for run, final in zip(runs, finals):
                target = final[2]
                times = [at for at, _, loss, _ in run["methods"][primary]["curve"] if loss <= target]
                reach.append(f"{times[0] / run['budget']:.0%}" if times else "never")
            lines.append(f"| {method} | {fmt([f[2] for f in finals])} | {fmt([f[3] for f in finals], percent=True)} "
                         f"| {fmt([f[1] for f in finals])} | {statistics.mean(count):.0f} "
                         f"| {', '.join(reach) if method not in variants else ''} |")
        lines.append(f"\nBudget (Rewind's longest wall time, mean of {len(runs)} repeats): {budget:.1f} s; "
                     "test numbers are means over 5 fresh seeds, then mean ± standard deviation over repeats; "
                     f"the last column is when (as a fraction of the budget) the incumbent of {primary} first scored "
                     "at least as well on the test split, per repeat.\n")
        plot(name, result, methods, out)
    with open(os.path.join(out, "table.md"), "w") as file:
        file.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def fmt(values, percent=False):
    scale = 100 if percent else 1
    mean = statistics.mean(values) * scale
    spread = statistics.stdev(values) * scale if len(values) > 1 else 0
    return f"{mean:.2f} % ± {spread:.2f}" if percent else f"{mean:.4f} ± {spread:.4f}"


def plot(name, result, methods, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    budget = max(run["budget"] for run in runs)
    grid = [budget * i / 200 for i in range(1, 201)]
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for method in methods:
        means = []
        for at in grid:
            values = [test_loss_at(run["methods"][method]["curve"], at) for run in runs]
            means.append(statistics.mean(values) if all(v is not None for v in values) else math.nan)
        axes.plot(grid, means, label=method, linewidth=1.8 if method.startswith("Rewind") else 1.2)
    axes.set_xlabel("wall-clock seconds")
    axes.set_ylabel("test loss of the incumbent (5 fresh seeds)")
    axes.set_title(result["title"])
    axes.set_yscale("log")
    axes.set_ylim(top=2.0)  # early incumbents of some tuners score far above; the tail is what differs
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(out, f"compare-tuners-{name}.svg"))
    figure.savefig(os.path.join(out, f"compare-tuners-{name}.png"), dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main()
