"""Datasets: the built-in ones by name, or a user's table, split and preprocessed.

``moons`` is the paper's data exactly, as the authors' code
(github.com/dm-medvedev/dataset-distillation) makes it: ``make_moons(1500, noise=0.05,
random_state=8)``, a plain ``train_test_split(test_size=0.33, random_state=8)`` and raw
coordinates. Every other source (the other built-in sets, a CSV / TSV / Parquet file, a
DataFrame) goes through one documented path:

* **Target.** Chosen by column name (default: the last column). Labels of any type (strings
  included); rows without a label are dropped. A target that looks continuous (non-integer
  numbers, or nearly one value per row) is refused: tabdistill does classification. A class
  with a single row cannot be both trained on and tested, so it is dropped with a note; a
  target with no labels at all is refused as such.
* **Files.** A CSV's delimiter (comma, semicolon, tab or bar) is detected from its first
  lines; repeated column names are refused with their names.
* **Columns.** Numeric columns are standardised; text, boolean and categorical columns are
  one-hot encoded. A text column whose values are mostly numbers is refused as a typo rather
  than silently treated as categories, unless it has at most 20 distinct values (a coded
  count such as 0, 1, 2, "3+": categories). Columns constant on the train part, and text columns
  with a different value in every row (identifiers), are dropped with a note.
* **High cardinality.** A categorical column with more than ``max_categories`` (20) levels
  keeps its ``max_categories - 1`` most frequent levels and pools the rest into one
  "infrequent" level (scikit-learn's ``OneHotEncoder(max_categories=...)``); unseen levels at
  transform time go to that level too (or to all-zeros if there is none).
* **Missing cells** (``missing=``): ``impute`` (default) fills numeric cells with the train
  median and categorical cells with the train's most frequent level, and counts them; ``drop``
  drops rows with any missing feature; ``error`` refuses the table. Infinite values are
  always refused.
* **Split.** Stratified ``train_test_split``; the preprocessing is fitted on the train part
  only and kept (``Dataset.transformer``, a :class:`~tabdistill.schema.Schema`: plain data,
  stored as JSON) so that new rows can be transformed the same way.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import TabdistillError
from .schema import Categorical, Numeric, Schema, as_text

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer

# pandas and scikit-learn are imported where they are used (about 1 s at start-up): the paper's
# moons needs neither.

MISSING_POLICIES = ("impute", "drop", "error")
MAX_CATEGORIES = 20
# A text column of mostly numbers with at most this many distinct values is categories (a
# coded count such as 0, 1, 2, "3+"), not numbers with a typo.
LEVELS_OF_CODED_COUNTS = 20


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
    transformer: Schema | None = None  # the fitted preprocessing from raw rows to X, if any

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def onehot_blocks(self) -> tuple[tuple[int, int], ...]:
        """``(start, stop)`` of each categorical column's one-hot features (none without a
        fitted preprocessing); every other feature is numeric."""
        return () if self.transformer is None else self.transformer.onehot_blocks

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the prepared arrays: two runs on the same data share it."""
        h = hashlib.sha256()
        for a in (self.X_train, self.y_train, self.X_test, self.y_test):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


def _moons():
    from sklearn import datasets as skd

    X, y = skd.make_moons(n_samples=1500, noise=0.05, random_state=8)
    return X.astype(np.float32), y, ("x1", "x2")


def _circles():
    from sklearn import datasets as skd

    X, y = skd.make_circles(n_samples=1500, noise=0.05, factor=0.5, random_state=8)
    return X, y, ("x1", "x2")


def _blobs():
    from sklearn import datasets as skd

    X, y = skd.make_blobs(n_samples=1500, centers=3, n_features=2, random_state=8)
    return X, y, ("x1", "x2")


def _bundled(loader: str):
    def load():
        from sklearn import datasets as skd

        bunch = getattr(skd, loader)()
        names = getattr(bunch, "feature_names", None)
        if names is None or len(names) != bunch.data.shape[1]:
            names = [f"x{i}" for i in range(bunch.data.shape[1])]
        return bunch.data, bunch.target, tuple(str(n) for n in names)

    return load


BUILTIN = {
    "moons": _moons,
    "circles": _circles,
    "blobs": _blobs,
    "breast_cancer": _bundled("load_breast_cancer"),
    "wine": _bundled("load_wine"),
    "iris": _bundled("load_iris"),
    "digits": _bundled("load_digits"),
}


def load_dataset(
    source: str,
    *,
    target: str | None = None,
    test_size: float = 0.33,
    seed: int = 8,
    missing: str = "impute",
    max_categories: int = MAX_CATEGORIES,
) -> Dataset:
    """Loads a built-in dataset by name, or a CSV / TSV / Parquet file by path.

    Args:
      source: a name from :data:`BUILTIN` or a path to a table.
      target: the label column of a table (default: its last column).
      test_size: fraction of rows held out for testing.
      seed: seed of the train/test split.
      missing: what to do with missing cells: ``impute``, ``drop`` or ``error``.
      max_categories: most one-hot columns for one categorical column (see the module doc).
    """
    _check_options(test_size, missing, max_categories)
    source = str(source)
    if source == "moons" and (test_size, seed) == MOONS_SPLIT and MOONS_FILE.exists():
        return _packaged_moons()
    if source in BUILTIN:
        X, y, names = BUILTIN[source]()
        if source == "moons":  # the paper's split and raw coordinates, exactly
            return _moons_dataset(X, y, names, test_size, seed)
        import pandas as pd

        frame = pd.DataFrame(np.asarray(X, np.float64), columns=list(names))
        frame["target"] = y
        return from_frame(frame, target=target or "target", name=source, test_size=test_size,
                          seed=seed, missing=missing, max_categories=max_categories)
    frame = read_table(source)
    return from_frame(frame, target=target, name=Path(source).name, test_size=test_size,
                      seed=seed, missing=missing, max_categories=max_categories)


def _check_options(test_size, missing, max_categories) -> None:
    if not 0.0 < test_size < 1.0:
        raise TabdistillError(f"test size {test_size} is out of range; expected between 0 and 1")
    if missing not in MISSING_POLICIES:
        raise TabdistillError(
            f"unknown missing-value policy {missing!r}; expected one of "
            f"{', '.join(MISSING_POLICIES)}"
        )
    if not isinstance(max_categories, int) or max_categories < 2:
        raise TabdistillError(f"max categories is {max_categories}; expected at least 2")


def read_table(path: str | Path) -> pd.DataFrame:
    """Reads a CSV, TSV or Parquet file into a DataFrame, with one-line errors."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise TabdistillError(
            f"no such dataset or file: {str(path)!r}; expected a file path or one of "
            f"{', '.join(BUILTIN)}"
        )
    if path.is_dir():
        raise TabdistillError(f"{path} is a directory; expected a CSV, TSV or Parquet file")
    if path.stat().st_size == 0:
        raise TabdistillError(f"{path} is empty; expected a table with a header and rows")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
            header = list(frame.columns)
        else:
            sep = "\t" if suffix in (".tsv", ".tab") else _delimiter(path)
            frame = pd.read_csv(path, sep=sep)
            # pandas renames a repeated name ("a" -> "a.1"): the header line says what it was.
            header = list(pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str).iloc[0])
    except pd.errors.EmptyDataError:
        raise TabdistillError(f"{path} is empty; expected a table with a header and rows") from None
    except UnicodeDecodeError:
        raise TabdistillError(f"cannot read {path}: not UTF-8 text; expected a CSV, TSV or "
                              "Parquet file") from None
    except (OSError, ValueError, pd.errors.ParserError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise TabdistillError(f"cannot read {path}: {first}; expected a CSV, TSV or Parquet "
                              "file") from None
    _check_unique(header, path.name)
    return frame


def _delimiter(path: Path) -> str:
    """The delimiter of a CSV file, detected from its first lines (comma if unclear)."""
    with open(path, encoding="utf-8", newline="") as f:
        sample = f.read(64 * 1024)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:  # one column, or no consistent delimiter: let the reader say what it sees
        return ","


def _check_unique(names, name: str) -> None:
    """Refuses repeated column names, naming them (one of each would be silently lost)."""
    import pandas as pd

    counts = pd.Series([str(n) for n in names]).value_counts(sort=False)
    repeated = [n for n, c in counts.items() if c > 1]
    if repeated:
        raise TabdistillError(
            f"{name} has duplicate column names: {', '.join(map(repr, repeated))}; expected each "
            "column to be named once"
        )


def from_frame(
    frame: pd.DataFrame,
    *,
    target: str | None = None,
    name: str = "table",
    test_size: float = 0.33,
    seed: int = 8,
    missing: str = "impute",
    max_categories: int = MAX_CATEGORIES,
) -> Dataset:
    """Turns a DataFrame with a label column into a :class:`Dataset` (see the module doc)."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    _check_options(test_size, missing, max_categories)
    if not isinstance(frame, pd.DataFrame):
        raise TabdistillError(f"{name} is a {type(frame).__name__}; expected a pandas DataFrame")
    if frame.shape[0] == 0:
        raise TabdistillError(f"{name} has a header but no rows; expected at least a few rows")
    _check_unique(frame.columns, name)
    target = frame.columns[-1] if target is None else target
    if target not in frame.columns:
        raise TabdistillError(
            f"no column {target!r} in {name}; expected one of {', '.join(map(str, frame.columns))}"
        )
    notes: dict = {"target": str(target), "missing": missing}
    frame = frame.reset_index(drop=True)
    unlabelled = frame[target].isna()
    if unlabelled.all():
        raise TabdistillError(
            f"{name} has no labels: column {target!r} is empty in all {len(frame)} rows; expected "
            "class labels in the target column (choose it with --target)"
        )
    if unlabelled.any():
        if missing == "error":
            raise TabdistillError(
                f"{name} has {int(unlabelled.sum())} rows without a label in {target!r}; "
                "expected a label in every row (or --missing impute/drop to drop them)"
            )
        frame = frame.loc[~unlabelled].reset_index(drop=True)
        notes["dropped_unlabelled_rows"] = int(unlabelled.sum())
    features, keep, more = inspect_features(frame.drop(columns=[target]), name=name,
                                            missing=missing)
    notes.update(more)
    classes, y, kept, dropped = _labels(frame[target].to_numpy()[keep], name, str(target))
    if dropped:
        features = features.loc[kept].reset_index(drop=True)
        notes["dropped_small_classes"] = dropped
    X_tr, X_te, y_tr, y_te = train_test_split(
        features, y, test_size=test_size, random_state=seed, stratify=y
    )
    transformer, more = fit_preprocessing(X_tr, name=name, max_categories=max_categories)
    notes.update(more)
    notes.update({"split_seed": seed, "test_size": test_size, "stratified": True,
                  "standardised": True})
    return Dataset(
        name=name,
        X_train=transform(transformer, X_tr),
        y_train=np.asarray(y_tr, np.int32),
        X_test=transform(transformer, X_te),
        y_test=np.asarray(y_te, np.int32),
        classes=classes,
        feature_names=transformer.feature_names,
        preprocessing=notes,
        transformer=transformer,
    )


def inspect_features(features: pd.DataFrame, *, name: str = "table", missing: str = "impute"):
    """Checks the feature columns and applies the missing-cell policy.

    Returns the (possibly row-filtered) features, a boolean mask of the rows kept, and notes.
    """
    if features.shape[1] == 0:
        raise TabdistillError(f"{name} has no feature columns besides the target; expected some")
    features = features.reset_index(drop=True)
    features.columns = [str(c) for c in features.columns]
    numeric, _ = _column_kinds(features, name)
    _check_finite(features[numeric], name)
    keep = np.ones(len(features), dtype=bool)
    notes = {}
    n_missing = int(features.isna().to_numpy().sum())
    if n_missing and missing == "error":
        column = features.columns[features.isna().any().to_numpy()][0]
        raise TabdistillError(
            f"{name} has {n_missing} missing cells (first in column {column!r}); expected none "
            "with --missing error (use impute or drop)"
        )
    if n_missing and missing == "drop":
        keep = ~features.isna().any(axis=1).to_numpy()
        notes["dropped_rows_with_missing"] = int((~keep).sum())
        features = features.loc[keep].reset_index(drop=True)
        if features.shape[0] == 0:
            raise TabdistillError(f"every row of {name} has a missing cell; expected some "
                                  "complete rows with --missing drop (or use impute)")
        n_missing = 0
    notes["imputed_cells"] = n_missing
    return features, keep, notes


def fit_preprocessing(train: pd.DataFrame, *, name: str = "table",
                      max_categories: int = MAX_CATEGORIES) -> tuple[Schema, dict]:
    """Fits the preprocessing on the train rows; returns it (a :class:`Schema`) and notes on
    what it does."""
    numeric, categorical = _column_kinds(train, name)
    numeric, categorical, notes = _useful_columns(train, numeric, categorical)
    if not numeric and not categorical:
        raise TabdistillError(f"every feature column of {name} is constant on the train part; "
                              "expected at least one that varies")
    schema = Schema.from_transformer(
        column_transformer(numeric, categorical, max_categories).fit(train), train)
    notes["columns"] = [c.name for c in schema.columns]
    notes.update(_describe(schema, train, max_categories))
    return schema, notes


def describe(notes: dict) -> list[str]:
    """One line for each thing the preprocessing did that a user should hear about."""
    lines = []
    if notes.get("imputed_cells"):
        lines.append(f"imputed {notes['imputed_cells']} missing cells (train median / most "
                     "frequent level)")
    if notes.get("dropped_rows_with_missing"):
        lines.append(f"dropped {notes['dropped_rows_with_missing']} rows with missing cells")
    if notes.get("dropped_unlabelled_rows"):
        lines.append(f"dropped {notes['dropped_unlabelled_rows']} rows without a label")
    for label, rows in notes.get("dropped_small_classes", {}).items():
        lines.append(f"dropped class {label!r}: {rows} row, too few to be both trained on and "
                     "tested (at least 2 needed)")
    for key, what in (("dropped_constant_columns", "constant"),
                      ("dropped_identifier_columns", "identifier")):
        if notes.get(key):
            lines.append(f"dropped {what} column(s): {', '.join(notes[key])}")
    for col, info in notes.get("high_cardinality", {}).items():
        lines.append(f"column {col!r} has {info['levels']} levels: kept the {info['kept']} "
                     "most frequent, pooled the rest")
    return lines


def transform(schema: Schema, frame: pd.DataFrame) -> np.ndarray:
    """New rows (a DataFrame with the original feature columns) -> the model's float32 X."""
    return schema.transform(frame)


# The paper's moons at the default split, as ``_moons_dataset`` makes it, kept in the package:
# the paper's work then imports no scikit-learn (about 1 s per process). ``tests/test_data.py``
# checks that it is the same data.
MOONS_SPLIT = (0.33, 8)
MOONS_FILE = Path(__file__).with_name("moons.npz")


def _packaged_moons() -> Dataset:
    with np.load(MOONS_FILE) as f:
        parts = {k: f[k].astype(np.int32) if k.startswith("y") else f[k] for k in f.files}
    test_size, seed = MOONS_SPLIT
    return Dataset(name="moons", **parts, classes=(0, 1), feature_names=("x1", "x2"),
                   preprocessing={"split_seed": seed, "test_size": test_size,
                                  "stratified": False},
                   transformer=None)


def _moons_dataset(X, y, names, test_size, seed) -> Dataset:
    from sklearn.model_selection import train_test_split

    classes, y_idx = np.unique(y, return_inverse=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y_idx, test_size=test_size, random_state=seed)
    return Dataset(
        name="moons",
        X_train=np.asarray(X_tr, np.float32),
        y_train=np.asarray(y_tr, np.int32),
        X_test=np.asarray(X_te, np.float32),
        y_test=np.asarray(y_te, np.int32),
        classes=tuple(c.item() for c in classes),
        feature_names=names,
        preprocessing={"split_seed": seed, "test_size": test_size, "stratified": False},
        transformer=None,
    )


# ---- columns ---------------------------------------------------------------------------


def _column_kinds(features: pd.DataFrame, name: str) -> tuple[list[str], list[str]]:
    """Numeric and categorical columns; a mostly-numeric text column is an error."""
    import pandas as pd

    numeric, categorical = [], []
    for col in features.columns:
        values = features[col]
        if pd.api.types.is_bool_dtype(values):
            categorical.append(col)
        elif pd.api.types.is_numeric_dtype(values):
            numeric.append(col)
        else:
            present = values.dropna()
            as_numbers = pd.to_numeric(present, errors="coerce")
            parsed = as_numbers.notna()
            few_levels = present.nunique() <= LEVELS_OF_CODED_COUNTS
            if len(present) and parsed.mean() > 0.5 and not parsed.all() and not few_levels:
                bad = present[~parsed].iloc[0]
                row = present.index[~parsed][0]
                raise TabdistillError(
                    f"column {col!r} of {name} holds numbers but row {row} has text {bad!r}; "
                    "expected a number in every cell of a numeric column"
                )
            categorical.append(col)
    return numeric, categorical


def _check_finite(numeric: pd.DataFrame, name: str) -> None:
    if numeric.shape[1] == 0:
        return
    values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        col = numeric.columns[np.flatnonzero(infinite.any(axis=0))[0]]
        raise TabdistillError(
            f"column {col!r} of {name} has {int(infinite.sum())} infinite value(s); expected "
            "finite numbers"
        )


def _labels(raw: np.ndarray, name: str, target: str):
    """Class labels of any type -> ``(classes, class indices, rows kept, dropped classes)``.

    Refuses continuous targets. A class with a single row can be neither split between the
    train and test parts nor learned and checked, so it is dropped (``dropped`` maps its label
    to its row count) and the rest of the table goes on.
    """
    from sklearn.utils.multiclass import type_of_target

    kind = type_of_target(raw) if raw.dtype != object else "multiclass"
    if kind.startswith("continuous"):
        raise TabdistillError(
            f"target {target!r} of {name} looks continuous ({len(np.unique(raw))} distinct "
            "non-integer values); expected class labels (tabdistill does classification)"
        )
    try:
        classes, y = np.unique(raw, return_inverse=True)
    except TypeError:  # mixed types, e.g. numbers and strings: compare them as text
        classes, y = np.unique(raw.astype(str), return_inverse=True)
    if len(classes) > max(20, len(raw) // 2):
        raise TabdistillError(
            f"target {target!r} of {name} has {len(classes)} distinct values in {len(raw)} "
            "rows; expected class labels, not a continuous value or an identifier"
        )
    counts = np.bincount(y, minlength=len(classes))
    small = counts < 2
    dropped = {_plain(c): int(n) for c, n in zip(classes[small], counts[small], strict=True)}
    kept = ~small[y]
    if len(classes) - small.sum() < 2:
        why = (f" once the classes with a single row ({', '.join(map(repr, dropped))}) are "
               "dropped" if dropped else "")
        raise TabdistillError(f"{name} has a single class in {target!r}{why}; expected at "
                              "least two classes with two rows or more")
    if dropped:  # renumber the classes that are left
        classes, y = classes[~small], (np.cumsum(~small) - 1)[y[kept]]
    return tuple(_plain(c) for c in classes), y.astype(np.int32), kept, dropped


def _plain(value):
    """A numpy scalar as a plain Python value (for manifests)."""
    return value.item() if hasattr(value, "item") else value


def _useful_columns(train: pd.DataFrame, numeric, categorical):
    """Drops columns constant on the train part and text identifiers; notes both."""
    import pandas as pd

    constant = [c for c in train.columns if train[c].nunique(dropna=True) <= 1]
    identifiers = [c for c in categorical if c not in constant
                   and not pd.api.types.is_bool_dtype(train[c])
                   and len(train) > 20 and train[c].nunique(dropna=True) == len(train)]
    gone = set(constant) | set(identifiers)
    notes = {"dropped_constant_columns": constant, "dropped_identifier_columns": identifiers}
    return ([c for c in numeric if c not in gone], [c for c in categorical if c not in gone],
            notes)


def column_transformer(numeric, categorical, max_categories) -> ColumnTransformer:
    """The scikit-learn transformer that fits the preprocessing (read into a :class:`Schema`)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                      numeric))
    if categorical:
        parts.append(("cat", make_pipeline(
            FunctionTransformer(as_text, feature_names_out="one-to-one"),
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=max_categories,
                          sparse_output=False, dtype=np.float64),
        ), categorical))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def _describe(schema: Schema, train, max_categories) -> dict:
    """What the fitted preprocessing does, for the manifest."""
    groups, high, start = {}, {}, 0
    for column in schema.layout:
        width = len(column.features)
        if isinstance(column, Categorical):
            groups[column.name] = [start, start + width]
            levels = int(train[column.name].nunique(dropna=True))
            if levels > max_categories:
                high[column.name] = {"levels": levels, "kept": width - 1}
        start += width
    return {
        "numeric_columns": [c.name for c in schema.columns if isinstance(c, Numeric)],
        "categorical_columns": [c.name for c in schema.columns if isinstance(c, Categorical)],
        "one_hot_groups": groups,
        "high_cardinality": high,
        "high_cardinality_rule": f"more than {max_categories} levels: keep the "
                                 f"{max_categories - 1} most frequent, pool the rest",
    }
