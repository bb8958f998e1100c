"""Times the paper's section 5.2 work as whole processes, compile time included.

For each of ``linear``, ``mlp2`` and ``mlp4``: 10 restarts at the paper's settings (m = 3,
n = 200, 50 outer epochs = 800 outer steps), as ``tabdistill distill`` processes with a
single-threaded XLA runtime. The processes run on ``--lanes`` lanes (default: one per core),
each lane's processes pinned to its core (as ``--workers`` pins its worker processes), so that
XLA runs one thread per process. Prints each process's wall time and the total, against the
authors' implementation (about 9,400 s on this kind of machine) and a plain compiled version
(about 90 s).

``mlp4`` is most of the work, so its restarts are split over ``--split`` processes (default:
2 with two lanes or more; ``distill --first-restart``): the first starts at once, ``mlp2``
beside it on the other lane, and the second half of ``mlp4`` after ``mlp2``, by when the first
has left its compiled program (the same shapes) in the cache. ``--split 1`` runs one ``mlp4``
process (the layout before).

It runs the work twice: first with an empty compile cache (every program compiled: the
headline figure), then again with the programs that run left in the cache, as a second run of
the same command finds them.

    python benchmarks/bench_distill.py [--lanes 2] [--restarts 10] [--split 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

AUTHORS_SECONDS = 9_400
PLAIN_COMPILED_SECONDS = 90
TARGET_SECONDS = {"from scratch": 15, "cache warm": 10}  # issue 11


def jobs_for(restarts: int, split: int) -> list[tuple[str, str, int, int]]:
    """``(label, arch, first restart, restarts)`` per process, in the order they start."""
    cuts = [restarts * i // split for i in range(split + 1)]
    halves = [(f"mlp4 (restarts {a}-{b - 1})" if split > 1 else "mlp4", "mlp4", a, b - a)
              for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    return [halves[0], ("mlp2", "mlp2", 0, restarts), *halves[1:],
            ("linear", "linear", 0, restarts)]


def run_lane(core: int, jobs: list, out: Path, env: dict, times: dict, lock: threading.Lock):
    # ``python -m tabdistill`` with this interpreter: the package it imports (PYTHONPATH
    # honoured) is the one measured, not whichever the ``tabdistill`` entry point was made for.
    tabdistill = [sys.executable, "-m", "tabdistill"]
    pin = ["taskset", "-c", str(core)] if shutil.which("taskset") else []
    while True:
        with lock:
            if not jobs:
                return
            label, arch, first, count = jobs.pop(0)
        start = time.perf_counter()
        subprocess.run(
            [*pin, *tabdistill, "distill", "moons", "--arch", arch, "--restarts", str(count),
             "--first-restart", str(first), "--eval-inits", "0", "--quiet",
             "--out", str(out / f"{arch}-{first}")],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )
        times[label] = time.perf_counter() - start


def run_all(lanes: int, jobs: list, out: Path, cache: Path) -> tuple[dict, float]:
    """Runs the processes on ``lanes`` lanes; returns each one's and the total time."""
    env = {**os.environ, "TABDISTILL_COMPILE_CACHE": str(cache)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    jobs, times, lock = list(jobs), {}, threading.Lock()
    start = time.perf_counter()
    # Where the platform cannot pin (no sched_getaffinity / taskset), the lanes run unpinned.
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    threads = [threading.Thread(target=run_lane,
                                args=(cores[i % len(cores)], jobs, out, env, times, lock))
               for i in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=os.cpu_count() or 1,
                        help="processes at a time (default: one per core)")
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--split", type=int, default=None,
                        help="mlp4's restarts over this many processes (default: 2 with two "
                             "lanes or more, else 1)")
    args = parser.parse_args()
    split = args.split or (2 if args.lanes >= 2 else 1)
    jobs = jobs_for(args.restarts, split)

    load = os.getloadavg()[0]
    scratch = Path(tempfile.mkdtemp(prefix="bench-distill-"))
    try:
        cold = run_all(args.lanes, jobs, scratch / "out", scratch / "xla-cache")
        warm = run_all(args.lanes, jobs, scratch / "out", scratch / "xla-cache")
    finally:
        shutil.rmtree(scratch)

    print(f"section 5.2 on moons: {args.restarts} restarts per arch, m = 3, n = 200, "
          f"800 outer steps; {args.lanes} lane(s) of single-threaded processes, "
          f"{os.cpu_count()} cores; load average before the runs {load:.2f}")
    print()
    print("| process | wall time (s), compiled from scratch | wall time (s), compile cache warm |")
    print("|---|---|---|")
    for label, arch, first, count in jobs:
        print(f"| tabdistill distill moons --arch {arch} --restarts {count}"
              f"{f' --first-restart {first}' if first else ''} | {cold[0][label]:.1f} | "
              f"{warm[0][label]:.1f} |")
    print(f"| **all, wall clock** | **{cold[1]:.1f}** | **{warm[1]:.1f}** |")
    print()
    for label, total in (("from scratch", cold[1]), ("cache warm", warm[1])):
        target = TARGET_SECONDS[label]
        print(f"{label}: {AUTHORS_SECONDS / total:.0f}x faster than the authors' implementation "
              f"({AUTHORS_SECONDS:,} s; target at most {target} s, i.e. "
              f"{AUTHORS_SECONDS // target}x), {PLAIN_COMPILED_SECONDS / total:.1f}x faster than "
              f"a plain compiled version ({PLAIN_COMPILED_SECONDS} s)")


if __name__ == "__main__":
    main()
