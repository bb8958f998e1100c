"""Variants of the ``wang`` method's settings, paired on the same tables and seeds.

For each KEEL table: ``wang`` at 10 rows per class (``tabdistill.methods.wang_config``, the
paper's noise start unless a variant says otherwise), 3 restarts, once per variant; each
learner trains on every restart's set (nets along its learned schedule) and is scored by
balanced accuracy on the table's test part. Prints a markdown table of means and of the paired
differences against the first variant, then the mean differences over the tables.

A variant is ``NAME=FIELD:VALUE[,FIELD:VALUE...]`` over :class:`tabdistill.DistillConfig`
fields; the default set compares where the rows start and the domain constraint:

    python benchmarks/wang_variants.py [--keel DIR] [--tables a,b] [--variant NAME=...]...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.distill import distill
from tabdistill.learners import fit_distilled
from tabdistill.methods import wang_config

TABLES = "vehicle,contraceptive,segment,crx,splice,satimage"
VARIANTS = ("noise=init_rows:noise", "real=init_rows:real", "kmeans=init_rows:kmeans",
            "kmeans+domain=init_rows:kmeans,in_domain:true")
LEARNERS = ("mlp2", "logreg", "knn", "rf")
RESTARTS = 3


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, fields = text.partition("=")
    pairs = (f.split(":", 1) for f in fields.split(",") if f)
    return name, {k: json.loads(v) if v in ("true", "false") else v for k, v in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=TABLES)
    parser.add_argument("--keel", default="../shared/data/keel")
    parser.add_argument("--variant", action="append", help="NAME=FIELD:VALUE,... (repeat)")
    args = parser.parse_args()
    variants = dict(map(parse_variant, args.variant or VARIANTS))
    first, *others = variants
    print("| table | learner | " + " | ".join(variants) + " | "
          + " | ".join(f"{v} - {first}" for v in others) + " |")
    print("|---" * (2 + len(variants) + len(others)) + "|")
    diffs = {(learner, v): [] for learner in LEARNERS for v in others}
    for name in args.tables.split(","):
        ds = load_dataset(str(Path(args.keel) / f"{name}.csv"), target="label")
        base = wang_config(ds, 10).replace(init_rows="noise", restarts=RESTARTS)
        sets = {v: distill(ds, base.replace(**fields)) for v, fields in variants.items()}
        for learner in LEARNERS:
            score = {v: np.array([balanced_accuracy_score(
                ds.y_test, fit_distilled(learner, d, restart=r, seed=r).predict(ds.X_test))
                for r in range(RESTARTS)]) for v, d in sets.items()}
            for v in others:
                diffs[learner, v].append(float(np.mean(score[v] - score[first])))
            print(f"| {name} | {learner} | "
                  + " | ".join(f"{score[v].mean():.3f}" for v in variants) + " | "
                  + " | ".join(f"{np.mean(score[v] - score[first]):+.3f}" for v in others)
                  + " |", flush=True)
    print(f"\nMean difference against {first} over the tables (balanced accuracy), tables where "
          "it is >= 0:\n")
    print("| learner | " + " | ".join(others) + " |")
    print("|---" * (1 + len(others)) + "|")
    for learner in LEARNERS:
        cells = [f"{np.mean(diffs[learner, v]):+.3f} ({sum(d >= 0 for d in diffs[learner, v])}"
                 f"/{len(diffs[learner, v])})" for v in others]
        print(f"| {learner} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
