"""The ``bench`` command: a thin view of :class:`~.grid.Grid` and :func:`run_bench`."""

from __future__ import annotations

import json
import shlex
import sys

from ..methods import METHODS

DEFAULT_METHODS = ("full", "random", "random-balanced", "kmeans", "wang")
DEFAULT_LEARNERS = ("mlp2", "logreg", "knn", "rf", "hgb", "xgb")


def add_parser(sub) -> None:
    from ..cli.options import add_executor_options, positive_int, positive_ints

    p = sub.add_parser(
        "bench", help="every method, budget and learner on a suite of tables",
        description="Make a set of each budget's size with each method, train each learner on "
                    "it, score it on the table's test part (balanced accuracy), and summarise "
                    "per learner and budget: mean ranks, relative regret, wins against the "
                    "best coreset, time. The budget is rows per class in the whole set. "
                    "Methods: " + "; ".join(f"{m.name}: {m.description}"
                                            for m in METHODS.values()) +
                    ". wang distils steps x per-class = the budget (steps the largest divisor "
                    "up to 10), 3 internal epochs, 3 internal models of the net learners, "
                    "about 600 outer steps. Finished cells are cached in --out; the same "
                    "command continues an interrupted run.",
    )
    p.add_argument("tables", nargs="*", metavar="TABLE",
                   help="built-in dataset names or CSV/TSV/Parquet files (globs allowed)")
    p.add_argument("--suite", metavar="FILE", default=None,
                   help="a TOML file listing tables ([[table]] source = ..., target = ...)")
    p.add_argument("--target", metavar="COLUMN", default=None,
                   help="label column of the tables named on the command line (default: the "
                        "last column)")
    p.add_argument("--rows-per-class", type=positive_ints, default=(1, 10, 50), metavar="LIST",
                   help="budgets: rows per class in the whole set (default: 1,10,50)")
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS), metavar="LIST",
                   help=f"methods, some of {', '.join(METHODS)} (default: "
                        f"{','.join(DEFAULT_METHODS)})")
    p.add_argument("--learners", default=",".join(DEFAULT_LEARNERS), metavar="LIST",
                   help="learners: logreg, knn, rf, hgb, nb, xgb and net architectures (default: "
                        f"{','.join(DEFAULT_LEARNERS)})")
    p.add_argument("--restarts", type=positive_int, default=3,
                   help="repetitions of every cell; restart r uses seed --seed + r everywhere "
                        "(default: 3)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the restarts (default: 0)")
    p.add_argument("--out", default="bench-results", metavar="DIR",
                   help="output directory and cache of finished cells (default: bench-results)")
    add_executor_options(p, "tasks (a table, budget and method each)", local_default=1)
    p.add_argument("--publish", metavar="FILE", default=None,
                   help="also write the Markdown summary to FILE, figures in a folder beside it")
    p.add_argument("--json", action="store_true", help="print summary.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    from tqdm.auto import tqdm

    from ..cli.options import executor_from
    from ..errors import TabdistillError
    from ..learners import make_sklearn, parse_learners
    from ..methods import parse_methods
    from . import Grid, load_suite, run_bench, tables_from_args
    from .suite import check_names

    methods = tuple(m.name for m in parse_methods(args.methods))
    learners = parse_learners(args.learners)
    for learner in learners:  # a missing optional package fails here, before any work
        if not learner.is_net:
            make_sklearn(learner.name, 10)
    if not args.tables and not args.suite:
        raise TabdistillError("no tables given; expected TABLE arguments or --suite FILE")
    tables = tables_from_args(args.tables, args.target)
    if args.suite:
        tables += load_suite(args.suite)
    check_names(tables)
    grid = Grid(tables=tuple(dict.fromkeys(tables)),
                rows_per_class=tuple(sorted(set(args.rows_per_class))),
                methods=methods, learners=tuple(lr.name for lr in learners),
                restarts=args.restarts, seed=args.seed)
    command = "tabdistill " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else ""
    with executor_from(args) as executor, \
            tqdm(desc="bench", unit="cell", disable=args.quiet, leave=False) as bar:

        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        summary = run_bench(grid, args.out, executor, progress=progress,
                            command=command, publish=args.publish)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"bench: {len(summary['tables'])} tables, {summary['cells_computed']} cells "
              f"computed, {summary['cells_reused']} reused, {summary['seconds']:.0f} s -> "
              f"{args.out}/summary.md")
        for note in summary["notes"]:
            print(f"note: {note}")
    return 0
