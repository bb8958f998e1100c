"""``bench --executor ray`` against the serial run and local processes, on this machine.

Runs the same small ``tabdistill bench`` (four KEEL tables, budgets 1 and 10 rows per class,
methods full, random, kmeans, learners logreg, knn, rf, 2 restarts) three ways, each as a whole
process into a fresh output directory, in rounds (serial, ray, 2 local processes) so that a
change in the machine's load falls on all three; prints each wall time with the load average
before it, and checks that the three give the same numbers. Then times Ray's fixed costs in
this process: starting a local Ray, a first map that starts its workers, a second map, and
shutting it down.

    python benchmarks/bench_ray.py [--rounds 2] [--keel ../shared/data/keel] \
        [--methods full,random,kmeans] [--restarts 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABLES = ("sonar", "ionosphere", "crx", "vehicle")
GRID = ["--target", "label", "--rows-per-class", "1,10", "--learners", "logreg,knn,rf", "--quiet"]
WAYS = {"serial": [], "ray": ["--executor", "ray"], "2 local processes": ["--workers", "2"]}
NUMBERS = ["dataset", "rows_per_class", "method", "learner", "restart", "balanced_accuracy"]


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def run_bench(tables: list[str], grid: list[str], options: list[str], out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tabdistill.cli", "bench", *tables, *grid,
                    *options, "--out", str(out)], check=True)
    return time.perf_counter() - start


def noop(x):
    return x


def ray_fixed_costs() -> dict:
    from tabdistill.ray_executor import ray_executor

    seconds = {}
    start = time.perf_counter()
    with ray_executor(None) as executor:
        seconds["start a local Ray"] = time.perf_counter() - start
        for name in ("first map, 2 no-op tasks (starts the workers)", "second map"):
            t0 = time.perf_counter()
            executor.map(noop, [1, 2])
            seconds[name] = time.perf_counter() - t0
        t0 = time.perf_counter()
    seconds["shut it down"] = time.perf_counter() - t0
    return seconds


def main() -> None:
    import pandas as pd

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--keel", default=str(Path(__file__).parents[1] / "../shared/data/keel"))
    p.add_argument("--methods", default="full,random,kmeans",
                   help="the grid's methods (more, e.g. search, make longer tasks)")
    p.add_argument("--restarts", default="2")
    args = p.parse_args()
    tables = [str(Path(args.keel) / f"{name}.csv") for name in TABLES]
    grid = [*GRID, "--methods", args.methods, "--restarts", args.restarts]
    print(f"{os.cpu_count()} cores; tabdistill bench {' '.join(TABLES)} {' '.join(grid)}")
    print(f"{'round':>5}  {'way':<18} {'wall (s)':>8}  load average before (1, 5, 15 min)")
    walls = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for way, options in WAYS.items():
                before = load()
                out = Path(tmp) / f"{way}-{r}".replace(" ", "-")
                walls[way].append(run_bench(tables, grid, options, out))
                print(f"{r + 1:>5}  {way:<18} {walls[way][-1]:>8.1f}  {before}", flush=True)
        frames = [pd.read_csv(p / "results.csv")[NUMBERS] for p in sorted(Path(tmp).iterdir())]
        same = all(f.equals(frames[0]) for f in frames)
    print("same numbers (balanced accuracy of every model) every way:", same)
    serial = min(walls["serial"])
    for way, times in walls.items():
        best = min(times)
        print(f"{way:<18} best {best:6.1f} s  speed-up over serial {serial / best:.2f}x")
    print("Ray's fixed costs (s):")
    for name, s in ray_fixed_costs().items():
        print(f"  {name:<48} {s:6.2f}")
    print("load average after:", load())


if __name__ == "__main__":
    main()
