"""The ``tabdistill`` command line: ``distill`` and ``evaluate`` (more commands register here).

Every user error is one line on stderr and exit code 2 (3 for a run that diverged); no
traceback, no half-written output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import warnings
from pathlib import Path

import numpy as np

from . import compile_cache
from .config import DistillConfig
from .errors import DivergedError, TabdistillError
from .strategies import Strategy

DEFAULTS = DistillConfig()
# Each option of a strategy's constants and the Strategy field it sets.
STRATEGY_OPTIONS = {
    "fixed_epochs": ("epochs", "strategy 1 (fixed): epochs of s steps"),
    "fixed_lr": ("base_lr", "strategy 1: the lr before the first epoch's change"),
    "fixed_warmup": ("warmup_epochs", "strategy 1: epochs whose start multiplies the lr by "
                                      "--fixed-growth"),
    "fixed_growth": ("up", "strategy 1: lr factor at the start of each warm-up epoch"),
    "fixed_decay": ("down", "strategy 1: lr factor at the start of every later epoch"),
    "repeat_times": ("times", "strategy 2 (repeat): passes over all distilled epochs"),
    "gamma2": ("gamma2", "strategy 2: lr decay per pass (0.98 is the paper's text; 0.9 the "
                         "authors' code)"),
    "repeat_last_extra": ("extra", "strategy 3 (repeat-last): extra passes over the last "
                                   "distilled epoch"),
    "gamma3": ("gamma3", "strategy 3: lr decay per extra pass (the paper's text)"),
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; expected at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} must be positive")
    return value


def add_strategy_options(p: argparse.ArgumentParser) -> None:
    """Every constant of the paper's three strategies (defaults: the paper's)."""
    defaults = Strategy()
    for option, (field, text) in STRATEGY_OPTIONS.items():
        value = getattr(defaults, field)
        p.add_argument(f"--{option.replace('_', '-')}", dest=option, default=value,
                       type=_positive_int if isinstance(value, int) else _positive_float,
                       help=text)


def strategy_from(args, name: str) -> Strategy:
    """Strategy ``name`` with the constants given by :func:`add_strategy_options`."""
    from .strategies import parse_strategy

    return parse_strategy(name, **{field: getattr(args, option)
                                   for option, (field, _) in STRATEGY_OPTIONS.items()})


def add_data_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that reads a dataset."""
    p.add_argument("--target", metavar="COLUMN",
                   help="label column of a CSV/Parquet table (default: the last column)")
    p.add_argument("--test-size", type=float, default=0.33,
                   help="fraction of rows held out as the test part (default: %(default)s)")
    p.add_argument("--split-seed", type=int, default=8,
                   help="seed of the train/test split (default: %(default)s, the paper's)")
    p.add_argument("--missing", default="impute", choices=("impute", "drop", "error"),
                   help="missing feature cells: impute (train median / most frequent level), "
                        "drop the rows, or refuse the table (default: %(default)s)")
    p.add_argument("--max-categories", type=_positive_int, default=20, metavar="K",
                   help="one-hot columns per categorical column at most; rarer levels are "
                        "pooled (default: %(default)s)")


def _add_distill(sub) -> None:
    p = sub.add_parser(
        "distill", help="distil a dataset into a few synthetic batches and their learning rates",
        description="Distil DATA (a built-in dataset name or a CSV/Parquet file) with the paper's "
                    "algorithm; writes distilled.npz and manifest.json into --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", nargs="?", default="moons",
                   help="built-in dataset (moons, circles, blobs, breast_cancer, wine, iris, "
                        "digits) or a path to a CSV/TSV/Parquet file")
    add_data_options(p)
    d = DEFAULTS
    p.add_argument("--arch", default=",".join(d.arch),
                   help="architecture(s) of the internal models: linear, mlp2, mlp4 or "
                        "mlp:WIDTHxLAYERS[:ACT]; a comma-separated list spreads the models "
                        "over several architectures (the paper's section 6)")
    p.add_argument("--steps", type=_positive_int, default=d.steps,
                   help="internal steps per internal epoch (s): the number of synthetic batches")
    p.add_argument("--epochs", type=_positive_int, default=d.epochs,
                   help="internal epochs; n = steps x epochs inner steps")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--per-class", type=_positive_int, default=d.per_class,
                      help="synthetic objects per class in each batch")
    size.add_argument("--budget", type=_positive_int, default=None, metavar="N",
                      help="synthetic rows in total instead: per-class = N // (steps x "
                           "classes), fewer steps if even one per class does not fit")
    p.add_argument("--models", type=_positive_int, default=d.models,
                   help="internal models (m) drawn at every outer step")
    p.add_argument("--outer-epochs", type=_positive_int, default=d.outer_epochs,
                   help="passes over the real train part")
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size,
                   help="real objects per outer step")
    p.add_argument("--outer-lr", type=_positive_float, default=d.outer_lr,
                   help="Adam learning rate of the outer optimisation")
    p.add_argument("--beta1", type=float, default=d.beta1,
                   help="Adam's first-moment decay of the outer optimisation")
    p.add_argument("--beta2", type=float, default=d.beta2,
                   help="Adam's second-moment decay of the outer optimisation")
    p.add_argument("--init-lr", type=_positive_float, default=d.init_lr,
                   help="starting value of every learned inner learning rate")
    p.add_argument("--init", default=d.init,
                   choices=("xavier-normal", "xavier-uniform", "kaiming-normal",
                            "kaiming-uniform"),
                   help="initialisation of the internal models")
    p.add_argument("--fixed-init", action="store_true",
                   help="draw each internal model's weights once and keep them (Wang et al.'s "
                        "fixed-init mode) instead of re-drawing them at every outer step")
    p.add_argument("--learn-labels", action="store_true",
                   help="learn soft labels too, starting from one-hot")
    p.add_argument("--memory", default=d.memory, choices=("store", "checkpoint"),
                   help="store every inner state, or keep ~sqrt(n) and recompute (same numbers)")
    p.add_argument("--restarts", type=_positive_int, default=d.restarts,
                   help="independent runs, each with its own seeds (vectorised)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the restarts")
    p.add_argument("--workers", type=_positive_int, default=1,
                   help="processes to split the restarts over")
    p.add_argument("--out", default="distilled", metavar="DIR",
                   help="output directory (replaced atomically)")
    p.add_argument("--eval-inits", type=int, default=10, metavar="K",
                   help="after distilling, train K fresh models per restart of each "
                        "architecture on the result and print their test accuracy (0: skip)")
    p.add_argument("--no-resume", action="store_true",
                   help="start afresh instead of resuming an interrupted run with the same "
                        "--out (its checkpoint is kept in the hidden sibling .DIR.partial)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_distill)


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="train fresh models on a distilled set and score them on the test part",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("dir", help="a directory written by tabdistill distill")
    p.add_argument("--arch", default=None,
                   help="architecture to train (default: the first one used for distilling)")
    p.add_argument("--strategy", default="raw",
                   help="raw (the distilled steps and lrs), fixed (1), repeat (2) or "
                        "repeat-last (3): the paper's strategies for training longer")
    add_strategy_options(p)
    p.add_argument("--inits", type=_positive_int, default=10,
                   help="fresh initialisations per restart")
    p.add_argument("--seed", type=int, default=0, help="seed of the fresh initialisations")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--learner", "--learners", dest="learners", default=None, metavar="LIST",
                   help="instead, train these learners on the pooled distilled rows (nets on "
                        "the learned schedule): logreg, knn, rf, hgb or architectures")
    p.set_defaults(run=run_evaluate)


def run_distill(args) -> int:
    from .data import load_dataset
    from .executor import get_executor
    from .io import check_output, partial_dir, save, writing
    from .parallel import distill_restarts
    from .progress import progress_bar
    from .resume import epochs_done

    check_output(args.out, directory=True)  # before the work, not after it
    config = DistillConfig(
        arch=args.arch, steps=args.steps, epochs=args.epochs, per_class=args.per_class,
        models=args.models, outer_epochs=args.outer_epochs, batch_size=args.batch_size,
        outer_lr=args.outer_lr, beta1=args.beta1, beta2=args.beta2, init_lr=args.init_lr,
        init=args.init, fixed_init=args.fixed_init,
        learn_labels=args.learn_labels, memory=args.memory, restarts=args.restarts,
        seed=args.seed,
    ).validate()
    dataset = load_dataset(args.data, target=args.target, test_size=args.test_size,
                           seed=args.split_seed, missing=args.missing,
                           max_categories=args.max_categories)
    if args.budget is not None:
        from .sizing import fit_budget
        config = fit_budget(config, args.budget, dataset.n_classes)
    if config.batch_size > dataset.X_train.shape[0]:  # a minibatch cannot exceed the data
        config = config.replace(batch_size=int(dataset.X_train.shape[0]))
    from .sizing import size_manifest
    size = size_manifest(config, dataset.n_classes, dataset.X_train.shape[0], args.budget)
    from .data import describe
    for line in describe(dataset.preprocessing):
        print(f"note: {line}")
    partial = partial_dir(args.out)
    if args.no_resume:
        shutil.rmtree(partial, ignore_errors=True)
    try:
        with writing(args.out), progress_bar(config.outer_epochs, "distilling",
                                             disable=args.quiet) as bar:
            distilled = distill_restarts(dataset, config, get_executor(args.workers),
                                         progress=bar, checkpoint=partial, note=_note)
            out = save(args.out, distilled, {**dataset_manifest(args, dataset), "size": size},
                       transformer=dataset.transformer)
    except KeyboardInterrupt:
        done = epochs_done(partial)
        if done is None:
            print("tabdistill: interrupted before the first outer epoch ended; nothing was "
                  "written", file=sys.stderr)
        else:
            print(f"tabdistill: interrupted after epoch {done}/{config.outer_epochs}; run the "
                  "same command again to resume", file=sys.stderr)
        return 130
    shutil.rmtree(partial, ignore_errors=True)  # the result is safe: nothing left to resume
    print(f"distilled {dataset.name}: {distilled.n_restarts} restart(s) x {config.steps} "
          f"batches x {distilled.x.shape[2]} objects, n = {config.n_inner} steps, "
          f"{distilled.seconds:.1f} s -> {out}")
    print(f"  {size['n_synthetic_rows']} synthetic rows per restart for {size['n_train_rows']} "
          f"train rows: compression {size['compression_ratio']:.1f}x")
    if args.eval_inits > 0:
        from .evaluate import evaluate
        for arch in config.arch:
            result = evaluate(distilled, dataset.X_test, dataset.y_test, arch=arch,
                              inits=args.eval_inits)
            s = summarize_quietly(result)
            print(f"  {arch:>8} trained on it (raw steps): test accuracy "
                  f"{_accuracy(s, digits=3)}")
    return 0


def summarize_quietly(result) -> dict:
    """``result.summary()`` without the statistics libraries' warnings about degenerate values
    (constant or not finite); fresh models whose test log-loss is not finite, the case that
    matters, are said in one ``note:`` line on stderr instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = result.summary()
    bad = int(np.size(result.logloss) - np.isfinite(result.logloss).sum())
    if bad:
        print(f"note: {bad} of {np.size(result.logloss)} fresh {result.arch} models diverged "
              f"on the {result.strategy} schedule (non-finite test log-loss), so the log-loss "
              "summary is nan: the lrs are too large for them", file=sys.stderr)
    return summary


def _note(text: str) -> None:
    """Prints a one-line note (module level, so that worker processes can be given it)."""
    print(f"note: {text}", flush=True)


def dataset_manifest(args, dataset) -> dict:
    """What a manifest records about the data, enough to reload the same split."""
    source = args.data
    if Path(source).exists():
        source = str(Path(source).resolve())
    return {
        "dataset": {
            "name": dataset.name,
            "source": source,
            "target": args.target,
            "test_size": args.test_size,
            "split_seed": args.split_seed,
            "missing": getattr(args, "missing", "impute"),
            "max_categories": getattr(args, "max_categories", 20),
            "fingerprint": dataset.fingerprint,
            "n_train": int(dataset.X_train.shape[0]),
            "n_test": int(dataset.X_test.shape[0]),
            "classes": list(dataset.classes),
            "feature_names": list(dataset.feature_names),
            "preprocessing": dataset.preprocessing,
        }
    }


def reload_dataset(manifest: dict):
    """The dataset a distilled directory was made from, checked against its fingerprint."""
    from .data import load_dataset

    info = manifest.get("dataset", {})
    if not {"source", "target", "test_size", "split_seed", "fingerprint"} <= set(info):
        raise TabdistillError("the manifest does not say which data was distilled; expected "
                              "a directory written by tabdistill distill")
    dataset = load_dataset(info["source"], target=info["target"], test_size=info["test_size"],
                           seed=info["split_seed"], missing=info.get("missing", "impute"),
                           max_categories=info.get("max_categories", 20))
    if dataset.fingerprint != info["fingerprint"]:
        raise TabdistillError(
            f"the data at {info['source']} has changed since it was distilled "
            f"(fingerprint {dataset.fingerprint}, expected {info['fingerprint']})"
        )
    return dataset


def run_evaluate(args) -> int:
    from .evaluate import evaluate
    from .io import load

    distilled, manifest = load(args.dir)
    dataset = reload_dataset(manifest)
    if args.learners:
        from .commands import run_evaluate_learners
        return run_evaluate_learners(args, distilled, dataset)
    arch = args.arch or distilled.config.arch[0]
    summary = summarize_quietly(evaluate(distilled, dataset.X_test, dataset.y_test, arch=arch,
                                         strategy=strategy_from(args, args.strategy),
                                         inits=args.inits,
                                         seed=args.seed))
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{arch} trained on {args.dir} ({summary['strategy']} schedule), "
          f"{args.inits} inits x {distilled.n_restarts} restarts")
    print(f"  test accuracy {_accuracy(summary, digits=4)}")
    from .stats import format_estimate

    print("  test log-loss " + format_estimate(
        summary["logloss_mean"], summary["logloss_std"], summary["logloss_ci95"],
        std_init=summary["logloss_std_init"], digits=4))
    for r, s in zip(distilled.restart_ids, summary["per_restart"], strict=True):
        print(f"  restart {r}: accuracy {format_estimate(s['mean'], s['std'], digits=4)}")
    return 0


def _accuracy(summary: dict, *, digits: int) -> str:
    """An evaluation's accuracy: mean ± std over restarts (inits ± their spread; 95% CI)."""
    from .stats import format_estimate

    return (format_estimate(summary["accuracy_mean"], summary["accuracy_std"], summary["ci95"],
                            std_init=summary["accuracy_std_init"], digits=digits)
            + f", {summary['n']} restart(s) x {summary['inits']} init(s)")


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line too (exit code 2), like every other user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _add_upgrade(sub) -> None:
    from .upgrade import add_parser
    add_parser(sub)


def _add_export(sub) -> None:
    from .commands import add_export
    add_export(sub)


def _add_compare(sub) -> None:
    from .commands import add_compare
    add_compare(sub)


def _add_bench(sub) -> None:
    from .bench.cli import add_parser

    add_parser(sub)


def _add_reproduce(sub) -> None:
    from .reproduce.cli import add_parser

    add_parser(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tabdistill",
        description="Dataset distillation for tabular data: learn a small synthetic training "
                    "set and a learning rate for each training step.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_distill(sub)
    _add_evaluate(sub)
    # Further commands register here, one line each.
    _add_reproduce(sub)
    _add_upgrade(sub)
    _add_export(sub)
    _add_compare(sub)
    _add_bench(sub)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _warnings_note(caught: list) -> None:
    """Libraries' warnings, which a command has not turned into a note of its own, as one
    ``note:`` line instead of their multi-line reports."""
    if not caught:
        return
    first = caught[0]
    text = str(first.message).strip().splitlines()[0] if str(first.message).strip() else ""
    more = f" and {len(caught) - 1} more" if len(caught) > 1 else ""
    print(f"note: a library warned: {first.category.__name__}: {text}{more}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    compile_cache.enable()
    # `kill` and job schedulers stop a run as Ctrl-C does: finished work is saved to resume.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with warnings.catch_warnings(record=True) as caught:
            code = args.run(args)
        _warnings_note(caught)
        return code
    except DivergedError as err:
        print(f"tabdistill: error: {err}", file=sys.stderr)
        return 3
    except TabdistillError as err:
        print(f"tabdistill: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a write that no command wrapped (each should): still one line
        print(f"tabdistill: error: cannot write {err.filename or 'a file'} "
              f"({err.strerror or type(err).__name__})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tabdistill: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
