"""Learned soft labels for scikit-learn learners: weighted copies against hard labels.

For each KEEL table: the ``wang`` method at 10 rows per class with learned labels
(``learn_labels``), 3 restarts; each weighted learner is trained on every restart's set twice,
with each row's likeliest class (hard) and with one copy per class weighted by the row's
learned target (soft, :func:`tabdistill.learners.weighted_copies`), and scored by balanced accuracy
on the table's test part. Prints a markdown table of means and the paired difference.

    python benchmarks/soft_labels.py [--keel DIR] [TABLE ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.distill import distill
from tabdistill.learners import fit_distilled
from tabdistill.methods import wang_config

TABLES = ("vehicle", "contraceptive", "segment", "crx", "splice", "satimage")
LEARNERS = ("logreg", "rf", "hgb", "nb")
RESTARTS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="*", default=TABLES)
    parser.add_argument("--keel", default="../shared/data/keel")
    args = parser.parse_args()
    print("| table | learner | hard labels | soft labels | soft - hard (95% interval) |")
    print("|---|---|---|---|---|")
    diffs = {learner: [] for learner in LEARNERS}
    for name in args.tables:
        ds = load_dataset(str(Path(args.keel) / f"{name}.csv"), target="label")
        d = distill(ds, wang_config(ds, 10).replace(learn_labels=True, restarts=RESTARTS))
        for learner in LEARNERS:
            score = {soft: np.array([balanced_accuracy_score(
                ds.y_test, fit_distilled(learner, d, restart=r, seed=r, soft=soft)
                .predict(ds.X_test)) for r in range(RESTARTS)]) for soft in (False, True)}
            diff = score[True] - score[False]
            half = stats.t.ppf(0.975, RESTARTS - 1) * diff.std(ddof=1) / np.sqrt(RESTARTS)
            diffs[learner].append(diff.mean())
            print(f"| {name} | {learner} | {score[False].mean():.3f} | {score[True].mean():.3f} "
                  f"| {diff.mean():+.3f} ({diff.mean() - half:+.3f}, {diff.mean() + half:+.3f}) |",
                  flush=True)
    print("\nMean of soft - hard over the tables (balanced accuracy), tables where it is >= 0:\n")
    print("| learner | mean difference | tables >= 0 |")
    print("|---|---|---|")
    for learner, values in diffs.items():
        print(f"| {learner} | {np.mean(values):+.3f} | {sum(v >= 0 for v in values)} / "
              f"{len(values)} |")


if __name__ == "__main__":
    main()
