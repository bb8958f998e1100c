"""The sharpness of the k-NN vote that ``kip`` fits knn's prototypes to, on validation halves.

For each table and budget (rows per class of at least 2, where knn takes k > 1 neighbours):
the train part is split in two stratified halves (``methods.validation_split``, seeds 0-2);
knn's ``kip`` prototypes are made from the first half with each kernel width (a multiple of
the median squared distance; ``kip.KipConfig.width``) and knn trained on them is scored by
balanced accuracy on the second half. The test part is never touched. Prints a markdown table
of the mean over tables and seeds per width and budget, and the tables where each width is
best.

    python benchmarks/kip_knn_width.py [--keel DIR] [--budgets 10,50] [--widths ...] [TABLE ...]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from tabdistill.domain import Domain
from tabdistill.kip import kip_rows
from tabdistill.learners import fit, knn_neighbours
from tabdistill.methods import KIP_CONFIGS, kmeans_centroids, validation_split

SEEDS = (0, 1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="*", help="KEEL table names (default: every one)")
    parser.add_argument("--keel", default="../shared/data/keel")
    parser.add_argument("--budgets", default="10,50", help="rows per class, comma-separated")
    parser.add_argument("--widths", default="0.005,0.01,0.02,0.1,0.5")
    args = parser.parse_args()
    from tabdistill.data import load_dataset

    names = args.tables or sorted(p.stem for p in Path(args.keel).glob("*.csv"))
    budgets = [int(b) for b in args.budgets.split(",")]
    widths = [float(w) for w in args.widths.split(",")]
    scores = {}  # (budget, width) -> per (table, seed) balanced accuracy on the second half
    for name in names:
        ds = load_dataset(str(Path(args.keel) / f"{name}.csv"), target="label")
        k = ds.n_classes
        for seed in SEEDS:
            X_fit, X_val, y_fit, y_val = validation_split(ds.X_train, ds.y_train, 0.5, seed)
            domain = Domain.of(X_fit, ds.onehot_blocks)
            for b in budgets:
                if b * k >= len(y_fit):
                    continue
                start, labels = kmeans_centroids(X_fit, y_fit, b, k, seed)
                config = dataclasses.replace(KIP_CONFIGS["vote-k"],
                                             neighbours=knn_neighbours(len(labels), k))
                for w in widths:
                    rows, _ = kip_rows(X_fit, y_fit, start, labels, k, domain, seed,
                                       dataclasses.replace(config, width=w))
                    pred = fit("knn", rows, labels, k).predict(X_val)
                    scores.setdefault((b, w), {})[name, seed] = balanced_accuracy_score(
                        y_val, pred)
    print("| rows per class | width | mean balanced accuracy, validation halves | tables where "
          "best |")
    print("|---|---|---|---|")
    for b in budgets:
        cells = {w: scores.get((b, w), {}) for w in widths}
        tables = sorted({t for c in cells.values() for t, _ in c})
        per_table = {w: {t: np.mean([v for (tt, _), v in cells[w].items() if tt == t])
                         for t in tables} for w in widths}
        best = {t: max(widths, key=lambda w, t=t: per_table[w][t]) for t in tables}
        for w in widths:
            mean = np.mean(list(cells[w].values()))
            wins = sum(1 for t in tables if best[t] == w)
            print(f"| {b} | {w:g} | {mean:.4f} | {wins} / {len(tables)} |")


if __name__ == "__main__":
    main()
