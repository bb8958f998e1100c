"""k-means centroids weighted by the rows they stand for, against the same centroids unweighted.

For each table and budget (3 restarts, seeds 0-2): per-class k-means centroids (as the
``kmeans`` method makes them) with each centroid weighing its cluster's share of its class
(``sample_weight``; each class weighs as much as in the plain set), for ``--learners`` as
plain rows, and for ``logreg`` also as the ``teacher`` method's set (the centroids with its
soft labels) with the same weights. Scored by balanced accuracy on the table's test part
against the better of random and k-means (computed here with the same seeds) and against the
``teacher`` set unweighted. Prints each table, then per budget and learner the tables where
each set is at least the better coreset, and the mean difference.

    python benchmarks/cluster_weights.py TABLE.csv ... [--target label] [--budgets 10,50]
        [--learners logreg,rf,hgb]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.metrics import balanced_accuracy_score

from tabdistill.bench.suite import tables_from_args
from tabdistill.learners import fit
from tabdistill.methods import METHODS, balanced_proba, kmeans_centroids

RESTARTS = (0, 1, 2)


def weighted_centroids(X, y, n_classes: int, per_class: int, seed: int):
    """``(rows, labels, weights)``: the ``kmeans`` method's centroids, each weighing the share
    of its class's rows nearest to it times the class's count of centroids."""
    rows, labels = kmeans_centroids(X, y, per_class, n_classes, seed)
    weights = np.empty(len(rows))
    for c in range(n_classes):
        mine = np.flatnonzero(labels == c)
        nearest = cdist(X[y == c], rows[mine]).argmin(axis=1)
        sizes = np.bincount(nearest, minlength=len(mine))
        weights[mine] = sizes / sizes.sum() * len(mine)
    return rows, labels, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--target")
    parser.add_argument("--budgets", default="10,50", help="rows per class, comma-separated")
    parser.add_argument("--learners", default="logreg,rf,hgb")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    budgets = [int(b) for b in args.budgets.split(",")]
    tally = {}
    for table in tables_from_args(args.tables, args.target):
        ds = table.load()
        X, y, k = ds.X_train, ds.y_train, ds.n_classes

        def score(model, ds=ds):
            return balanced_accuracy_score(ds.y_test, model.predict(ds.X_test))

        for b in budgets:
            plain = {m: METHODS[m].make(ds, b, RESTARTS, 0, ()) for m in ("random", "kmeans")}
            weighted = [weighted_centroids(X, y, k, b, r) for r in RESTARTS]
            line = [table.name, str(b)]
            for learner in args.learners.split(","):
                core = max(np.mean([score(s.fit(learner, k, seed=r)) for r, s in
                                    zip(RESTARTS, plain[m], strict=True)]) for m in plain)
                found = {"weighted centroids": np.mean([
                    score(fit(learner, rows, labels, k, seed=r, sample_weight=w))
                    for r, (rows, labels, w) in zip(RESTARTS, weighted, strict=True)])}
                if learner == "logreg":
                    teacher = METHODS["teacher"].make(ds, b, RESTARTS, 0, (), learner=learner)
                    found["teacher"] = np.mean([score(s.fit(learner, k, seed=r)) for r, s in
                                                zip(RESTARTS, teacher, strict=True)])
                    weighted_teacher = []
                    for r, s, (_, _, w) in zip(RESTARTS, teacher, weighted, strict=True):
                        labeller = fit(learner, X, y, k, seed=r)
                        proba = balanced_proba(labeller.predict_proba(s.X), y)
                        row, label = np.nonzero(proba > 0)
                        weight = proba[row, label] * w[row] * s.weight
                        weighted_teacher.append(score(fit(
                            learner, s.X[row], label.astype(np.int32), k, seed=r,
                            sample_weight=weight)))
                    found["teacher, weighted"] = np.mean(weighted_teacher)
                for name, value in found.items():
                    tally.setdefault((b, learner, name), []).append(value - core)
                    line.append(f"{learner} {name} {value - core:+.3f}")
            print(" | ".join(line), flush=True)
    print("\nrows per class | learner | set | tables >= the better coreset | mean difference")
    for (b, learner, name), diffs in sorted(tally.items()):
        diffs = np.array(diffs)
        print(f"{b} | {learner} | {name} | {np.sum(diffs >= 0)}/{len(diffs)} | "
              f"{diffs.mean():+.4f}")


if __name__ == "__main__":
    main()
