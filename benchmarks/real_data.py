"""Runs ``tabdistill compare`` at its defaults on built-in datasets and generated tables and
writes each run's output, wall time and peak memory into a markdown file (``docs/real-data.md``
links to it).

    python benchmarks/real_data.py [--out docs/real-data-measured.md] [--big-rows 100000]
    python benchmarks/real_data.py --set shapes --out docs/real-data-shapes.md

``--set builtin`` (the default): the built-in datasets and two tables from
``benchmarks/make_big_table.py`` (20,000 rows, seed 1, and ``--big-rows`` rows, seed 0).
``--set shapes``: the tables of ``benchmarks/table_shapes.py`` (shapes the development suite
lacks: strong imbalance, many uninformative columns, many unequal classes, categorical columns
with missing cells). Generated tables are written to a temporary directory. Each ``compare``
runs as its own process, one at a time, so that its wall time and peak memory are its own.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILT_IN = ("iris", "wine", "breast_cancer", "digits", "moons")


def run(command: list[str]) -> tuple[str, float, float]:
    """``(stdout, wall seconds, peak RSS in GB)`` of one process (its own rusage)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        if status != 0:
            err.seek(0)
            sys.exit(f"{' '.join(command)} failed: {err.read().strip()}")
    return out, wall, usage.ru_maxrss / 1e6  # kilobytes on Linux


def big_tables(tmp: Path, big_rows: int) -> list[tuple[Path, str]]:
    """``make_big_table.py``'s tables: ``(path, heading)``."""
    tables = []
    for rows, seed in ((20_000, 1), (big_rows, 0)):
        path = tmp / f"generated{rows}.csv"
        subprocess.run([sys.executable, str(HERE / "make_big_table.py"), str(path),
                        "--rows", str(rows), "--seed", str(seed)], check=True)
        tables.append((path, f"a table from `make_big_table.py --rows {rows} --seed {seed}`"))
    return tables


def shape_tables(tmp: Path) -> list[tuple[Path, str]]:
    """``table_shapes.py``'s tables: ``(path, heading)``."""
    from table_shapes import SHAPES, make_table  # beside this script

    for name in SHAPES:
        make_table(name).to_csv(tmp / f"{name}.csv", index=False)
    return [(tmp / f"{name}.csv", f"`table_shapes.py {name}`: {SHAPES[name][0]}")
            for name in SHAPES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/real-data-measured.md")
    parser.add_argument("--big-rows", type=int, default=100_000)
    parser.add_argument("--set", choices=("builtin", "shapes"), default="builtin")
    args = parser.parse_args()
    exe = [sys.executable, "-m", "tabdistill"]
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.set == "builtin":
            tables = big_tables(Path(tmp), args.big_rows)
            runs = [([name], name) for name in BUILT_IN]
        else:
            tables, runs = shape_tables(Path(tmp)), []
        runs += [([str(p), "--target", "label"], heading) for p, heading in tables]
        for data, what in runs:
            plot = ["--plot", "docs/real-data-digits.png"] if data == ["digits"] else []
            out, wall, peak = run([*exe, "compare", *data, *plot, "--quiet"])
            shown = " ".join(["tabdistill compare", Path(data[0]).name, *data[1:], *plot])
            sections.append(f"### {what}\n\n`{shown}`: {wall:.0f} s wall time, peak memory "
                            f"{peak:.2f} GB.\n\n```text\n{out.rstrip()}\n```\n")
            print(f"{what}: {wall:.0f} s", file=sys.stderr)
    shown = f"--big-rows {args.big_rows}" if args.set == "builtin" else "--set shapes"
    title = "real and generated tables" if args.set == "builtin" else "tables of other shapes"
    head = (f"# `compare` on {title}\n\nMade by `python benchmarks/"
            f"real_data.py --out {args.out} {shown}` on "
            f"{datetime.date.today()}: `tabdistill compare` at its defaults, one process at a "
            "time, on the project's 2-core machine. Each block is the command's output as "
            "printed; its first line gives the sizes.\n")
    Path(args.out).write_text("\n".join([head, *sections]))


if __name__ == "__main__":
    main()
