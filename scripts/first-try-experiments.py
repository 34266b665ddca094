#!/usr/bin/env python3
"""A newcomer's first try on four real data sets, before and after the own-data defaults.

Exports scikit-learn's breast cancer (569 x 30), wine (178 x 13), iris (150 x 4) and a 3000 x 20
synthetic set as CSV files into experiments-data/ (git-ignored: the data are scikit-learn's, not
ours to commit), uploads each to a running Rewind service, and runs two jobs on each:

- before: the settings a newcomer got before (rows in file order, raw features, 60/20/20 split);
- after:  nothing but the data set: the defaults for one's own data (shuffled 50/30/20 split,
  standardized features, batch min(100, training rows)).

Prints a Markdown table (test loss and error of item 0 and of the best item, and the job's
warnings) for docs/experiments.md.

    python3 -m venv .venv && .venv/bin/pip install scikit-learn
    rewind serve --port 0 --database /tmp/first-try.sqlite &     # note the port it prints
    REWIND_URL=http://127.0.0.1:PORT PYTHONPATH=clients/python .venv/bin/python scripts/first-try-experiments.py

META_ITERATIONS (default 50, the spec's default) shortens the runs.
"""

import os
import sys
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_classification

from rewind_client import Client

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "experiments-data"
META = int(os.environ.get("META_ITERATIONS", "50"))


def export():
    """The four data sets as CSV files (features, then the label), as scikit-learn orders them."""
    DATA.mkdir(exist_ok=True)
    sets = {
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "iris": load_iris(return_X_y=True),
        "synthetic": make_classification(
            n_samples=3000, n_features=20, n_informative=10, n_classes=3, random_state=0),
    }
    paths = {}
    for name, (features, labels) in sets.items():
        path = DATA / f"{name}.csv"
        with path.open("w") as out:
            for row, label in zip(features, labels):
                out.write(",".join(repr(float(value)) for value in row) + f",{int(label)}\n")
        paths[name] = path
    return paths


def before_spec(dataset_id, rows):
    train = int(rows * 0.6)
    return {
        "dataset": {"id": dataset_id},
        "split": {"train": 0.6, "validation": 0.2, "test": 0.2, "shuffle": False},
        "preprocess": {"standardize": False},
        "training": {"batch_size": min(100, train)},
        "meta": {"iterations": META},
    }


def after_spec(dataset_id):
    return {"dataset": {"id": dataset_id}, "meta": {"iterations": META}}


def summary(client, job_id):
    job = client.wait(job_id, timeout=3600, poll=1)
    history = client.history(job_id)
    first, best = history[0], job.get("best") or {}
    warnings = ", ".join(w["code"] for w in job.get("warnings", [])) or "none"
    return (f"{first.get('test_loss', float('nan')):.3f} → {best.get('test_loss', float('nan')):.3f}",
            f"{first.get('test_error', float('nan')) * 100:.1f} % → {best.get('test_error', float('nan')) * 100:.1f} %",
            job["status"], warnings)


def main():
    client = Client(os.environ.get("REWIND_URL"))
    paths = export()
    print("| data set | settings | test loss item 0 → best | test error item 0 → best | status | warnings |")
    print("|---|---|---|---|---|---|")
    only = os.environ.get("ONLY")  # e.g. ONLY=wine: one data set
    for name, path in paths.items():
        if only and name not in only.split(","):
            continue
        dataset = client.upload_dataset(path, name=f"sk-{name}")
        detected = dataset.get("detected", {})
        print(f"<!-- {name}: {dataset['rows']} rows, labels sorted: {detected.get('labels_sorted')}, "
              f"range ratio {detected.get('range_ratio', 0):.0f} -->", file=sys.stderr)
        jobs = [("before: file order, raw, 60/20/20", client.submit(before_spec(dataset["id"], dataset["rows"]))["id"]),
                ("after: all defaults", client.submit(after_spec(dataset["id"]))["id"])]
        for label, job_id in jobs:
            loss, error, status, warnings = summary(client, job_id)
            print(f"| {name} ({dataset['rows']}×{dataset['features']}) | {label} | {loss} | {error} | {status} | {warnings} |",
                  flush=True)


if __name__ == "__main__":
    main()
