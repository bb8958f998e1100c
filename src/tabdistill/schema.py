"""The fitted preprocessing of a table as plain data: what each column is and how it becomes
the model's features, and back.

A :class:`Schema` holds, for each kept column in the table's order, its kind and its fitted
numbers: a numeric column's imputation value (train median), mean and scale; a categorical
column's imputation value (most frequent train level), its one-hot levels and the rare levels
pooled into one "infrequent" column. The model's features are the numeric columns in order,
then each categorical column's one-hot block in order (the levels, then the pooled column if
any). It is fitted by scikit-learn (:func:`tabdistill.data.fit_preprocessing` reads it from the
fitted ``ColumnTransformer``) and gives the same numbers, but it is stored as JSON
(``preprocess.json``, :meth:`Schema.to_json`), so reading it can never run code.

Example::

    schema = Schema.from_json(json.loads(Path("out/preprocess.json").read_text()))
    X = schema.transform(new_rows)       # [N, d] float32, the model's space
    frame = schema.inverse(X)            # the original columns again
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import TabdistillError

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "tabdistill-preprocess/1"
POOLED = "infrequent_sklearn"  # the pooled level's name (scikit-learn's, for the same output)


@dataclass(frozen=True)
class Numeric:
    """A numeric column: missing -> ``impute``; then ``(value - mean) / scale``. An
    ``integer`` column (every train value a whole number) goes back to whole numbers."""

    name: str
    impute: float
    mean: float
    scale: float
    integer: bool = False

    @property
    def features(self) -> tuple[str, ...]:
        return (self.name,)


@dataclass(frozen=True)
class Categorical:
    """A categorical column, one-hot: one feature per level in ``levels``, then one for the
    ``pooled`` (infrequent) levels if there are any; a level never seen in training goes to
    the pooled feature, or to none (all zeros) when nothing was pooled."""

    name: str
    impute: str
    levels: tuple[str, ...]
    pooled: tuple[str, ...] = ()

    @property
    def features(self) -> tuple[str, ...]:
        extra = (POOLED,) if self.pooled else ()
        return tuple(f"{self.name}_{level}" for level in (*self.levels, *extra))


@dataclass(frozen=True)
class Schema:
    """The kept columns of a table in its order (see the module doc)."""

    columns: tuple[Numeric | Categorical, ...]

    @property
    def layout(self) -> tuple[Numeric | Categorical, ...]:
        """The columns in feature order: numeric ones first, then the one-hot blocks."""
        return (*(c for c in self.columns if isinstance(c, Numeric)),
                *(c for c in self.columns if isinstance(c, Categorical)))

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f for c in self.layout for f in c.features)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def onehot_blocks(self) -> tuple[tuple[int, int], ...]:
        """``(start, stop)`` of each categorical column's one-hot features, in feature order."""
        return tuple((start, stop) for column, start, stop in self._blocks()
                     if isinstance(column, Categorical))

    def _blocks(self):
        """``(column, start, stop)`` of each column's features, in feature order."""
        start = 0
        for column in self.layout:
            yield column, start, start + len(column.features)
            start += len(column.features)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw rows (a DataFrame with the original columns; others are ignored) -> ``[N, d]``
        float32 features."""
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise TabdistillError(f"rows are a {type(frame).__name__}; expected a pandas "
                                  "DataFrame with the original columns")
        absent = [c.name for c in self.columns if c.name not in frame.columns]
        if absent:
            raise TabdistillError(f"the rows have no column {absent[0]!r}; expected the "
                                  f"columns {', '.join(c.name for c in self.columns)}")
        out = np.zeros((len(frame), self.n_features), np.float64)
        for column, start, stop in self._blocks():
            if isinstance(column, Numeric):
                values = _numbers(frame[column.name])
                values[np.isnan(values)] = column.impute
                out[:, start] = (values - column.mean) / column.scale
                continue
            cells = as_text(frame[[column.name]])[column.name].to_numpy(object, copy=True)
            cells[pd.isna(cells)] = column.impute
            index = pd.Index(column.levels, dtype=object).get_indexer(cells)
            if column.pooled:
                index[index < 0] = stop - start - 1
            rows = np.flatnonzero(index >= 0)
            out[rows, start + index[rows]] = 1.0
        return out.astype(np.float32)

    def inverse(self, X: np.ndarray, *, soft: bool = False) -> pd.DataFrame:
        """Features ``X`` ``[N, d]`` -> a DataFrame of the original columns, in order.

        Numeric columns get their mean and scale back (integer ones rounded to whole numbers);
        a categorical column becomes the level of the largest value of its block (the pooled
        feature: ``infrequent_sklearn``). With ``soft`` the blocks' raw values follow, as
        columns named like the features.
        """
        import pandas as pd

        X = np.asarray(X, np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise TabdistillError(f"rows of shape {X.shape} do not fit the preprocessing; "
                                  f"expected [rows, {self.n_features}]")
        values, extra = {}, {}
        for column, start, stop in self._blocks():
            if isinstance(column, Numeric):
                value = X[:, start] * column.scale + column.mean
                values[column.name] = np.rint(value).astype(np.int64) if column.integer else value
                continue
            block = X[:, start:stop]
            names = np.array([*column.levels, *([POOLED] if column.pooled else [])], object)
            values[column.name] = names[np.argmax(block, axis=1)]
            if soft:
                extra.update(zip(column.features, block.T, strict=True))
        frame = pd.DataFrame({c.name: values[c.name] for c in self.columns})
        return pd.concat([frame, pd.DataFrame(extra)], axis=1) if extra else frame

    # ---- storage -------------------------------------------------------------------------

    def to_json(self) -> dict:
        """A JSON-able dict: ``format`` and one entry per column (see ``docs/format.md``)."""
        columns = []
        for c in self.columns:
            if isinstance(c, Numeric):
                columns.append({"name": c.name, "kind": "numeric", "impute": c.impute,
                                "mean": c.mean, "scale": c.scale, "integer": c.integer})
            else:
                columns.append({"name": c.name, "kind": "categorical", "impute": c.impute,
                                "levels": list(c.levels), "pooled": list(c.pooled)})
        return {"format": FORMAT, "columns": columns}

    @classmethod
    def from_json(cls, data, *, source: str = "preprocessing") -> Schema:
        """The schema stored by :meth:`to_json`, checked field by field; anything else raises
        :class:`TabdistillError` naming ``source``."""
        try:
            return cls._parse(data)
        except (KeyError, TypeError, ValueError) as err:
            reason = str(err).strip("'\"") if str(err) else type(err).__name__
            raise TabdistillError(
                f"{source} is corrupted or not written by tabdistill ({reason}); expected the "
                "preprocessing written by tabdistill distill"
            ) from None

    @classmethod
    def _parse(cls, data) -> Schema:
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        entries = data["columns"]
        if not isinstance(entries, list) or not entries:
            raise ValueError("no columns")
        columns = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise TypeError("a column is not an object")
            name = _text(entry["name"], "a column name")
            if entry["kind"] == "numeric":
                impute, mean = _number(entry["impute"], name), _number(entry["mean"], name)
                scale = _number(entry["scale"], name)
                if not scale > 0:
                    raise ValueError(f"column {name!r} has scale {scale}")
                integer = entry.get("integer", False)  # absent in files of 0.1
                if not isinstance(integer, bool):
                    raise TypeError(f"column {name!r} has integer {integer!r}, not true or false")
                columns.append(Numeric(name, impute, mean, scale, integer))
            elif entry["kind"] == "categorical":
                levels = _texts(entry["levels"], name)
                pooled = _texts(entry["pooled"], name)
                if not levels and not pooled:
                    raise ValueError(f"column {name!r} has no levels")
                columns.append(Categorical(name, _text(entry["impute"], name), levels, pooled))
            else:
                raise ValueError(f"column {name!r} is of unknown kind {entry['kind']!r}")
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise ValueError("a column appears twice")
        return cls(tuple(columns))

    @classmethod
    def from_transformer(cls, transformer, train: pd.DataFrame | None = None) -> Schema:
        """Reads the fitted ``ColumnTransformer`` of :func:`tabdistill.data.column_transformer`
        (numeric: median imputer, standard scaler; categorical: text, most-frequent imputer,
        one-hot encoder with infrequent levels). With the ``train`` rows it was fitted on, the
        numeric columns whose values are all whole numbers are marked ``integer``."""
        fitted = {name: (pipe, list(cols)) for name, pipe, cols in transformer.transformers_
                  if name in ("num", "cat")}
        kept = {}
        if "num" in fitted:
            pipe, cols = fitted["num"]
            imputer, scaler = pipe[0], pipe[-1]
            for i, col in enumerate(cols):
                kept[col] = Numeric(str(col), float(imputer.statistics_[i]),
                                    float(scaler.mean_[i]), float(scaler.scale_[i]),
                                    train is not None and _whole(train[col]))
        if "cat" in fitted:
            pipe, cols = fitted["cat"]
            imputer, encoder = pipe[-2], pipe[-1]
            infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(cols)
            for i, col in enumerate(cols):
                pooled = [] if infrequent[i] is None else [str(v) for v in infrequent[i]]
                levels = [str(v) for v in encoder.categories_[i] if str(v) not in pooled]
                kept[col] = Categorical(str(col), str(imputer.statistics_[i]), tuple(levels),
                                        tuple(pooled))
        order = [c for c in transformer.feature_names_in_ if c in kept]
        return cls(tuple(kept[c] for c in order))


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical cells as text, so that one column holds one type; missing cells stay NaN."""
    import pandas as pd

    frame = pd.DataFrame(frame)
    return frame.astype(str).astype(object).where(frame.notna(), np.nan)


def _numbers(values: pd.Series) -> np.ndarray:
    """A numeric column as float64 (missing cells NaN); text or infinities are refused."""
    try:
        out = values.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    except (TypeError, ValueError):
        raise TabdistillError(f"column {values.name!r} of the rows holds text; expected "
                              "numbers") from None
    if np.isinf(out).any():
        raise TabdistillError(f"column {values.name!r} of the rows has an infinite value; "
                              "expected finite numbers")
    return out


def _whole(values: pd.Series) -> bool:
    """Whether a numeric column's present values are all whole numbers (and there are some)."""
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = numbers[~np.isnan(numbers)]
    return bool(len(numbers)) and bool(np.all(numbers == np.round(numbers)))


def _text(value, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is a {type(value).__name__}, not text")
    return value


def _texts(values, name: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"the levels of column {name!r} are not a list of text")
    if len(set(values)) != len(values):
        raise ValueError(f"a level of column {name!r} appears twice")
    return tuple(values)


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"column {name!r} has {value!r} where a finite number belongs")
    return float(value)
