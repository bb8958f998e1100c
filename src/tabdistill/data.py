"""Datasets: the built-in ones by name, or a user's table, split and preprocessed.

``moons`` is the paper's data exactly (REFERENCE.md): ``make_moons(1500, noise=0.05,
random_state=8)``, a plain ``train_test_split(test_size=0.33, random_state=8)`` and raw
coordinates. Every other source gets a stratified split and features standardised on the train
part.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from .errors import TabdistillError


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification problem split into train and test parts, features ready for a net."""

    name: str
    X_train: np.ndarray  # [N, d] float32
    y_train: np.ndarray  # [N] int32 class indices
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple  # original label of each class index
    feature_names: tuple[str, ...]
    preprocessing: dict = field(default_factory=dict)  # how raw features became X (manifest)
    transformer: object = None  # fitted scikit-learn transformer from raw rows to X, if any

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the prepared arrays: two runs on the same data share it."""
        h = hashlib.sha256()
        for a in (self.X_train, self.y_train, self.X_test, self.y_test):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


def _moons():
    X, y = skd.make_moons(n_samples=1500, noise=0.05, random_state=8)
    return X.astype(np.float32), y, ("x1", "x2")


def _circles():
    X, y = skd.make_circles(n_samples=1500, noise=0.05, factor=0.5, random_state=8)
    return X, y, ("x1", "x2")


def _blobs():
    X, y = skd.make_blobs(n_samples=1500, centers=3, n_features=2, random_state=8)
    return X, y, ("x1", "x2")


def _bundled(loader):
    def load():
        bunch = loader()
        names = getattr(bunch, "feature_names", None)
        if names is None or len(names) != bunch.data.shape[1]:
            names = [f"x{i}" for i in range(bunch.data.shape[1])]
        return bunch.data, bunch.target, tuple(str(n) for n in names)

    return load


BUILTIN = {
    "moons": _moons,
    "circles": _circles,
    "blobs": _blobs,
    "breast_cancer": _bundled(skd.load_breast_cancer),
    "wine": _bundled(skd.load_wine),
    "iris": _bundled(skd.load_iris),
    "digits": _bundled(skd.load_digits),
}


def load_dataset(
    source: str,
    *,
    target: str | None = None,
    test_size: float = 0.33,
    seed: int = 8,
) -> Dataset:
    """Loads a built-in dataset by name, or a CSV / TSV / Parquet file by path.

    Args:
      source: a name from :data:`BUILTIN` or a path to a table.
      target: the label column of a table (default: its last column).
      test_size: fraction of rows held out for testing.
      seed: seed of the train/test split.
    """
    if not 0.0 < test_size < 1.0:
        raise TabdistillError(f"test size {test_size} is out of range; expected between 0 and 1")
    if source in BUILTIN:
        X, y, names = BUILTIN[source]()
        if source == "moons":  # the paper's split and raw coordinates, exactly
            return _split(source, X, y, names, test_size, seed, stratify=False, scale=False)
        return _split(source, X, y, names, test_size, seed, stratify=True, scale=True)
    frame = read_table(source)
    return from_frame(frame, target=target, name=Path(source).name, test_size=test_size, seed=seed)


def read_table(path: str | Path) -> pd.DataFrame:
    """Reads a CSV, TSV or Parquet file into a DataFrame, with one-line errors."""
    path = Path(path)
    if not path.exists():
        raise TabdistillError(
            f"no such dataset or file: {str(path)!r}; expected a file path or one of "
            f"{', '.join(BUILTIN)}"
        )
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        sep = "\t" if suffix in (".tsv", ".tab") else ","
        return pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError:
        raise TabdistillError(f"{path} is empty; expected a table with a header and rows") from None
    except (OSError, ValueError, pd.errors.ParserError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise TabdistillError(f"cannot read {path}: {first}") from None


def from_frame(
    frame: pd.DataFrame,
    *,
    target: str | None = None,
    name: str = "table",
    test_size: float = 0.33,
    seed: int = 8,
) -> Dataset:
    """Turns a DataFrame with a label column into a :class:`Dataset`."""
    if frame.shape[0] == 0:
        raise TabdistillError(f"{name} has a header but no rows; expected at least a few rows")
    target = frame.columns[-1] if target is None else target
    if target not in frame.columns:
        raise TabdistillError(
            f"no column {target!r} in {name}; expected one of {', '.join(map(str, frame.columns))}"
        )
    features = frame.drop(columns=[target])
    bad = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if bad:
        raise TabdistillError(f"column {bad[0]!r} of {name} is not numeric; expected numbers")
    X = features.to_numpy(dtype=np.float64)
    if not np.isfinite(X).all():
        raise TabdistillError(f"{name} has missing or infinite feature values; expected finite")
    names = tuple(str(c) for c in features.columns)
    return _split(name, X, frame[target].to_numpy(), names, test_size, seed, True, True)


def _split(name, X, y, names, test_size, seed, stratify: bool, scale: bool) -> Dataset:
    classes, y_idx = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise TabdistillError(f"{name} has a single class; expected at least two")
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y_idx, test_size=test_size, random_state=seed, stratify=y_idx if stratify else None
    )
    scaler = None
    preprocessing = {"split_seed": seed, "test_size": test_size, "stratified": stratify}
    if scale:
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
        preprocessing["standardised"] = True
    return Dataset(
        name=name,
        X_train=np.asarray(X_tr, np.float32),
        y_train=np.asarray(y_tr, np.int32),
        X_test=np.asarray(X_te, np.float32),
        y_test=np.asarray(y_te, np.int32),
        classes=tuple(c.item() if hasattr(c, "item") else c for c in classes),
        feature_names=names,
        preprocessing=preprocessing,
        transformer=scaler,
    )
