"""Synthetic rows in the original feature space, so that any tool can train on them.

The distilled objects live in the model's space (standardised numbers, one-hot blocks). Export
undoes the preprocessing stored with them: numeric columns get their train mean and scale
back, and each categorical column becomes its most likely category (the largest value of its
one-hot block; the block's raw values can be kept too with ``soft=True``, as columns named
like the one-hot features, e.g. ``color_red``). Each row also carries its label (the original
class label, under the target's column name), the synthetic batch (``step``) it belongs to,
the learned learning rate of that batch's first use (``lr``; with several internal epochs the
later uses' lrs follow as ``lr_epoch_2`` ...), and its ``restart``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import TabdistillError
from .io import atomic_file, load, load_transformer, writing
from .learners import hard_labels

FORMATS = ("csv", "parquet")


def original_features(X: np.ndarray, transformer, preprocessing: dict, *,
                      soft: bool = False) -> pd.DataFrame:
    """Rows ``X`` of the model's space -> a DataFrame with the original feature columns."""
    if transformer is None:  # raw features (moons): nothing to undo
        names = preprocessing.get("feature_names") or [f"x{i}" for i in range(X.shape[1])]
        return pd.DataFrame(X, columns=list(names))
    X = np.asarray(X, np.float64)
    out = {}
    if "num" in transformer.named_transformers_:
        numeric = preprocessing["numeric_columns"]
        scaler = transformer.named_transformers_["num"][-1]
        values = scaler.inverse_transform(X[:, transformer.output_indices_["num"]])
        out.update({c: values[:, i] for i, c in enumerate(numeric)})
    soft_columns = {}
    if "cat" in transformer.named_transformers_:
        encoder = transformer.named_transformers_["cat"][-1]
        block = X[:, transformer.output_indices_["cat"]]
        hard = np.zeros_like(block)
        names = transformer.get_feature_names_out()[transformer.output_indices_["cat"]]
        start = 0
        for col in preprocessing["categorical_columns"]:
            lo, hi = preprocessing["one_hot_groups"][col]
            width = hi - lo
            part = block[:, start:start + width]
            hard[np.arange(len(X)), start + np.argmax(part, axis=1)] = 1.0
            if soft:
                soft_columns.update({n: part[:, i] for i, n in
                                     enumerate(names[start:start + width])})
            start += width
        categories = encoder.inverse_transform(hard)
        out.update({c: categories[:, i] for i, c in
                    enumerate(preprocessing["categorical_columns"])})
    order = preprocessing.get("columns") or list(out)
    frame = pd.DataFrame({c: out[c] for c in order})
    if soft_columns:
        frame = pd.concat([frame, pd.DataFrame(soft_columns)], axis=1)
    return frame


def synthetic_frame(distilled, manifest: dict, transformer, *, soft: bool = False,
                    restarts=None) -> pd.DataFrame:
    """All synthetic rows of the chosen restarts (default all) as one original-space table."""
    info = manifest.get("dataset", {})
    preprocessing = dict(info.get("preprocessing", {}))
    preprocessing.setdefault("feature_names", info.get("feature_names"))
    classes = info.get("classes") or list(range(distilled.n_classes))
    label = preprocessing.get("target") or info.get("target") or "label"
    steps, per_step = distilled.x.shape[1], distilled.x.shape[2]
    epochs = distilled.lrs.shape[1] // steps
    restarts = range(distilled.n_restarts) if restarts is None else restarts
    parts = []
    for r in restarts:
        X = distilled.x[r].reshape(steps * per_step, -1)
        frame = original_features(X, transformer, preprocessing, soft=soft)
        frame[label] = [classes[i] for i in hard_labels(distilled, r)]
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
