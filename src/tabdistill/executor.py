"""The seam for parallel work (restarts, sweeps, evaluations): an executor maps a function
over independent tasks. ``serial`` runs them here; ``processes`` fans them out over local
worker processes, each a single-threaded XLA runtime pinned to a core of its own (on a small
CPU, two such processes do twice the work of one two-threaded one). Another engine (a Ray
cluster) plugs in by implementing ``map``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false"


class Executor(Protocol):
    def map(self, fn: Callable, tasks: Iterable) -> list:
        """Returns ``[fn(t) for t in tasks]``, in order; ``fn`` must be picklable."""


class SerialExecutor:
    """Runs the tasks one after another in this process."""

    workers = 1

    def map(self, fn: Callable, tasks: Iterable) -> list:
        return [fn(t) for t in tasks]


class ProcessExecutor:
    """Runs the tasks in ``workers`` fresh processes with single-threaded XLA, each pinned to
    one core (where the platform allows) so that XLA sizes its thread pool to one thread and
    never splits a program's independent operations over threads that fight for the cores."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1

    def map(self, fn: Callable, tasks: Iterable) -> list:
        tasks = list(tasks)
        if len(tasks) <= 1 or self.workers == 1:
            return [fn(t) for t in tasks]
        context = multiprocessing.get_context("spawn")  # fork is unsafe with JAX threads
        flags = f"{os.environ.get('XLA_FLAGS', '')} {SINGLE_THREAD_XLA}".strip()
        with _child_env(XLA_FLAGS=flags), ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)), mp_context=context,
            initializer=pin_to_one_core, initargs=(context.Value("i", 0),),
        ) as pool:
            return list(pool.map(fn, tasks))


def pin_to_one_core(counter) -> None:
    """Pins this worker to the next core of those the parent may use (a worker initializer;
    ``counter`` is a shared ``multiprocessing.Value`` that numbers the workers)."""
    if not hasattr(os, "sched_setaffinity"):  # not on macOS or Windows: leave it to the OS
        return
    with counter.get_lock():
        index, counter.value = counter.value, counter.value + 1
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[index % len(cores)]})


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
