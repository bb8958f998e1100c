"""Synthetic rows in the original feature space, so that any tool can train on them.

The distilled objects live in the model's space (standardised numbers, one-hot blocks). Export
undoes the preprocessing stored with them: numeric columns get their train mean and scale
back, and each categorical column becomes its most likely category (the largest value of its
one-hot block; the block's raw values can be kept too with ``soft=True``, as columns named
like the one-hot features, e.g. ``color_red``). Each row also carries its label (the original
class label, under the target's column name), the synthetic batch (``step``) it belongs to,
the learned learning rate of that batch's first use (``lr``; with several internal epochs the
later uses' lrs follow as ``lr_epoch_2`` ...), and its ``restart``. A set with soft labels
(learned, or a teacher's) also carries each class's probability as ``prob_<class>`` and the
row's ``weight``: to use them, train on copies of each row, one per class, weighing
``weight x prob_<class>``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import TabdistillError
from .io import atomic_file, load, load_transformer, writing
from .learners import hard_labels, soft_targets
from .schema import Schema

FORMATS = ("csv", "parquet")


def original_features(X: np.ndarray, schema: Schema | None, feature_names=None, *,
                      soft: bool = False) -> pd.DataFrame:
    """Rows ``X`` ``[N, d]`` of the model's space -> a DataFrame with the original columns
    (``schema`` None: raw features, as moons, named by ``feature_names``)."""
    if schema is None:
        names = feature_names or [f"x{i}" for i in range(X.shape[1])]
        return pd.DataFrame(X, columns=list(names))
    return schema.inverse(X, soft=soft)


def synthetic_frame(distilled, manifest: dict, schema: Schema | None, *, soft: bool = False,
                    restarts=None) -> pd.DataFrame:
    """All synthetic rows of the chosen restarts (default all) as one original-space table
    (with each row's step and lrs where the set has a learned schedule)."""
    info = manifest.get("dataset", {})
    classes = info.get("classes") or list(range(distilled.n_classes))
    label = info.get("preprocessing", {}).get("target") or info.get("target") or "label"
    steps, per_step = distilled.x.shape[1], distilled.x.shape[2]
    epochs = distilled.lrs.shape[1] // steps
    restarts = range(distilled.n_restarts) if restarts is None else restarts
    parts = []
    for r in restarts:
        X = distilled.x[r].reshape(steps * per_step, -1)
        frame = original_features(X, schema, info.get("feature_names"), soft=soft)
        frame[label] = [classes[i] for i in hard_labels(distilled, r)]
        if distilled.config.learn_labels:
            for c, p in zip(classes, soft_targets(distilled, r).T, strict=True):
                frame[f"prob_{c}"] = p
            frame["weight"] = distilled.row_weight
        if distilled.has_schedule:  # which step each row belongs to, and its lrs
            step = np.repeat(np.arange(steps), per_step)
            frame["step"] = step
            lrs = distilled.lrs[r].reshape(epochs, steps)
            frame["lr"] = lrs[0][step]
            for e in range(1, epochs):
                frame[f"lr_epoch_{e + 1}"] = lrs[e][step]
        frame["restart"] = distilled.restart_ids[r]
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def export(directory, *, fmt: str = "csv", out=None, soft: bool = False) -> Path:
    """Writes a distilled directory's synthetic rows as ``synthetic.<fmt>`` (or ``out``)."""
    if fmt not in FORMATS:
        raise TabdistillError(f"unknown export format {fmt!r}; expected one of "
                              f"{', '.join(FORMATS)}")
    distilled, manifest = load(directory)
    frame = synthetic_frame(distilled, manifest, load_transformer(directory), soft=soft)
    out = Path(out) if out is not None else Path(directory) / f"synthetic.{fmt}"
    write_table(frame, out, fmt)
    return out


def write_table(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """Writes through a temporary sibling and a rename: never a half-written file."""
    with writing(path), atomic_file(path, suffix=f".{fmt}") as tmp:
        if fmt == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
