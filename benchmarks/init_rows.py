"""Where the paper's synthetic rows start (``distill --init-rows``): N(0, 1) noise, real rows
or k-means centroids of their class.

For each KEEL table: the ``wang`` method at 10 rows per class, 3 restarts, once per start;
each learner trains on every restart's set (nets along its learned schedule) and is scored by
balanced accuracy on the table's test part. Prints a markdown table of means and the paired
differences against noise, then the mean differences over the tables.

    python benchmarks/init_rows.py [--keel DIR] [TABLE ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from tabdistill.config import INIT_ROWS
from tabdistill.data import load_dataset
from tabdistill.distill import distill
from tabdistill.learners import fit_distilled
from tabdistill.methods import wang_config

TABLES = ("vehicle", "contraceptive", "segment", "crx", "splice", "satimage")
LEARNERS = ("mlp2", "logreg", "knn", "rf")
RESTARTS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="*", default=TABLES)
    parser.add_argument("--keel", default="../shared/data/keel")
    args = parser.parse_args()
    others = [s for s in INIT_ROWS if s != "noise"]
    print("| table | learner | " + " | ".join(INIT_ROWS) + " | "
          + " | ".join(f"{s} - noise" for s in others) + " |")
    print("|---" * (2 + len(INIT_ROWS) + len(others)) + "|")
    diffs = {(learner, s): [] for learner in LEARNERS for s in others}
    for name in args.tables:
        ds = load_dataset(str(Path(args.keel) / f"{name}.csv"), target="label")
        sets = {s: distill(ds, wang_config(ds, 10).replace(init_rows=s, restarts=RESTARTS))
                for s in INIT_ROWS}
        for learner in LEARNERS:
            score = {s: np.array([balanced_accuracy_score(
                ds.y_test, fit_distilled(learner, d, restart=r, seed=r).predict(ds.X_test))
                for r in range(RESTARTS)]) for s, d in sets.items()}
            for s in others:
                diffs[learner, s].append(float(np.mean(score[s] - score["noise"])))
            print(f"| {name} | {learner} | "
                  + " | ".join(f"{score[s].mean():.3f}" for s in INIT_ROWS) + " | "
                  + " | ".join(f"{np.mean(score[s] - score['noise']):+.3f}" for s in others)
                  + " |", flush=True)
    print("\nMean difference against noise over the tables (balanced accuracy), tables where "
          "it is >= 0:\n")
    print("| learner | " + " | ".join(others) + " |")
    print("|---" * (1 + len(others)) + "|")
    for learner in LEARNERS:
        cells = [f"{np.mean(diffs[learner, s]):+.3f} ({sum(v >= 0 for v in diffs[learner, s])}"
                 f"/{len(diffs[learner, s])})" for s in others]
        print(f"| {learner} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
