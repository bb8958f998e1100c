"""Random rows and k-means centroids laid out like a distilled set, trained with a strategy.

The rows of each restart (``per_class x steps`` of each class) become ``steps`` batches of
``per_class`` rows per class, the shape of a distilled set of that size, and fresh nets train
on them with ``evaluate``'s schedule (``fixed`` by default), so that they compare one to one
with a distilled set's ``tabdistill evaluate DIR --strategy fixed``.

    PYTHONPATH=src .venv/bin/python benchmarks/coresets_fixed.py --arch linear,mlp2
"""

import argparse

import numpy as np

from tabdistill.config import DistillConfig
from tabdistill.data import load_dataset
from tabdistill.distill import DistilledData, class_layout
from tabdistill.evaluate import evaluate
from tabdistill.methods import balanced_subset, kmeans_centroids
from tabdistill.models import one_hot_targets

COMPARED = {"random": balanced_subset, "kmeans": kmeans_centroids}


def as_distilled(sets, n_classes: int, steps: int, per_class: int) -> DistilledData:
    """Per-restart ``(X, y)`` rows as ``steps`` batches of ``per_class`` rows of each class."""
    labels = np.tile(class_layout(n_classes, per_class), (steps, 1))  # [s, P]
    xs = []
    for X, y in sets:
        batches = np.empty((steps, labels.shape[1], X.shape[1]), np.float32)
        for c in range(n_classes):
            batches[labels == c] = X[y == c].reshape(-1, X.shape[1])  # batch-major, in order
        xs.append(batches)
    targets = np.asarray(one_hot_targets(labels, n_classes))
    config = DistillConfig(steps=steps, per_class=per_class, restarts=len(sets))
    return DistilledData(
        x=np.stack(xs), targets=np.broadcast_to(targets, (len(sets), *targets.shape)).copy(),
        labels=labels, lrs=np.zeros((len(sets), steps)), loss_history=np.zeros((len(sets), 1)),
        n_classes=n_classes, config=config, restart_ids=tuple(range(len(sets))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="moons")
    p.add_argument("--arch", default="linear,mlp2,mlp4,mlp:32x3:tanh,mlp:64x2:relu,"
                                      "mlp:16x5:elu")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--per-class", type=int, default=4)
    p.add_argument("--restarts", type=int, default=5)
    p.add_argument("--inits", type=int, default=10)
    p.add_argument("--strategy", default="fixed")
    args = p.parse_args()
    ds = load_dataset(args.data)
    rows = args.steps * args.per_class
    print(f"{args.data}: {rows} rows per class, {args.steps} batches x {args.per_class} per "
          f"class; {args.strategy} schedule; test accuracy mean (95% CI), "
          f"{args.restarts} restarts x {args.inits} inits")
    for name, make in COMPARED.items():
        sets = [make(ds.X_train, ds.y_train, rows, ds.n_classes, seed)
                for seed in range(args.restarts)]
        data = as_distilled(sets, ds.n_classes, args.steps, args.per_class)
        for arch in args.arch.split(","):
            s = evaluate(data, ds.X_test, ds.y_test, arch=arch, strategy=args.strategy,
                         inits=args.inits).summary()
            lo, hi = s["ci95"]
            print(f"  {name:>7} {arch:>14}: {s['accuracy_mean']:.4f} ({lo:.4f}-{hi:.4f})",
                  flush=True)


if __name__ == "__main__":
    main()
