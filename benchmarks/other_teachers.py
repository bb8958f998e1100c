"""The ``teacher`` method's centroids labelled by another learner than the one trained on them:
does a stronger model (a forest, boosting) make better soft labels for ``logreg`` or a net?

For each table, budget and teacher: the ``teacher`` method's sets for ``--learner`` (3
restarts: per-class k-means centroids, labels from ``--learner`` trained on the whole train
part), and the same centroids and row weight labelled by each other teacher trained on the
whole train part (its probabilities made balanced by :func:`tabdistill.methods.balanced_proba`,
as ``teacher`` makes its own). ``--learner`` trained on each is scored by balanced accuracy on
the table's test part; prints each table, then per budget and teacher the tables where the set
is >= the better of random and k-means (same seeds) and the mean difference.

    python benchmarks/other_teachers.py TABLE.csv ... [--budgets 10,50] [--learner logreg]
        [--teachers logreg,rf,hgb]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--budgets", default="10,50", help="rows per class, comma-separated")
    parser.add_argument("--learner", default="logreg")
    parser.add_argument("--teachers", default="logreg,rf,hgb",
                        help="the learner itself is the teacher method's own labels")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    teachers = args.teachers.split(",")
    tally = {}
    for path in args.tables:
        ds = load_dataset(path)
        k = ds.n_classes

        def score(model, ds=ds):
            return balanced_accuracy_score(ds.y_test, model.predict(ds.X_test))

        models = {t: [fit(t, ds.X_train, ds.y_train, k, seed=r) for r in range(RESTARTS)]
                  for t in teachers if t != args.learner}
        for b in budgets:
            restarts = list(range(RESTARTS))
            core = max(np.mean([score(s.fit(args.learner, k, seed=r)) for r, s in
                                enumerate(METHODS[m].make(ds, b, restarts, 0, ()))])
                       for m in ("random", "kmeans"))
            own = METHODS["teacher"].make(ds, b, restarts, 0, (), learner=args.learner)
            found = []
            for t in teachers:
                sets = own if t == args.learner else [
                    dataclasses.replace(m, proba=balanced_proba(
                        models[t][r].predict_proba(m.X), ds.y_train))
                    for r, m in enumerate(own)]
                value = np.mean([score(s.fit(args.learner, k, seed=r))
                                 for r, s in enumerate(sets)])
                tally.setdefault((b, t), []).append(value - core)
                found.append(f"{t} {value:.3f}")
            print(Path(path).stem, b, f"better coreset {core:.3f}", *found, flush=True)
    for (b, t), d in sorted(tally.items()):
        d = np.array(d)
        print(f"{b} rows per class, teacher {t}: >= the better coreset on {(d >= 0).sum()}/"
              f"{len(d)}, mean difference {d.mean():+.4f}")


if __name__ == "__main__":
    main()
