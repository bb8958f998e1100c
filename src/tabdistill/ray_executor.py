"""The executor seam on a Ray cluster: each task is a Ray task of one CPU, so the same command
runs on this machine's cores (a local Ray started for the run) or on every machine of a cluster
(``ray start --head`` on one, ``ray start --address=HEAD:PORT`` on the others).

Ray is an optional extra (``pip install 'tabdistill[ray]'``) and is imported only here, only
when asked for. Workers run XLA single-threaded, as local worker processes do, so a task gives
the same numbers wherever it runs. A worker that dies (killed, out of memory, its machine lost)
has its task run again elsewhere; an error in the task itself is not retried but raised here.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import socket
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator

from .errors import TabdistillError

RETRIES = 3  # runs of a task whose worker died, after the first
CONNECT_SECONDS = 5.0  # how long to wait for the cluster's head to answer
# What makes a worker compute as a local one does (see .runtime and .compile_cache).
WORKER_ENV = ("XLA_FLAGS", "TABDISTILL_XLA_FLAGS", "JAX_COMPILATION_CACHE_DIR")


def import_ray():
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise TabdistillError("--executor ray needs Ray, which is not installed; expected "
                              "pip install 'tabdistill[ray]'") from None
    return ray


class RayExecutor:
    """Runs the tasks as Ray tasks on the cluster this process is connected to (see
    :func:`ray_executor`), at most ``workers`` at once (default: one per CPU of the cluster)."""

    def __init__(self, workers: int | None = None):
        ray = import_ray()
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Callable, tasks: Iterable) -> list:
        tasks = list(tasks)
        results = [None] * len(tasks)
        for index, result in self._stream(fn, tasks):
            results[index] = result
        return results

    def imap_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        return (result for _, result in self._stream(fn, list(tasks)))

    def _stream(self, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
        """Yields ``(index, fn(tasks[index]))`` as tasks finish, keeping ``workers`` tasks in
        flight; when stopped (an error, Ctrl-C, SIGTERM, the caller closing it) it cancels the
        tasks still in flight, stopping the running ones at once (what they saved stays)."""
        ray = import_ray()
        env = {name: os.environ[name] for name in WORKER_ENV if name in os.environ}
        # A worker's progress bars would reach the terminal line by line, mangled, beside the
        # bar of finished tasks here; what else the tasks print (notes, warnings) does reach it.
        env["TQDM_DISABLE"] = "1"
        remote = ray.remote(num_cpus=1, max_retries=RETRIES,
                            runtime_env={"env_vars": env})(fn)
        waiting = enumerate(tasks)
        running = {}

        def submit(count):
            for index, task in itertools.islice(waiting, count):
                running[remote.remote(task)] = index

        try:
            submit(self.workers)
            while running:
                [ref], _ = ray.wait(list(running), num_returns=1)
                index = running.pop(ref)
                result = _result(ray, ref)
                submit(1)  # before handing the result on, so that the cluster stays busy
                yield index, result
        finally:
            for ref in running:
                ray.cancel(ref, force=True)


def _result(ray, ref):
    """The task's value; its own exception (not Ray's wrapper with the remote traceback)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        if isinstance(err.cause, Exception):
            raise err.cause from None
        raise
    except ray.exceptions.RayError as err:  # its worker died at every try, or Ray itself failed
        first = (str(err).strip().splitlines() or [""])[0]
        raise TabdistillError(f"a task failed on Ray after {RETRIES} retries "
                              f"({type(err).__name__}: {first}); expected it to finish (Ray's "
                              "logs on each machine: /tmp/ray/session_latest/logs)") from None


@contextlib.contextmanager
def ray_executor(address: str | None = None, workers: int | None = None):
    """A :class:`RayExecutor` on the cluster at ``address`` (``HOST:PORT`` of its head), or on a
    local Ray started for the block (``None``) and shut down after it. A process already
    connected to Ray (a notebook, a test) keeps that connection."""
    ray = import_ray()
    if address not in (None, "auto"):
        check_reachable(address)
    if ray.is_initialized():
        yield RayExecutor(workers)
        return
    # Ray logs each step of starting and joining, and the errors of tasks a stopped run no
    # longer waits for; what matters reaches the caller as an exception.
    logging.getLogger("ray").setLevel(logging.CRITICAL)
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        with warnings.catch_warnings():
            # Ray starts its processes by fork and exec; JAX, if running, warns at every fork.
            warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
            ray.init(address=address or "local", include_dashboard=False,
                     configure_logging=False, log_to_driver=True)
    except ConnectionError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        # Ray sends its token only where RAY_AUTH_MODE=token says so, never by default.
        hint = "" if os.environ.get("RAY_AUTH_MODE") else "; RAY_AUTH_MODE=token if it asks " \
            "for a token"
        raise TabdistillError(f"cannot join the Ray cluster at {address} ({first}); expected "
                              f"the address that ray start --head printed{hint}") from None
    # Ray's SIGTERM handlers (its own, then a crash report over it) exit without cleaning up;
    # the caller's stops the run as Ctrl-C does (see the CLI's main).
    if sigterm is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, sigterm)
    try:
        yield RayExecutor(workers)
    finally:
        ray.shutdown()


def check_reachable(address: str) -> None:
    """Fails at once, in one line, unless something answers at the head's ``HOST:PORT``
    (Ray itself retries a missing cluster for a long time)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise TabdistillError(f"--ray-address {address!r} is not HOST:PORT; expected the "
                              "address that ray start --head printed, e.g. 10.0.0.1:6379")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
        return
    except TimeoutError:
        reason = f"no answer in {CONNECT_SECONDS:.0f} s"
    except OSError as err:
        reason = err.strerror or type(err).__name__
    raise TabdistillError(f"no Ray cluster at {address} ({reason}); expected the address that "
                          "ray start --head printed (or no --ray-address for a local Ray)")
