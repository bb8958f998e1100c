"""Times the paper's section 5.2 work as whole processes, compile time included.

For each of ``linear``, ``mlp2`` and ``mlp4``: 10 restarts at the paper's settings (m = 3,
n = 200, 50 outer epochs = 800 outer steps), each arch one ``tabdistill distill`` process with a
single-threaded XLA runtime. The processes run on ``--lanes`` lanes (default: one per core),
longest first, so that both cores stay busy. Prints each process's wall time and the total,
against the authors' implementation (about 9,400 s on this kind of machine) and a plain
compiled version (about 90 s).

    python benchmarks/bench_distill.py [--lanes 2] [--restarts 10]
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
TARGET_SECONDS = 45
# Longest first: the greedy schedule then balances the lanes.
ARCHS = ("mlp4", "mlp2", "linear")
SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def run_lane(jobs: list[str], restarts: int, out: Path, times: dict, lock: threading.Lock):
    env = {**os.environ, "XLA_FLAGS": SINGLE_THREAD_XLA}
    tabdistill = Path(sys.executable).with_name("tabdistill")
    while True:
        with lock:
            if not jobs:
                return
            arch = jobs.pop(0)
        start = time.perf_counter()
        subprocess.run(
            [str(tabdistill), "distill", "moons", "--arch", arch, "--restarts", str(restarts),
             "--eval-inits", "0", "--quiet", "--out", str(out / arch)],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )
        times[arch] = time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=os.cpu_count() or 1,
                        help="processes at a time (default: one per core)")
    parser.add_argument("--restarts", type=int, default=10)
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="bench-distill-"))
    jobs, times, lock = list(ARCHS), {}, threading.Lock()
    start = time.perf_counter()
    lanes = [threading.Thread(target=run_lane, args=(jobs, args.restarts, out, times, lock))
             for _ in range(args.lanes)]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    total = time.perf_counter() - start
    shutil.rmtree(out)

    print(f"section 5.2 on moons: {args.restarts} restarts per arch, m = 3, n = 200, "
          f"800 outer steps; {args.lanes} lane(s) of single-threaded processes, "
          f"{os.cpu_count()} cores")
    print()
    print("| process | wall time (s) |")
    print("|---|---|")
    for arch in ARCHS:
        print(f"| tabdistill distill moons --arch {arch} | {times[arch]:.1f} |")
    print(f"| **all three, wall clock** | **{total:.1f}** |")
    print()
    print(f"speed-up over the authors' implementation ({AUTHORS_SECONDS:,} s): "
          f"{AUTHORS_SECONDS / total:.0f}x (target {AUTHORS_SECONDS // TARGET_SECONDS}x, "
          f"i.e. at most {TARGET_SECONDS} s)")
    print(f"speed-up over a plain compiled version ({PLAIN_COMPILED_SECONDS} s): "
          f"{PLAIN_COMPILED_SECONDS / total:.1f}x")


if __name__ == "__main__":
    main()
