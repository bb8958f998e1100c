"""What several commands share: argument types, the data and strategy options, and the
dataset's part of a manifest (written by ``distill``, read back by ``evaluate``).

A leaf of the command line: it imports none of the command modules, so each of them (and
``reproduce`` and ``bench``, registered from outside the package) can import it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from ..errors import TabdistillError
from ..strategies import Strategy

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


def positive_ints(text: str) -> tuple[int, ...]:
    """An argparse type: a comma-separated list of whole numbers of at least 1, in order."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole "
                                         "numbers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected whole numbers of at least 1")
    return values


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0."""
    return _whole_number(text, 0)


def _whole_number(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"{value} is too small; expected at least {lowest}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number above 0."""
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
                       type=positive_int if isinstance(value, int) else positive_float,
                       help=text)


def strategy_from(args, name: str) -> Strategy:
    """Strategy ``name`` with the constants given by :func:`add_strategy_options`."""
    from ..strategies import parse_strategy

    return parse_strategy(name, **{field: getattr(args, option)
                                   for option, (field, _) in STRATEGY_OPTIONS.items()})


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's help ends with its default, unless the help states the default itself
    or there is none to state (``None``: the help says what happens then)."""

    def _get_help_string(self, action):
        if action.default is None or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def add_executor_options(p: argparse.ArgumentParser, what: str, local_default: int | None
                         ) -> None:
    """Where the command's independent tasks (``what``) run: local processes or a Ray cluster
    (read by :func:`executor_from`)."""
    local = "one per core" if local_default is None else local_default
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help=f"{what} run at once: local processes, each pinned to a core (default: "
                        f"{local}); with --executor ray, Ray tasks (default: one per CPU of "
                        "the cluster)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where they run: processes on this machine, or a Ray cluster (needs "
                        "pip install 'tabdistill[ray]'; see docs/ray.md) (default: "
                        "%(default)s)")
    p.add_argument("--ray-address", metavar="HOST:PORT", default=None,
                   help="the head of the Ray cluster to join (default: $RAY_ADDRESS; unset: a "
                        "local Ray started for this run)%(default).0s")
    p.set_defaults(local_workers=local_default)


@contextlib.contextmanager
def executor_from(args):
    """The executor :func:`add_executor_options` asks for, ready for the block (a local Ray is
    started for it and stopped after it)."""
    from ..executor import get_executor

    if args.executor == "local":
        if args.ray_address is not None:
            raise TabdistillError("--ray-address needs --executor ray")
        yield get_executor(args.workers or args.local_workers)
        return
    from ..ray_executor import ray_executor

    with ray_executor(args.ray_address or os.environ.get("RAY_ADDRESS") or None,
                      args.workers) as executor:
        yield executor


def add_data_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that reads a dataset (read by :func:`dataset_from`)."""
    p.add_argument("--target", metavar="COLUMN",
                   help="label column of a CSV/Parquet table (default: the last column)")
    p.add_argument("--test-size", type=float, default=0.33,
                   help="fraction of rows held out as the test part (default: %(default)s)")
    p.add_argument("--split-seed", type=int, default=8,
                   help="seed of the train/test split (default: %(default)s, the paper's)")
    p.add_argument("--missing", default="impute", choices=("impute", "drop", "error"),
                   help="missing feature cells: impute (train median / most frequent level), "
                        "drop the rows, or refuse the table (default: %(default)s)")
    p.add_argument("--max-categories", type=positive_int, default=20, metavar="K",
                   help="one-hot columns per categorical column at most; rarer levels are "
                        "pooled (default: %(default)s)")


def dataset_from(args):
    """The dataset ``args.data`` names, split and preprocessed as :func:`add_data_options`
    says."""
    from ..data import load_dataset

    return load_dataset(args.data, target=args.target, test_size=args.test_size,
                        seed=args.split_seed, missing=args.missing,
                        max_categories=args.max_categories)


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
            "missing": args.missing,
            "max_categories": args.max_categories,
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
    from ..data import load_dataset

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


def print_preprocessing(dataset, say=print) -> None:
    """Each preprocessing step applied to ``dataset``, as a ``note:`` line."""
    from ..data import describe

    for line in describe(dataset.preprocessing):
        say(f"note: {line}")
