"""The seam for parallel work (restarts, sweeps, evaluations): an executor maps a function
over independent tasks. ``serial`` runs them here; ``processes`` fans them out over local
worker processes, each a single-threaded XLA runtime pinned to a core of its own (on a small
CPU, two such processes do twice the work of one two-threaded one). :mod:`.ray_executor` runs
the same tasks on a Ray cluster.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from .errors import TabdistillError


class Executor(Protocol):
    def map(self, fn: Callable, tasks: Iterable) -> list:
        """Returns ``[fn(t) for t in tasks]``, in order; ``fn`` must be picklable."""

    def imap_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        """Yields ``fn(t)`` for every task as each finishes (for progress), in any order."""


class SerialExecutor:
    """Runs the tasks one after another in this process."""

    workers = 1

    def map(self, fn: Callable, tasks: Iterable) -> list:
        return [fn(t) for t in tasks]

    def imap_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        return (fn(t) for t in tasks)


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
        with self._running(len(tasks)) as pool:
            return list(pool.map(fn, tasks))

    def imap_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        tasks = list(tasks)
        if len(tasks) <= 1 or self.workers == 1:
            yield from (fn(t) for t in tasks)
            return
        with self._running(len(tasks)) as pool:
            yield from (f.result() for f in as_completed([pool.submit(fn, t) for t in tasks]))

    @contextlib.contextmanager
    def _running(self, n_tasks: int):
        """A pool of workers that, when the block is stopped (an error, Ctrl-C, SIGTERM), starts
        no further task and stops the running ones at once rather than when they finish (what
        they had saved stays)."""
        # Workers inherit XLA_FLAGS with single-threaded XLA (tabdistill.runtime sets it).
        context = multiprocessing.get_context("spawn")  # fork is unsafe with JAX threads
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, n_tasks), mp_context=context,
            initializer=pin_to_one_core, initargs=(context.Value("i", 0),),
        )
        try:
            yield pool
        except BaseException as error:
            # Python 3.14 has ``terminate_workers``; before it, only the private process table.
            workers = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                process.terminate()
            for process in workers:
                process.join()
            if isinstance(error, BrokenProcessPool):  # killed, most often by the system for memory
                raise TabdistillError(
                    "a worker process died (killed by the system, perhaps for want of memory); "
                    "expected every worker to finish: what the finished tasks saved is kept, and "
                    "the same command resumes from it") from None
            raise
        pool.shutdown(wait=True)


def pin_to_one_core(counter) -> None:
    """Pins this worker to the next core of those the parent may use (a worker initializer;
    ``counter`` is a shared ``multiprocessing.Value`` that numbers the workers)."""
    if not hasattr(os, "sched_setaffinity"):  # not on macOS or Windows: leave it to the OS
        return
    with counter.get_lock():
        index, counter.value = counter.value, counter.value + 1
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[index % len(cores)]})


def get_executor(workers: int | None = None) -> Executor:
    """``workers=1`` runs serially; more (or ``None``: one per core) uses processes."""
    if workers == 1:
        return SerialExecutor()
    return ProcessExecutor(workers)
