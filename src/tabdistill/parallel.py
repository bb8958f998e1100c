"""Restarts fanned out over an executor: each worker distils a slice of the restarts (restart
``r`` depends only on the seed and ``r``, so the slices give the same numbers as one vectorised
run), and the slices are merged back in order."""

from __future__ import annotations

import dataclasses

import numpy as np

from .config import DistillConfig
from .data import Dataset
from .distill import DistilledData, distill
from .executor import Executor, SerialExecutor


def _distill_slice(task) -> DistilledData:
    dataset, config, restart_ids, checkpoint, note = task
    return distill(dataset, config, restart_ids=restart_ids, checkpoint=checkpoint, note=note)


def merge(parts: list[DistilledData]) -> DistilledData:
    """Concatenates distilled slices along the restart axis."""
    first = parts[0]
    if len(parts) == 1:
        return first
    stack = {k: np.concatenate([getattr(p, k) for p in parts]) for k in
             ("x", "targets", "lrs", "loss_history")}
    ids = tuple(r for p in parts for r in p.restart_ids)
    return dataclasses.replace(first, **stack, restart_ids=ids,
                               seconds=max(p.seconds for p in parts))


def distill_restarts(
    dataset: Dataset,
    config: DistillConfig,
    executor: Executor | None = None,
    progress=None,
    *,
    checkpoint=None,
    note=None,
    first_restart: int = 0,
) -> DistilledData:
    """Distils ``config.restarts`` restarts (ids ``first_restart`` on), split over the
    executor's workers.

    ``checkpoint`` and ``note`` are :func:`distill`'s; each slice keeps its own checkpoint file
    (named by its restarts) in the directory, so a split run resumes too, given the same number
    of workers. ``note`` must be picklable (a module-level function) when there are workers.
    """
    executor = executor or SerialExecutor()
    workers = min(getattr(executor, "workers", 1), config.restarts)
    ids = np.arange(first_restart, first_restart + config.restarts)
    if workers <= 1:
        return distill(dataset, config, restart_ids=tuple(int(r) for r in ids),
                       progress=progress, checkpoint=checkpoint, note=note)
    slices = np.array_split(ids, workers)
    tasks = [(dataset, config, tuple(int(r) for r in s), checkpoint, note) for s in slices]
    return merge(executor.map(_distill_slice, tasks))
