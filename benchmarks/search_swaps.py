"""``search``'s set for one learner by the swaps it tries: test balanced accuracy and seconds.

Each seed's search draws its swaps in the same order whatever their number, so the set after 10
swaps is the 40-swap search's set at its tenth swap (but for the held-out rows a class smaller
than the budget in the search's half is filled up with, drawn after the swaps). k-means
centroids of the same size (on the same rows ``auto`` works on) are the reference. Means over
the seeds, one line per table:

    python benchmarks/search_swaps.py TABLE [TABLE ...] [--target label] [--learner hgb]
        [--rows-per-class 10] [--swaps 0,10,40] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.learners import fit
from tabdistill.methods import auto_part, kmeans_centroids, search_rows


def score_on_test(dataset, learner, rows, labels, seed: int) -> float:
    model = fit(learner, rows, labels, dataset.n_classes, seed=seed)
    return balanced_accuracy_score(dataset.y_test, model.predict(dataset.X_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", type=Path)
    parser.add_argument("--target", default=None)
    parser.add_argument("--learner", default="hgb")
    parser.add_argument("--rows-per-class", type=int, default=10)
    parser.add_argument("--swaps", default="0,10,40")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    swaps = [int(s) for s in args.swaps.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{args.learner}, {args.rows_per_class} rows per class, test balanced accuracy and "
          f"seconds per set, mean over seeds {args.seeds}")
    print("| table | classes | kmeans | " + " | ".join(f"{s} swaps | s" for s in swaps) + " |")
    print("|---|---|---|" + "---|---|" * len(swaps))
    for table in args.tables:
        dataset = load_dataset(str(table), target=args.target)
        scores, seconds, reference = np.zeros((len(seeds), len(swaps))), np.zeros(len(swaps)), []
        for i, seed in enumerate(seeds):
            part = auto_part(dataset, seed)
            reference.append(score_on_test(dataset, args.learner, *kmeans_centroids(
                part.X_train, part.y_train, args.rows_per_class, part.n_classes, seed), seed))
            for j, count in enumerate(swaps):
                start = time.perf_counter()
                rows, labels, _ = search_rows(part.X_train, part.y_train, args.learner,
                                              part.n_classes, args.rows_per_class, seed,
                                              proposals=count)
                seconds[j] += (time.perf_counter() - start) / len(seeds)
                scores[i, j] = score_on_test(dataset, args.learner, rows, labels, seed)
        means = scores.mean(0)
        cells = " | ".join(f"{means[j]:.4f} | {seconds[j]:.0f}" for j in range(len(swaps)))
        print(f"| {table.stem} | {dataset.n_classes} | {np.mean(reference):.4f} | {cells} |",
              flush=True)


if __name__ == "__main__":
    main()
