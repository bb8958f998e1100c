"""Reading and writing distilled sets: ``distilled.npz`` (arrays), ``manifest.json``
(everything needed to know what the arrays are and to reproduce them) and, for a preprocessed
table, ``preprocess.json`` (the :class:`~tabdistill.schema.Schema`). The format is described
in ``docs/format.md``.

A distilled directory is data, meant to be shared: reading one never runs code from it (JSON
and ``np.load(allow_pickle=False)`` only), and every file is checked (types, shapes, agreement
with the manifest) before use, so that a foreign or corrupted file is one error naming it.

Writes are atomic: files are written into a temporary sibling directory that is renamed into
place at the end, so an interrupted run never leaves a directory that looks complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from .config import DistillConfig
from .distill import DistilledData
from .errors import TabdistillError
from .models import n_outputs
from .schema import Schema

FORMAT = "tabdistill/2"
OLD_FORMATS = ("tabdistill/1",)  # preprocessing as a pickle: converted by `tabdistill upgrade`
ARRAYS = ("x", "targets", "labels", "lrs", "loss_history")
MANIFEST, ARRAYS_FILE, PREPROCESS = "manifest.json", "distilled.npz", "preprocess.json"
OLD_PREPROCESS = "preprocess.pkl"


def versions() -> dict:
    """Versions of the packages that produced a result, and the XLA flags it ran under (they
    choose the kernels, whose rounding can differ)."""
    out = {"python": platform.python_version()}
    for pkg in ("tabdistill", "jax", "jaxlib", "optax", "numpy", "scikit-learn", "pandas"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    out["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    return out


@contextlib.contextmanager
def atomic_dir(path: str | Path):
    """Yields a temporary directory that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the result should not be
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def partial_dir(path: str | Path) -> Path:
    """Where a run writing ``path`` keeps its resumable checkpoint: a hidden sibling,
    ``.NAME.partial``, so that ``path`` itself appears only when complete."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


@contextlib.contextmanager
def atomic_file(path: str | Path, suffix: str = ""):
    """Yields a temporary sibling path that replaces ``path`` only if the block succeeds, so a
    reader never sees a half-written file (``suffix`` keeps writers that look at it happy)."""
    path = Path(path)
    if path.is_dir():
        raise TabdistillError(f"{path} is a directory; expected a file name to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the result should not be
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Writes a text file through a temporary sibling and a rename."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def ensure_writable(directory: str | Path) -> Path:
    """Checks, before any work, that files can be created in ``directory`` (made if missing);
    raises :class:`TabdistillError` naming the path otherwise."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as err:
        raise TabdistillError(
            f"cannot write to {directory} ({err.strerror or type(err).__name__}); expected a "
            "writable directory"
        ) from None
    return directory


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(path: str | Path, distilled: DistilledData, manifest: dict | None = None, *,
         transformer: Schema | None = None) -> Path:
    """Writes ``distilled`` and a manifest (the given entries plus config, seeds, timings).

    ``transformer``, the fitted preprocessing of the data (``Dataset.transformer``), is stored
    as ``preprocess.json`` so that new rows can be transformed the same way and synthetic rows
    mapped back to the original columns (see :func:`load_transformer`).
    """
    n_features = int(distilled.x.shape[-1])
    if transformer is not None and not isinstance(transformer, Schema):
        raise TypeError(f"transformer is a {type(transformer).__name__}; expected a Schema "
                        "(Dataset.transformer)")
    if transformer is not None and transformer.n_features != n_features:
        raise ValueError(f"the preprocessing makes {transformer.n_features} features; the "
                         f"distilled objects have {n_features}")
    files = {"format": FORMAT, "n_features": n_features,
             "preprocess": PREPROCESS if transformer is not None else None}
    manifest = {
        **files,
        "config": dataclasses.asdict(distilled.config),
        "n_classes": distilled.n_classes,
        "restart_ids": list(distilled.restart_ids),
        "method": distilled.method,
        "row_weight": distilled.row_weight,
        "final_outer_loss": [float(v) for v in distilled.loss_history[:, -1]]
        if distilled.loss_history.shape[-1] else None,
        "seconds": round(distilled.seconds, 3),
        "versions": versions(),
        **(manifest or {}),
    }
    manifest.update(files)  # what the files are: no entry given can contradict it
    with atomic_dir(path) as tmp:
        np.savez_compressed(tmp / ARRAYS_FILE, **{k: getattr(distilled, k) for k in ARRAYS})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=_jsonable))
        if transformer is not None:
            (tmp / PREPROCESS).write_text(json.dumps(transformer.to_json(), indent=1))
    return Path(path)


def load(path: str | Path) -> tuple[DistilledData, dict]:
    """Reads a directory written by :func:`save`; returns the data and its manifest.

    Raises :class:`TabdistillError` naming the file for anything foreign, corrupted or
    inconsistent with the manifest, and for a directory in an older format.
    """
    path = Path(path)
    if path.is_dir() and not (path / ARRAYS_FILE).is_file():
        raise TabdistillError(
            f"{path} is not a distilled directory; expected {MANIFEST} and {ARRAYS_FILE}"
        )
    manifest = read_manifest(path)
    file = path / ARRAYS_FILE
    arrays = read_arrays(file)
    with corrupted_file(file):
        check_arrays(arrays, manifest)
    config = DistillConfig(**{**manifest["config"], "arch": tuple(manifest["config"]["arch"])})
    data = DistilledData(
        **arrays,
        n_classes=manifest["n_classes"],
        config=config,
        restart_ids=tuple(manifest["restart_ids"]),
        seconds=float(manifest.get("seconds", 0.0)),
        method=manifest.get("method", "wang"),
        row_weight=float(manifest.get("row_weight", 1.0)),
    )
    return data, manifest


def load_transformer(path: str | Path) -> Schema | None:
    """The fitted preprocessing stored by :func:`save` (read from JSON, checked against the
    manifest), or ``None`` for raw features (as moons)."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest["preprocess"] is None:
        return None
    file = path / PREPROCESS
    if not file.is_file():
        raise TabdistillError(f"{file} is missing; expected the preprocessing that "
                              f"{path / MANIFEST} names")
    schema = Schema.from_json(read_json(file), source=str(file))
    with corrupted_file(file):
        check_schema(schema, manifest)
    return schema


def read_manifest(path: str | Path) -> dict:
    """The checked manifest of the distilled directory ``path``."""
    path = Path(path)
    file = path / MANIFEST
    if not path.is_dir():
        raise TabdistillError(f"no distilled directory at {path}; expected the --out of distill")
    if not file.is_file():
        raise TabdistillError(
            f"{path} is not a distilled directory; expected {MANIFEST} and {ARRAYS_FILE}"
        )
    manifest = read_json(file)
    fmt = manifest.get("format") if isinstance(manifest, dict) else None
    if fmt in OLD_FORMATS:
        raise TabdistillError(old_format(path, fmt))
    if isinstance(fmt, str) and fmt.startswith("tabdistill/") and fmt != FORMAT:
        raise TabdistillError(f"{file} has format {fmt}, which this version of tabdistill "
                              f"cannot read; expected {FORMAT} (a newer tabdistill wrote it?)")
    with corrupted_file(file):
        check_manifest(manifest)
    return manifest


def old_format(path: Path, fmt: str) -> str:
    """Why a directory in an older format is refused, and how to re-create it."""
    if (path / OLD_PREPROCESS).exists():
        return (f"{path} has format {fmt}, whose {OLD_PREPROCESS} (a pickle) can run code when "
                "read, so it is not read; distil the data again, or, if you trust where the "
                f"directory came from, run `tabdistill upgrade {path} --trust-pickle`")
    return (f"{path} has format {fmt}; run `tabdistill upgrade {path}` to convert it (or "
            "distil the data again)")


def read_json(file: Path):
    """A JSON file's value (no NaN or infinity); anything else is one error naming the file."""
    try:
        return json.loads(file.read_bytes(), parse_constant=_no_constant)
    except (OSError, ValueError, RecursionError) as err:
        raise TabdistillError(f"{file} is corrupted or not written by tabdistill ({_first(err)});"
                              " expected JSON written by tabdistill distill") from None


def read_arrays(file: Path) -> dict:
    """The arrays of ``distilled.npz``, never unpickling anything; not yet checked."""
    try:
        # Our own handle: numpy leaves its file open when a truncated archive fails to open.
        with open(file, "rb") as fh:
            npz = np.load(fh, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("a single array, not an archive")
            with npz:
                return _arrays(npz)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise TabdistillError(f"{file} is corrupted or not written by tabdistill ({_first(err)});"
                              " expected the output of tabdistill distill") from None


def _arrays(npz) -> dict:
    missing = [k for k in ARRAYS if k not in npz.files]
    if missing:
        raise KeyError(f"no array {missing[0]!r}")
    return {k: npz[k] for k in ARRAYS}


def check_manifest(m) -> None:
    """Raises ``ValueError`` / ``TypeError`` / ``KeyError`` for a manifest that is not one."""
    if not isinstance(m, dict):
        raise TypeError(f"a JSON {type(m).__name__}, not an object")
    if m.get("format") != FORMAT:
        raise ValueError(f"format {m.get('format')!r}, expected {FORMAT!r}")
    if not isinstance(m["config"], dict) or not isinstance(m["config"].get("arch"), list):
        raise TypeError("config is not an object with a list of architectures")
    DistillConfig(**{**m["config"], "arch": tuple(m["config"]["arch"])}).validate()
    _whole(m["n_classes"], "n_classes", 2)
    _whole(m["n_features"], "n_features", 1)
    ids = m["restart_ids"]
    if not isinstance(ids, list) or not ids:
        raise TypeError("restart_ids is not a list of restarts")
    for r in ids:
        _whole(r, "a restart id", 0)
    if m["preprocess"] not in (None, PREPROCESS):
        raise ValueError(f"preprocess is {m['preprocess']!r}, expected {PREPROCESS!r} or null")
    from .methods import METHODS

    if m.get("method", "wang") not in METHODS:
        raise ValueError(f"method is {m.get('method')!r}, expected one of {', '.join(METHODS)}")
    if not isinstance(m.get("seconds", 0.0), int | float):
        raise TypeError("seconds is not a number")
    weight = m.get("row_weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise ValueError(f"row_weight is {weight!r}, expected a positive number")
    info = m.get("dataset", {})
    if not isinstance(info, dict):
        raise TypeError("dataset is not an object")
    for key, kinds in (("name", str), ("source", str), ("target", str | None),
                       ("fingerprint", str), ("missing", str), ("test_size", float | int),
                       ("split_seed", int), ("max_categories", int), ("preprocessing", dict),
                       ("classes", list), ("feature_names", list)):
        if key in info and not isinstance(info[key], kinds):
            raise TypeError(f"dataset {key} is a {type(info[key]).__name__}")
    if "classes" in info and (len(info["classes"]) != m["n_classes"] or not all(
            isinstance(c, str | int | float | bool) for c in info["classes"])):
        raise ValueError(f"dataset classes are not {m['n_classes']} labels")
    if "feature_names" in info and (len(info["feature_names"]) != m["n_features"] or not all(
            isinstance(c, str) for c in info["feature_names"])):
        raise ValueError(f"dataset feature_names are not {m['n_features']} names")


def check_arrays(arrays: dict, manifest: dict) -> None:
    """Raises ``ValueError`` unless the arrays have the types and shapes the manifest says:
    x ``[R, s, P, d]``, targets ``[R, s, P, K]``, labels ``[s, P]`` (classes), lrs
    ``[R, s * epochs]``, loss_history ``[R, T]``; a set of plain rows (any method but
    ``wang``) is one batch of any number of rows with no lrs: ``s = 1``, lrs ``[R, 0]``."""
    config, n_classes = manifest["config"], manifest["n_classes"]
    R, s, P = len(manifest["restart_ids"]), config["steps"], config["per_class"] * n_classes
    n_lrs = s * config["epochs"]
    if manifest.get("method", "wang") != "wang":
        s, P, n_lrs = 1, arrays["labels"].shape[-1], 0
    expected = {"x": (R, s, P, manifest["n_features"]), "targets": (R, s, P, n_outputs(n_classes)),
                "labels": (s, P), "lrs": (R, n_lrs), "loss_history": (R, None)}
    for name, shape in expected.items():
        a = arrays[name]
        kind = "i" if name == "labels" else "f"
        if a.dtype.kind != kind and not (kind == "i" and a.dtype.kind == "u"):
            raise ValueError(f"{name} has dtype {a.dtype}")
        if a.ndim != len(shape) or any(n not in (None, m) for n, m in zip(shape, a.shape,
                                                                            strict=True)):
            want = ", ".join("T" if n is None else str(n) for n in shape)
            raise ValueError(f"{name} has shape {list(a.shape)}, expected [{want}]")
    labels = arrays["labels"]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels are not class indices below {n_classes}")


def check_schema(schema: Schema, manifest: dict) -> None:
    """Raises ``ValueError`` unless the preprocessing makes the manifest's features."""
    if schema.n_features != manifest["n_features"]:
        raise ValueError(f"it makes {schema.n_features} features, the manifest says "
                         f"{manifest['n_features']}")
    names = manifest.get("dataset", {}).get("feature_names")
    if names is not None and list(names) != list(schema.feature_names):
        raise ValueError("its features are not the manifest's feature_names")


@contextlib.contextmanager
def corrupted_file(file: Path):
    """Turns a failed check of ``file`` into one :class:`TabdistillError` naming it."""
    try:
        yield
    except (ValueError, KeyError, TypeError) as err:
        raise TabdistillError(f"{file} is corrupted or not written by tabdistill ({_first(err)});"
                              " expected the output of tabdistill distill") from None


def _first(err: BaseException) -> str:
    text = str(err).strip("'\"") if str(err) else type(err).__name__
    return text.splitlines()[0] if text else type(err).__name__


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _whole(value, what: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} is {value!r}, expected a whole number >= {minimum}")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a manifest")


def check_output(path: str | Path, *, directory: bool = False) -> Path:
    """Checks, before any work, that ``path`` (a file, or with ``directory`` a directory that
    is replaced as a whole) can be written; raises :class:`TabdistillError` naming the path
    otherwise. Creates nothing: the nearest existing folder above it is what is checked."""
    path = Path(path)
    if path.exists() and path.is_dir() != directory:
        raise TabdistillError(
            f"{path} is {'a directory' if path.is_dir() else 'a file'}; expected "
            f"{'a directory' if directory else 'a file name'} to write"
        )
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise TabdistillError(f"cannot write {path}: {folder} is a file; expected a directory")
    ensure_writable(folder)
    if directory and path.is_dir():  # some commands write into it rather than replace it
        ensure_writable(path)
    return path


@contextlib.contextmanager
def writing(path: str | Path):
    """Turns an :class:`OSError` raised while writing ``path`` (a full disk, a vanished or
    read-only folder) into a one-line :class:`TabdistillError` naming the file."""
    try:
        yield
    except OSError as err:
        where = err.filename or path
        raise TabdistillError(
            f"cannot write {where} ({err.strerror or type(err).__name__}); nothing was written "
            f"to {path}"
        ) from None
