"""logreg on k-means centroids: the teacher's own probabilities as labels, against labels
solved so that the set trains logreg to the teacher (``teacher`` version 4,
:mod:`tabdistill.matching`).

For each table and budget, 3 restarts (the ``teacher`` method's seeds): per-class k-means
centroids, labelled (plain) with the balanced probabilities of logreg trained on the whole
train part, each row weighing train rows / set rows (``teacher`` version 3), and (matched)
with :func:`tabdistill.matching.matched_logreg_labels` (``teacher`` version 4 on, which keeps
the plain labels where no matched ones are worth having); random and k-means sets for the
better coreset. Balanced accuracy on each table's test part (the split ``bench`` uses).
Prints one line per table and budget, then per budget the tables where each is at least the
better of random and k-means and the mean difference from it.

    python benchmarks/matched_labels.py TABLE.csv ... [--target COLUMN] [--budgets 1,10,50]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.learners import fit
from tabdistill.methods import METHODS, ReducedSet, balanced_proba, kmeans_centroids

RESTARTS = 3
KINDS = ("random", "kmeans", "plain", "matched")


def scores(ds, budget: int) -> dict[str, float]:
    """Mean balanced accuracy of logreg over the restarts, per kind of set."""
    out = {kind: [] for kind in KINDS}
    for r in range(RESTARTS):
        sets = {m: METHODS[m].make(ds, budget, [r], 0, ())[0] for m in ("random", "kmeans")}
        rows, labels = kmeans_centroids(ds.X_train, ds.y_train, budget, ds.n_classes, r)
        teacher = fit("logreg", ds.X_train, ds.y_train, ds.n_classes, seed=r)
        sets["plain"] = ReducedSet(rows, labels, weight=len(ds.y_train) / len(rows),
                                   proba=balanced_proba(teacher.predict_proba(rows), ds.y_train))
        sets["matched"] = METHODS["teacher"].make(ds, budget, [r], 0, (), learner="logreg")[0]
        for kind, made in sets.items():
            predicted = made.fit("logreg", ds.n_classes, seed=r).predict(ds.X_test)
            out[kind].append(balanced_accuracy_score(ds.y_test, predicted))
    return {kind: float(np.mean(v)) for kind, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--target")
    parser.add_argument("--budgets", default="1,10,50", help="rows per class, comma-separated")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    gains = {(b, kind): [] for b in budgets for kind in ("plain", "matched")}
    print("| table | rows per class | better coreset | plain labels | matched labels |")
    print("|---|---|---|---|---|")
    for path in args.tables:
        ds = load_dataset(path, target=args.target)
        for b in budgets:
            if b * ds.n_classes >= len(ds.y_train):
                continue
            s = scores(ds, b)
            best = max(s["random"], s["kmeans"])
            for kind in ("plain", "matched"):
                gains[b, kind].append(s[kind] - best)
            print(f"| {Path(path).stem} | {b} | {best:.3f} | {s['plain']:.3f} | "
                  f"{s['matched']:.3f} |", flush=True)
    print("\n| rows per class | tables | plain: >= the better coreset (mean difference) | "
          "matched: >= the better coreset (mean difference) |")
    print("|---|---|---|---|")
    for b in budgets:
        cells = [f"{sum(g >= 0 for g in gains[b, k])} ({np.mean(gains[b, k]):+.4f})"
                 for k in ("plain", "matched")]
        print(f"| {b} | {len(gains[b, 'plain'])} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
