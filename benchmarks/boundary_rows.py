"""One row per class placed so that the nearest-row partition of the rows is a linear model's
decision: a logistic regression on class-balanced weights, trained on the whole train part.

For a linear model ``argmax_c w_c . x + b_c``, rows ``x_c = s w_c + u`` make ``argmin_c |x -
x_c|`` the same decision when ``w_c . u - kappa = -b_c - s |w_c|^2 / 2`` for every class (``u``
and ``kappa`` solved by least squares nearest the mean of the class means; exact where the
classes are at most the features + 1); ``s`` gives the rows the spread of the class means.
1-NN on such rows is the linear model; the question measured is whether nets and ``logreg``
trained on them come closer to it than to the class means. Each learner is trained on the
rows, on one k-means centroid per class and on one random row per class (3 restarts) and
scored by balanced accuracy on the table's test part; prints each table, then per learner the
tables where the rows are >= the better of random and k-means and the mean difference.

    python benchmarks/boundary_rows.py TABLE.csv ... [--learners mlp2,knn,logreg] [--scale 1]
        [--with-kip]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.methods import METHODS, ReducedSet

RESTARTS = 3


def boundary_rows(X, y, n_classes: int, scale: float = 1.0):
    """One row per class whose nearest-row partition is a balanced logistic regression's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(class_weight="balanced", max_iter=3000).fit(X, y)
    W, b = model.coef_, model.intercept_
    if n_classes == 2:  # one weight vector for two classes: split it between them
        W, b = np.vstack([-W[0] / 2, W[0] / 2]), np.array([-b[0] / 2, b[0] / 2])
    W = W - W.mean(0)
    means = np.stack([X[y == c].mean(0) for c in range(n_classes)])
    s = scale * np.sqrt(((means - means.mean(0)) ** 2).sum() / max((W ** 2).sum(), 1e-12))
    A = np.hstack([W, -np.ones((n_classes, 1))])
    rhs = -b - s * (W ** 2).sum(1) / 2
    start = np.concatenate([means.mean(0), [0.0]])
    u = (start + np.linalg.lstsq(A, rhs - A @ start, rcond=None)[0])[:-1]
    return (s * W + u).astype(np.float32), np.arange(n_classes, dtype=np.int32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--learners", default="mlp2,knn,logreg")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="the rows' spread as a multiple of the class means' spread")
    parser.add_argument("--with-kip", action="store_true",
                        help="also the kip method's set for the first learner")
    args = parser.parse_args()
    learners = args.learners.split(",")
    tally = {}
    for path in args.tables:
        ds = load_dataset(path)
        k = ds.n_classes
        restarts = list(range(RESTARTS))
        sets = {m: METHODS[m].make(ds, 1, restarts, 0, ()) for m in ("random", "kmeans")}
        rows, labels = boundary_rows(ds.X_train, ds.y_train, k, args.scale)
        sets["boundary"] = [ReducedSet(rows, labels) for _ in restarts]
        if args.with_kip:
            sets["kip"] = METHODS["kip"].make(ds, 1, restarts, 0, (), learner=learners[0])
        out = []
        for learner in learners:
            score = {name: np.mean([balanced_accuracy_score(
                ds.y_test, s.fit(learner, k, seed=r).predict(ds.X_test))
                for r, s in enumerate(made)]) for name, made in sets.items()}
            core = max(score["random"], score["kmeans"])
            for name in set(score) - {"random", "kmeans"}:
                tally.setdefault((learner, name), []).append(score[name] - core)
            out.append(f"{learner}: " + " ".join(f"{n} {v:.3f}" for n, v in score.items()))
        print(Path(path).stem, k, " | ".join(out), flush=True)
    for (learner, name), d in sorted(tally.items()):
        d = np.array(d)
        print(f"{learner} {name}: >= the better coreset on {(d >= 0).sum()}/{len(d)}, "
              f"mean difference {d.mean():+.4f}")


if __name__ == "__main__":
    main()
