"""A teacher's soft labels on k-means centroids, against the centroids' own classes.

For each KEEL table and budget: per-class k-means centroids (3 restarts, the ``kmeans``
method's seeds); each learner is trained on them twice, with each centroid's class (hard,
the ``kmeans`` method) and with the class probabilities that the same learner, trained on the
whole train part, gives the centroid, each row weighing train rows / set rows for learners
that take weights (soft, the ``teacher`` method; see :func:`tabdistill.learners.fit_soft` for
how each learner takes them), and scored by balanced
accuracy on the table's test part. Prints a markdown table of means and the paired
difference, then the mean difference per learner and budget.

    python benchmarks/teacher_labels.py [--keel DIR] [--budgets 10,50] [TABLE ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.methods import METHODS

TABLES = ("vehicle", "contraceptive", "segment", "crx", "splice", "satimage")
LEARNERS = ("mlp2", "logreg", "knn", "rf", "hgb")
RESTARTS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="*", default=TABLES)
    parser.add_argument("--keel", default="../shared/data/keel")
    parser.add_argument("--budgets", default="10,50", help="rows per class, comma-separated")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    print("| table | rows per class | learner | k-means, hard labels | teacher's soft labels "
          "| soft - hard (95% interval) |")
    print("|---|---|---|---|---|---|")
    diffs = {(b, learner): [] for b in budgets for learner in LEARNERS}
    restarts = list(range(RESTARTS))
    for name in args.tables:
        ds = load_dataset(str(Path(args.keel) / f"{name}.csv"), target="label")
        for b in budgets:
            if b * ds.n_classes >= len(ds.y_train):
                continue
            hard = METHODS["kmeans"].make(ds, b, restarts, 0, ())
            for learner in LEARNERS:
                soft = METHODS["teacher"].make(ds, b, restarts, 0, (), learner=learner)
                score = {kind: np.array([balanced_accuracy_score(
                    ds.y_test, s.fit(learner, ds.n_classes, seed=r).predict(ds.X_test))
                    for r, s in enumerate(sets)]) for kind, sets in (("hard", hard),
                                                                      ("soft", soft))}
                diff = score["soft"] - score["hard"]
                half = stats.t.ppf(0.975, RESTARTS - 1) * diff.std(ddof=1) / np.sqrt(RESTARTS)
                diffs[b, learner].append(diff.mean())
                print(f"| {name} | {b} | {learner} | {score['hard'].mean():.3f} | "
                      f"{score['soft'].mean():.3f} | {diff.mean():+.3f} "
                      f"({diff.mean() - half:+.3f}, {diff.mean() + half:+.3f}) |", flush=True)
    print("\nMean of soft - hard over the tables (balanced accuracy), tables where it is >= 0:\n")
    print("| rows per class | learner | mean difference | tables >= 0 |")
    print("|---|---|---|---|")
    for (b, learner), values in diffs.items():
        if values:
            print(f"| {b} | {learner} | {np.mean(values):+.3f} | "
                  f"{sum(v >= 0 for v in values)} / {len(values)} |")


if __name__ == "__main__":
    main()
