"""Reading and writing distilled sets: ``distilled.npz`` (arrays) and ``manifest.json``
(everything needed to know what the arrays are and to reproduce them).

Writes are atomic: files are written into a temporary sibling directory that is renamed into
place at the end, so an interrupted run never leaves a directory that looks complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
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

FORMAT = "tabdistill/1"
ARRAYS = ("x", "targets", "labels", "lrs", "loss_history")
PREPROCESS = "preprocess.pkl"


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
         transformer=None) -> Path:
    """Writes ``distilled`` and a manifest (the given entries plus config, seeds, timings).

    ``transformer``, the fitted preprocessing of the data (``Dataset.transformer``), is stored
    as ``preprocess.pkl`` so that new rows can be transformed the same way and synthetic rows
    mapped back to the original columns (see :func:`load_transformer`).
    """
    manifest = {
        "format": FORMAT,
        "config": dataclasses.asdict(distilled.config),
        "n_classes": distilled.n_classes,
        "restart_ids": list(distilled.restart_ids),
        "final_outer_loss": [float(v) for v in distilled.loss_history[:, -1]],
        "seconds": round(distilled.seconds, 3),
        "versions": versions(),
        **(manifest or {}),
    }
    with atomic_dir(path) as tmp:
        np.savez_compressed(tmp / "distilled.npz", **{k: getattr(distilled, k) for k in ARRAYS})
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_jsonable))
        if transformer is not None:
            with open(tmp / PREPROCESS, "wb") as f:
                pickle.dump(transformer, f, protocol=pickle.HIGHEST_PROTOCOL)
    return Path(path)


def load_transformer(path: str | Path):
    """The fitted preprocessing stored by :func:`save`, or ``None`` (raw features, as moons).

    The file is a pickle: load only directories you trust.
    """
    file = Path(path) / PREPROCESS
    if not file.is_file():
        return None
    try:
        with open(file, "rb") as f:
            return pickle.load(f)
    except Exception as err:  # a truncated or foreign pickle can raise nearly anything
        raise TabdistillError(
            f"{file} is corrupted ({type(err).__name__}); expected the preprocessing written "
            "by tabdistill distill"
        ) from None


def load(path: str | Path) -> tuple[DistilledData, dict]:
    """Reads a directory written by :func:`save`; returns the data and its manifest."""
    path = Path(path)
    manifest_path, arrays_path = path / "manifest.json", path / "distilled.npz"
    if not path.is_dir():
        raise TabdistillError(f"no distilled directory at {path}; expected the --out of distill")
    if not manifest_path.is_file() or not arrays_path.is_file():
        raise TabdistillError(
            f"{path} is not a distilled directory; expected manifest.json and distilled.npz"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
        # Our own handle: numpy leaves its file open when a truncated archive fails to open.
        with open(arrays_path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ARRAYS}
        config = DistillConfig(**{**manifest["config"], "arch": tuple(manifest["config"]["arch"])})
        data = DistilledData(
            **arrays,
            n_classes=int(manifest["n_classes"]),
            config=config,
            restart_ids=tuple(manifest["restart_ids"]),
            seconds=float(manifest.get("seconds", 0.0)),
        )
    except (ValueError, KeyError, TypeError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise TabdistillError(
            f"{path} is corrupted or not written by tabdistill ({str(err).splitlines()[0]}); "
            "expected the output of tabdistill distill"
        ) from None
    return data, manifest


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
