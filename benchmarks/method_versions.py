"""Compares two versions of one method on the same tables, budgets, learners and seeds.

Each of two ``tabdistill bench`` directories holds the method's cells (one made before the
change, a copy of it after: bench recomputes the cells of a method whose version changed and
reuses the rest), with ``random`` and ``kmeans`` at the same restarts. Prints, per budget and
learner, on how many tables each version's mean balanced accuracy over restarts is at least
the better of ``random`` and ``kmeans``, and the mean difference from it.

    cp -r DIR_BEFORE DIR_AFTER       # then change the method and bump its version
    tabdistill bench TABLES ... --methods full,random,kmeans,METHOD --out DIR_AFTER
    python benchmarks/method_versions.py DIR_BEFORE DIR_AFTER METHOD
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def against_coresets(results: pd.DataFrame, method: str) -> pd.Series:
    """Per (budget, learner, table): ``method``'s mean over restarts less the better coreset's."""
    means = results.groupby(["rows_per_class", "learner", "dataset", "method"])[
        "balanced_accuracy"].mean().unstack()
    return means[method] - means[["random", "kmeans"]].max(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("method")
    args = parser.parse_args()
    diffs = {name: against_coresets(pd.read_csv(path / "results.csv"), args.method)
             for name, path in (("before", args.before), ("after", args.after))}
    print(f"`{args.method}` against the better of random and kmeans (balanced accuracy, mean "
          "over restarts): tables where it is >= that coreset, and the mean difference\n")
    print("| rows per class | learner | before: >= | before: mean | after: >= | after: mean |")
    print("|---|---|---|---|---|---|")
    for (budget, learner), after in diffs["after"].groupby(level=[0, 1]):
        before = diffs["before"].loc[budget, learner]
        after = after.loc[budget, learner]
        print(f"| {budget} | {learner} | {(before >= 0).sum()} / {len(before)} | "
              f"{before.mean():+.3f} | {(after >= 0).sum()} / {len(after)} | "
              f"{after.mean():+.3f} |")


if __name__ == "__main__":
    main()
