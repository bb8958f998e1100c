"""Checkpoints of a running distillation, so that an interrupted run resumes where it stopped.

A checkpoint is one ``.npz`` per slice of restarts: the outer state's leaves (in ``jax.tree``
order), the outer epochs done, the loss history so far, and a digest of everything that decides
the numbers (configuration, data fingerprint, restart ids, float type, jax version). Restoring
the state exactly is enough for a bit-identical result: every epoch's randomness comes from the
key inside the state. Files are replaced atomically, so a kill leaves the previous checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

FORMAT = "tabdistill-checkpoint/1"


class Checkpoint(NamedTuple):
    state: Any  # the outer state pytree, as the template given to :func:`read`
    epochs: int  # outer epochs done
    history: np.ndarray  # [R, outer steps so far] outer loss
    seconds: float  # time spent before this checkpoint


def checkpoint_path(directory: str | Path, restart_ids: Sequence[int]) -> Path:
    """The file of one slice of restarts: ``restarts-A-B.npz`` for the range A..B."""
    ids = list(restart_ids)
    if ids == list(range(ids[0], ids[-1] + 1)):
        name = f"restarts-{ids[0]}-{ids[-1]}"
    else:
        name = "restarts-" + hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:12]
    return Path(directory) / f"{name}.npz"


def digest(config, fingerprint: str, restart_ids: Sequence[int]) -> str:
    """What a checkpoint must have been written for to be resumed."""
    what = {
        "format": FORMAT,
        "config": dataclasses.asdict(config),
        "data": fingerprint,
        "restart_ids": [int(r) for r in restart_ids],
        "float": str(jnp.result_type(float)),
        "jax": jax.__version__,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),  # they choose kernels, hence rounding
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def write(path: Path, key: str, state, epochs: int, history: Sequence, seconds: float) -> None:
    """Writes a checkpoint through a temporary sibling and a rename."""
    leaves = [np.asarray(x) for x in jax.tree.leaves(state)]  # keys are raw uint32 arrays
    arrays = {f"leaf_{i}": a for i, a in enumerate(leaves)}
    arrays.update(key=np.array(key), epochs=np.array(epochs), seconds=np.array(seconds),
                  history=np.concatenate([np.asarray(h) for h in history], axis=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read(path: Path, template, key: str) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint at ``path`` if it was written for ``key``, else why not (or no file).

    ``template`` is a freshly initialised state: it gives the tree structure and checks the
    shapes and dtypes of the stored leaves.
    """
    if not path.is_file():
        return None, None
    leaves, treedef = jax.tree.flatten(template)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            if str(npz["key"]) != key:
                return None, "it was written for other settings, data or restarts"
            stored = [npz[f"leaf_{i}"] for i in range(len(leaves))]
            epochs, seconds = int(npz["epochs"]), float(npz["seconds"])
            history = npz["history"]
    except (KeyError, ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile):
        return None, "it is unreadable"  # TypeError: a bare .npy, which is no context manager
    if history.ndim != 2 or history.dtype.kind != "f" or epochs < 0:
        return None, "it is unreadable"
    if any(a.shape != like.shape or a.dtype != like.dtype
           for like, a in zip(leaves, stored, strict=True)):
        return None, "its state does not fit this run"
    restored = [jnp.asarray(a) for a in stored]
    return Checkpoint(jax.tree.unflatten(treedef, restored), epochs, history, seconds), None


def epochs_done(directory: str | Path) -> int | None:
    """The fewest outer epochs saved by any slice's checkpoint in ``directory`` (None: none)."""
    done = []
    for path in Path(directory).glob("restarts-*.npz"):
        with contextlib.suppress(KeyError, ValueError, TypeError, OSError, EOFError,
                                 zipfile.BadZipFile):
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
                done.append(int(npz["epochs"]))
    return min(done) if done else None

