"""``tabdistill compare``: is a distilled set better than a random sample of the same size?"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .distill import METHOD_CHOICES
from .options import (
    DefaultsHelpFormatter,
    add_data_options,
    add_executor_options,
    dataset_from,
    executor_from,
    positive_int,
    print_preprocessing,
)


def add_parser(sub) -> None:
    from ..learners import DEFAULT_LEARNERS

    p = sub.add_parser(
        "compare", help="is a distilled set better than a random sample of the same size?",
        description="Train each learner on the full train part, a distilled set, a stratified "
                    "random subset of the same size and per-class k-means centroids of the "
                    "same size; report test accuracy (mean, std, 95% CI over restarts).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("data", help="built-in dataset name or a CSV/TSV/Parquet file")
    add_data_options(p)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--budget", type=positive_int, default=None, metavar="N",
                      help="synthetic rows in total (default: 10 steps x 1 per class)")
    size.add_argument("--per-class", type=positive_int, default=None, metavar="K",
                      help="synthetic objects per class per step")
    p.add_argument("--method", default="auto", choices=METHOD_CHOICES,
                   help="how the distilled set is made: auto chooses, for each learner, among "
                        "search, kip, teacher, kmeans, random-balanced and random on a validation "
                        "part of the train part; wang is the paper's algorithm (--steps ... "
                        "--outer-epochs)")
    p.add_argument("--learners", default=",".join(DEFAULT_LEARNERS),
                   help="comma-separated learners: logreg, knn, rf, hgb and architectures")
    p.add_argument("--arch", default=None,
                   help="architecture(s) to distil for (default: the net learners)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="synthetic batches (default 10)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="internal epochs (default 3)")
    p.add_argument("--models", type=positive_int, default=None,
                   help="internal models per outer step (default 3)")
    p.add_argument("--outer-epochs", type=positive_int, default=None,
                   help="outer epochs (default: about 600 outer steps)")
    p.add_argument("--restarts", type=positive_int, default=5,
                   help="repetitions of everything (distillation, subsets, learner seeds)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the restarts")
    add_executor_options(p, "tasks (auto's choice for each learner; each restart of each "
                            "learner: its sets and fits; wang's restarts in slices)",
                         local_default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="also draw the comparison as a bar chart (PNG)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..compare import compare, format_table, plot, sized_config
    from ..io import atomic_file, check_output, writing
    from ..learners import parse_learners

    learners = parse_learners(args.learners)  # fail fast, before reading the data
    if args.plot:
        check_output(args.plot)
    dataset = dataset_from(args)
    overrides = {"steps": args.steps, "epochs": args.epochs, "models": args.models,
                 "outer_epochs": args.outer_epochs}
    if args.arch:
        overrides["arch"] = args.arch
    config = sized_config(dataset, budget=args.budget, per_class=args.per_class, **overrides)
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    if say:
        print_preprocessing(dataset, say)
    with executor_from(args) as executor:
        result = compare(dataset, config, learners=learners, restarts=args.restarts,
                         seed=args.seed, method=args.method, progress=say, executor=executor)
    if args.plot:
        with writing(Path(args.plot)), atomic_file(Path(args.plot), suffix=".png") as tmp:
            plot(result, tmp)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(format_table(result))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0
