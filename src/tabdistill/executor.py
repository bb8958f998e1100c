"""The seam for parallel work (restarts, sweeps, evaluations): an executor maps a function
over independent tasks. ``serial`` runs them here; ``processes`` fans them out over local
worker processes, each a single-threaded XLA runtime (on a small CPU, two single-threaded
processes do twice the work of one two-threaded one). Another engine (a Ray cluster) plugs in
by implementing ``map``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


class Executor(Protocol):
    def map(self, fn: Callable, tasks: Iterable) -> list:
        """Returns ``[fn(t) for t in tasks]``, in order; ``fn`` must be picklable."""


class SerialExecutor:
    """Runs the tasks one after another in this process."""

    workers = 1

    def map(self, fn: Callable, tasks: Iterable) -> list:
        return [fn(t) for t in tasks]


class ProcessExecutor:
    """Runs the tasks in ``workers`` fresh processes with single-threaded XLA."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1

    def map(self, fn: Callable, tasks: Iterable) -> list:
        tasks = list(tasks)
        if len(tasks) <= 1 or self.workers == 1:
            return [fn(t) for t in tasks]
        with _child_env(XLA_FLAGS=SINGLE_THREAD_XLA), ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)),
            mp_context=multiprocessing.get_context("spawn"),  # fork is unsafe with JAX threads
        ) as pool:
            return list(pool.map(fn, tasks))


@contextlib.contextmanager
def _child_env(**values):
    """Sets environment variables that spawned children inherit; restores them after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def get_executor(workers: int | None = None) -> Executor:
    """``workers=1`` runs serially; more (or ``None``: one per core) uses processes."""
    if workers == 1:
        return SerialExecutor()
    return ProcessExecutor(workers)
