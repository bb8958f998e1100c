"""Writes generated tables of shapes the development suite lacks, for ``real_data.py --set
shapes``: strongly imbalanced classes, many more columns than informative ones, many unequal
classes, 40 and 60 classes, and categorical columns with missing cells. scikit-learn's
``make_classification``; the same name gives the same file.

    python benchmarks/table_shapes.py OUT_DIR [NAME ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

_MANY = 0.8 ** np.arange(15)

# name: (what it exercises, make_classification's arguments, categorical columns, missing share)
SHAPES = {
    "imbalanced": ("2 classes, 93% / 7%",
                   dict(n_samples=8000, n_features=20, n_informative=6, weights=[0.93, 0.07],
                        flip_y=0.02, class_sep=0.8, random_state=1), 0, 0.0),
    "wide": ("150 columns, 20 of them informative, 4 classes",
             dict(n_samples=3000, n_features=150, n_informative=20, n_redundant=10,
                  n_classes=4, random_state=2), 0, 0.0),
    "manyclass": ("15 classes, each 0.8 times as large as the one before (2% to 20%)",
                  dict(n_samples=15000, n_features=30, n_informative=15, n_classes=15,
                       n_clusters_per_class=1, weights=list(_MANY / _MANY.sum()),
                       random_state=3), 0, 0.0),
    **{f"classes{k}": (f"{k} equal classes, 20 columns",
                        dict(n_samples=200 * k, n_features=20, n_informative=12, n_redundant=4,
                             n_classes=k, n_clusters_per_class=1, class_sep=1.5,
                             random_state=k), 0, 0.0) for k in (40, 60)},
    "mixed": ("8 numeric and 4 categorical columns (5 levels each), 5% of cells missing",
              dict(n_samples=5000, n_features=12, n_informative=6, n_classes=3,
                   random_state=4), 4, 0.05),
}


def make_table(name: str) -> pd.DataFrame:
    _, options, categorical, missing = SHAPES[name]
    X, y = make_classification(**options)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    for j in range(categorical):  # equal-width bins of a column, as letters
        frame[f"x{j}"] = pd.cut(frame[f"x{j}"], 5, labels=list("abcde")).astype(str)
    if missing:
        rng = np.random.default_rng(options["random_state"])
        frame = frame.mask(rng.random(frame.shape) < missing)
    frame["label"] = y
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(SHAPES)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.names) - set(SHAPES)
    if unknown:
        parser.error(f"unknown table(s) {', '.join(sorted(unknown))}; expected {', '.join(SHAPES)}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in args.names or SHAPES:
        make_table(name).to_csv(args.out_dir / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
