"""The ``teacher`` method's labels from a teacher trained on class-balanced row weights,
against the labels of the plain teacher divided by the class shares (``teacher`` version 3).

For each table, budget and weighted learner (``logreg`` by default): the ``teacher`` method's
sets (3 restarts: per-class k-means centroids labelled by the learner trained on the whole
train part, its probabilities made balanced by :func:`tabdistill.methods.balanced_proba`), and
the same centroids labelled by the learner trained with each row weighing 1 / its class's share
of the train part (its probabilities as they are). A learner trained on
each set as ``teacher`` trains it is scored by balanced accuracy on the table's test part.
Prints a markdown table of means and the paired difference, then the tables where each is at
least the better of random and k-means (computed here with the same seeds).

    python benchmarks/balanced_teacher.py TABLE.csv ... [--budgets 10,50] [--learners logreg]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.learners import fit
from tabdistill.methods import METHODS

RESTARTS = 3


def balanced_weight_teacher(ds, made, restart, learner):
    """``teacher``'s set ``made`` (of ``restart``) relabelled by a teacher trained on balanced
    row weights: the same centroids and row weight, the teacher's probabilities as they are."""
    X, y, k = ds.X_train, ds.y_train, ds.n_classes
    share = np.bincount(y, minlength=k) / len(y)
    teacher = fit(learner, X, y, k, seed=restart, sample_weight=1 / share[y])
    return dataclasses.replace(made, proba=teacher.predict_proba(made.X))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--budgets", default="10,50", help="rows per class, comma-separated")
    parser.add_argument("--learners", default="logreg")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    learners = args.learners.split(",")
    print("| table | rows per class | learner | better coreset | prior-corrected teacher "
          "| balanced-weight teacher | difference |")
    print("|---|---|---|---|---|---|---|")
    tally = {}
    for path in args.tables:
        ds = load_dataset(path)
        k = ds.n_classes

        def score(model, ds=ds):
            return balanced_accuracy_score(ds.y_test, model.predict(ds.X_test))

        for b in budgets:
            restarts = list(range(RESTARTS))
            coresets = {m: METHODS[m].make(ds, b, restarts, 0, ()) for m in ("random", "kmeans")}
            for learner in learners:
                core = max(np.mean([score(s.fit(learner, k, seed=r)) for r, s in enumerate(sets)])
                           for sets in coresets.values())
                plain = METHODS["teacher"].make(ds, b, restarts, 0, (), learner=learner)
                teacher_sets = {False: plain, True: [balanced_weight_teacher(ds, m, r, learner)
                                                     for r, m in enumerate(plain)]}
                found = {}
                for balanced in (False, True):
                    found[balanced] = np.mean([score(s.fit(learner, k, seed=r))
                                               for r, s in enumerate(teacher_sets[balanced])])
                    key = (b, learner, balanced)
                    tally.setdefault(key, []).append(found[balanced] - core)
                print(f"| {Path(path).stem} | {b} | {learner} | {core:.3f} | {found[False]:.3f} "
                      f"| {found[True]:.3f} | {found[True] - found[False]:+.3f} |", flush=True)
    print()
    print("| rows per class | learner | teacher | >= better coreset | mean difference |")
    print("|---|---|---|---|---|")
    for (b, learner, balanced), d in sorted(tally.items()):
        d = np.array(d)
        print(f"| {b} | {learner} | {'balanced weights' if balanced else 'prior-corrected'} | "
              f"{(d >= 0).sum()}/{len(d)} | {d.mean():+.4f} |")


if __name__ == "__main__":
    main()
