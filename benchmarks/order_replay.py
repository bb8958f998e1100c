"""Replays ``auto``'s choice under another order of preference on the validation scores bench
cells recorded, without making any set again.

Each ``auto`` cell of a bench directory records, per learner, every candidate's validation
score and paired error. The choice under ``--order`` is the first candidate within its error
of the best (``auto``'s rule); its test score is ``auto``'s own where the choice is unchanged,
else the chosen method's cells in the same directory at the same restarts (a ``kmeans``
choice is the ``kmeans`` method's set: the same rows, seeds and train part). Prints, per
budget, on how many tables each order's mean balanced accuracy over restarts is at least the
better of ``random`` and ``kmeans``, the mean difference from it, and the choices changed:

    python benchmarks/order_replay.py DIR [DIR ...] --learner mlp2 \\
        --order teacher,kmeans,search,kip,random-balanced,random [--rows-per-class 10,50]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from tabdistill.methods import first_within


def recorded(directory: Path, learner: str) -> dict:
    """``(table, rows per class) -> (validation scores, errors, chosen)`` from the newest
    version of restart 0's ``auto`` cell (the choice is made once for all restarts)."""
    found = {}
    for path in directory.glob("cells/*/auto/*-r0-*.json"):
        cell = json.loads(path.read_text())
        entry = cell["learners"].get(learner)
        if not entry or not entry.get("validation"):
            continue
        key = (cell["dataset"], cell["rows_per_class"])
        version = cell["key"]["method_version"]
        if key not in found or version > found[key][0]:
            found[key] = (version, entry["validation"], entry["validation_error"],
                          entry["chosen"])
    return {key: value[1:] for key, value in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", type=Path)
    parser.add_argument("--learner", required=True)
    parser.add_argument("--order", required=True)
    parser.add_argument("--rows-per-class", default="10,50")
    args = parser.parse_args()
    order = args.order.split(",")
    budgets = [int(b) for b in args.rows_per_class.split(",")]
    print(f"{args.learner}: recorded choice against --order {args.order}; tables >= the better "
          "of random and kmeans (mean difference), choices changed, tables skipped (the new "
          "choice's cells missing)\n")
    print("| directory | rows per class | recorded | replayed | changed | skipped |")
    print("|---|---|---|---|---|---|")
    for directory in args.directories:
        results = pd.read_csv(directory / "results.csv")
        results = results[results.learner == args.learner]
        means = results.groupby(["rows_per_class", "dataset", "method"])[
            "balanced_accuracy"].mean()
        choices = recorded(directory, args.learner)
        for budget in budgets:
            before, after, changed, skipped = [], [], 0, 0
            for (table, rows), (scores, errors, chosen) in sorted(choices.items()):
                if rows != budget:
                    continue
                pick = first_within([n for n in order if n in scores], scores, errors)
                method = "auto" if pick == chosen else pick
                if (budget, table, method) not in means:
                    skipped += 1
                    continue
                coreset = max(means[budget, table, "random"], means[budget, table, "kmeans"])
                before.append(means[budget, table, "auto"] - coreset)
                after.append(means[budget, table, method] - coreset)
                changed += pick != chosen
            cells = [f"{sum(d >= 0 for d in v)} / {len(v)} ({sum(v) / max(len(v), 1):+.3f})"
                     for v in (before, after)]
            print(f"| {directory.name} | {budget} | {cells[0]} | {cells[1]} | {changed} | "
                  f"{skipped} |")


if __name__ == "__main__":
    main()
