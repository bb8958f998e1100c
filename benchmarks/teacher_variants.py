"""The ``teacher`` method's centroids labelled by other teachers, against its own labels.

For each table and budget: the ``teacher`` method's sets for ``--learner`` (3 restarts:
per-class k-means centroids labelled by ``--learner`` trained on the whole train part, its
probabilities made balanced by :func:`tabdistill.methods.balanced_proba`: version 3), and the
same centroids and row weight labelled by each variant:

* ``balanced-weights``: ``--learner`` trained with each row weighing 1 / its class's share of
  the train part, its probabilities as they are;
* a learner's name (``rf``, ``hgb``, ...): that learner trained on the whole train part, its
  probabilities made balanced as ``teacher`` makes its own.

``--learner`` trained on each set as ``teacher`` trains it is scored by balanced accuracy on the
table's test part. Prints each table, then per budget and labelling the tables where the set is
at least the better of random and k-means (computed here with the same seeds) and the mean
difference.

    python benchmarks/teacher_variants.py TABLE.csv ... [--budgets 10,50] [--learner logreg]
        [--variants balanced-weights,rf,hgb]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.learners import fit
from tabdistill.methods import METHODS, balanced_proba

RESTARTS = 3
OWN = "own (teacher v3)"


def labeller(ds, variant: str, learner: str, restart: int):
    """``proba(rows)`` of a variant's teacher for ``restart``."""
    X, y, k = ds.X_train, ds.y_train, ds.n_classes
    if variant == "balanced-weights":
        share = np.bincount(y, minlength=k) / len(y)
        teacher = fit(learner, X, y, k, seed=restart, sample_weight=1 / share[y])
        return teacher.predict_proba
    teacher = fit(variant, X, y, k, seed=restart)
    return lambda rows: balanced_proba(teacher.predict_proba(rows), y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--budgets", default="10,50", help="rows per class, comma-separated")
    parser.add_argument("--learner", default="logreg")
    parser.add_argument("--variants", default="balanced-weights",
                        help="balanced-weights and/or learner names, comma-separated")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    variants = args.variants.split(",")
    restarts = list(range(RESTARTS))
    tally = {}
    for path in args.tables:
        ds = load_dataset(path)

        def score(sets, ds=ds):
            return np.mean([balanced_accuracy_score(
                ds.y_test, s.fit(args.learner, ds.n_classes, seed=r).predict(ds.X_test))
                for r, s in enumerate(sets)])

        labellers = {v: [labeller(ds, v, args.learner, r) for r in restarts] for v in variants}
        for b in budgets:
            core = max(score(METHODS[m].make(ds, b, restarts, 0, ())) for m in ("random", "kmeans"))
            own = METHODS["teacher"].make(ds, b, restarts, 0, (), learner=args.learner)
            found = {OWN: score(own)}
            for v in variants:
                found[v] = score([dataclasses.replace(m, proba=labellers[v][r](m.X))
                                  for r, m in enumerate(own)])
            for name, value in found.items():
                tally.setdefault((b, name), []).append(value - core)
            print(Path(path).stem, b, f"better coreset {core:.3f}",
                  *(f"{name} {value:.3f}" for name, value in found.items()), flush=True)
    print()
    print("| rows per class | labels | >= better coreset | mean difference |")
    print("|---|---|---|---|")
    for (b, name), d in tally.items():
        d = np.array(d)
        print(f"| {b} | {name} | {(d >= 0).sum()}/{len(d)} | {d.mean():+.4f} |")


if __name__ == "__main__":
    main()
