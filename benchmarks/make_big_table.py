"""Writes a large generated table for timing ``compare``: 100,000 rows x 50 feature columns
(46 numeric, 4 categorical, one of them with 60 levels), 4 classes, 1% of cells missing.

scikit-learn's ``make_classification`` with some informative columns cut into categorical
levels; the same seed gives the same file.

    python benchmarks/make_big_table.py OUT.csv [--rows 100000] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification


def make_table(rows: int, seed: int) -> pd.DataFrame:
    X, y = make_classification(n_samples=rows, n_features=50, n_informative=20,
                               n_redundant=10, n_classes=4, n_clusters_per_class=2,
                               class_sep=0.8, random_state=seed)
    frame = pd.DataFrame(X[:, :46], columns=[f"num{i}" for i in range(46)])
    for j, levels in enumerate((3, 5, 8, 60)):  # quantile bins of informative columns
        codes = pd.qcut(X[:, 46 + j], levels, labels=False)
        frame[f"cat{j}"] = [f"level{c}" for c in codes]
    rng = np.random.default_rng(seed)
    frame = frame.mask(rng.random(frame.shape) < 0.01)
    frame["label"] = np.array(["alpha", "beta", "gamma", "delta"])[y]
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_table(args.rows, args.seed).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
