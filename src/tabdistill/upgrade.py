"""``tabdistill upgrade DIR``: converts a distilled directory of an older format to the current
one (``docs/format.md``).

Format 1 kept the preprocessing as ``preprocess.pkl``, a pickle, and reading a pickle can run
any code it names. So it is read only with ``--trust-pickle``, for a directory the user
vouches for; the preprocessing is then written as ``preprocess.json`` and the pickle removed.
Nothing else ever reads a pickle.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from . import io
from .errors import TabdistillError
from .schema import Schema


def upgrade(path: str | Path, *, trust_pickle: bool = False) -> bool:
    """Converts ``path`` to the current format in place; returns False if it already was.

    Raises :class:`TabdistillError` for a directory that is not one, and for one with a pickle
    unless ``trust_pickle``.
    """
    path = Path(path)
    file = path / io.MANIFEST
    if not path.is_dir() or not file.is_file():
        io.read_manifest(path)  # raises the usual error for a missing directory or manifest
    old = io.read_json(file)
    fmt = old.get("format") if isinstance(old, dict) else None
    if fmt not in io.OLD_FORMATS:
        io.load(path)  # the current format (checked), or the usual error
        return False
    pickled = path / io.OLD_PREPROCESS
    if pickled.exists() and not trust_pickle:
        raise TabdistillError(
            f"{pickled} is a pickle, which can run code when read; run `tabdistill upgrade "
            f"{path} --trust-pickle` only if you trust where {path} came from, or distil the "
            "data again"
        )
    schema = _unpickle(pickled) if pickled.exists() else None
    arrays_file = path / io.ARRAYS_FILE
    arrays = io.read_arrays(arrays_file)
    manifest = {**old, "format": io.FORMAT, "n_features": int(arrays["x"].shape[-1]),
                "preprocess": io.PREPROCESS if schema is not None else None}
    with io.corrupted_file(file):
        io.check_manifest(manifest)
    with io.corrupted_file(arrays_file):
        io.check_arrays(arrays, manifest)
    if schema is not None:
        with io.corrupted_file(pickled):
            io.check_schema(schema, manifest)
        io.atomic_write_text(path / io.PREPROCESS, json.dumps(schema.to_json(), indent=1))
    io.atomic_write_text(file, json.dumps(manifest, indent=2))  # the commit point
    pickled.unlink(missing_ok=True)
    return True


def _unpickle(file: Path) -> Schema:
    """The preprocessing in a format-1 pickle, as a :class:`Schema` (the user trusts it)."""
    from sklearn.compose import ColumnTransformer

    try:
        with open(file, "rb") as f:
            transformer = pickle.load(f)  # only with --trust-pickle
        if not isinstance(transformer, ColumnTransformer):
            raise TypeError(f"a {type(transformer).__name__}, not a ColumnTransformer")
        return Schema.from_transformer(transformer)
    except Exception as err:  # a truncated or foreign pickle can raise nearly anything
        raise TabdistillError(
            f"{file} is corrupted or not written by tabdistill ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); expected the preprocessing "
            "written by tabdistill distill"
        ) from None

