"""The real-data commands, ``export`` and ``compare``, and ``evaluate --learners``.

Registered in :mod:`.cli`; they follow its convention: every user error is a
:class:`TabdistillError`, printed as one line with exit code 2, and nothing half-written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import TabdistillError


def add_export(sub) -> None:
    p = sub.add_parser(
        "export", help="write a distilled set's synthetic rows as a CSV or Parquet table",
        description="Write the synthetic rows of DIR in the original feature space (original "
                    "column names, standardisation undone, categories by name), with their "
                    "label, step and learning rate, so that any tool can train on them.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("dir", help="a directory written by tabdistill distill")
    p.add_argument("--format", dest="fmt", default="csv", choices=("csv", "parquet"),
                   help="table format")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="file to write (default: DIR/synthetic.<format>)")
    p.add_argument("--soft", action="store_true",
                   help="also write each categorical column's raw one-hot values")
    p.set_defaults(run=run_export)


def run_export(args) -> int:
    from .export import export
    from .io import check_output

    if args.out is not None:
        check_output(args.out)
    out = export(args.dir, fmt=args.fmt, out=args.out, soft=args.soft)
    print(f"wrote {out}")
    return 0


def add_compare(sub) -> None:
    from .cli import _positive_int, add_data_options
    from .learners import DEFAULT_LEARNERS

    p = sub.add_parser(
        "compare", help="is a distilled set better than a random sample of the same size?",
        description="Train each learner on the full train part, a distilled set, a stratified "
                    "random subset of the same size and per-class k-means centroids of the "
                    "same size; report test accuracy (mean, std, 95%% CI over restarts).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", help="built-in dataset name or a CSV/TSV/Parquet file")
    add_data_options(p)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--budget", type=_positive_int, default=None, metavar="N",
                      help="synthetic rows in total (default: 10 steps x 1 per class)")
    size.add_argument("--per-class", type=_positive_int, default=None, metavar="K",
                      help="synthetic objects per class per step")
    p.add_argument("--learners", default=",".join(DEFAULT_LEARNERS),
                   help="comma-separated learners: logreg, knn, rf, hgb and architectures")
    p.add_argument("--arch", default=None,
                   help="architecture(s) to distil for (default: the net learners)")
    p.add_argument("--steps", type=_positive_int, default=None,
                   help="synthetic batches (default 10)")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="internal epochs (default 3)")
    p.add_argument("--models", type=_positive_int, default=None,
                   help="internal models per outer step (default 3)")
    p.add_argument("--outer-epochs", type=_positive_int, default=None,
                   help="outer epochs (default: about 600 outer steps)")
    p.add_argument("--restarts", type=_positive_int, default=5,
                   help="repetitions of everything (distillation, subsets, learner seeds)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the restarts")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="also draw the comparison as a bar chart (PNG)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=run_compare)


def run_compare(args) -> int:
    from .compare import compare, format_table, plot, sized_config
    from .data import load_dataset
    from .learners import parse_learners

    learners = parse_learners(args.learners)  # fail fast, before reading the data
    if args.plot:
        from .io import check_output
        check_output(args.plot)
    dataset = load_dataset(args.data, target=args.target, test_size=args.test_size,
                           seed=args.split_seed, missing=args.missing,
                           max_categories=args.max_categories)
    overrides = {"steps": args.steps, "epochs": args.epochs, "models": args.models,
                 "outer_epochs": args.outer_epochs}
    if args.arch:
        overrides["arch"] = args.arch
    config = sized_config(dataset, budget=args.budget, per_class=args.per_class, **overrides)
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    if say:
        from .data import describe
        for line in describe(dataset.preprocessing):
            say(f"note: {line}")
    result = compare(dataset, config, learners=learners, restarts=args.restarts,
                     seed=args.seed, progress=say)
    if args.plot:
        _plot_atomically(result, Path(args.plot), plot)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(format_table(result))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0


def _plot_atomically(result, path: Path, plot) -> None:
    from .io import atomic_file, writing

    with writing(path), atomic_file(path, suffix=".png") as tmp:
        plot(result, tmp)


def evaluate_learners(distilled, dataset, learners, *, seed: int = 0) -> list[dict]:
    """Each learner trained on every restart of a distilled set, scored on the test part."""
    import numpy as np
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    from .learners import fit_distilled, parse_learners
    from .stats import summarize

    out = []
    for learner in parse_learners(learners):
        acc, bal = [], []
        for r in range(distilled.n_restarts):
            pred = fit_distilled(learner, distilled, restart=r, seed=seed + r).predict(
                dataset.X_test)
            acc.append(accuracy_score(dataset.y_test, pred))
            bal.append(balanced_accuracy_score(dataset.y_test, pred))
        a, b = summarize(np.array(acc)), summarize(np.array(bal))
        out.append({"learner": learner.name, "accuracy_mean": a["mean"],
                    "accuracy_std": a["std"], "ci95": a["ci95"], "n": a["n"],
                    "balanced_accuracy_mean": b["mean"], "balanced_accuracy_std": b["std"]})
    return out


def run_evaluate_learners(args, distilled, dataset) -> int:
    from .stats import format_estimate

    rows = evaluate_learners(distilled, dataset, args.learners, seed=args.seed)
    if args.json:
        print(json.dumps({"learners": rows}))
        return 0
    for s in rows:
        accuracy = format_estimate(s["accuracy_mean"], s["accuracy_std"], s["ci95"], digits=4)
        print(f"{s['learner']:>8} trained on {args.dir}: test accuracy {accuracy}, "
              f"{s['n']} restart(s), balanced {s['balanced_accuracy_mean']:.4f}")
    return 0


__all__ = ["TabdistillError", "add_compare", "add_export", "evaluate_learners"]
