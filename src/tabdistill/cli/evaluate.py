"""``tabdistill evaluate``: fresh models trained on a distilled set, scored on the test part."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np

from .options import (
    DefaultsHelpFormatter,
    add_strategy_options,
    positive_int,
    reload_dataset,
    strategy_from,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="train fresh models on a distilled set and score them on the test part",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("dir", help="a directory written by tabdistill distill")
    p.add_argument("--arch", default=None,
                   help="architecture to train (default: the first one used for distilling; "
                        "mlp2 for a set distilled with random architectures)")
    p.add_argument("--strategy", default="raw",
                   help="raw (the distilled steps and lrs), fixed (1), repeat (2) or "
                        "repeat-last (3): the paper's strategies for training longer")
    add_strategy_options(p)
    p.add_argument("--inits", type=positive_int, default=10,
                   help="fresh initialisations per restart")
    p.add_argument("--seed", type=int, default=0, help="seed of the fresh initialisations")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--learner", "--learners", dest="learners", default=None, metavar="LIST",
                   help="instead, train these learners on the pooled distilled rows (nets on "
                        "the learned schedule): logreg, knn, rf, hgb or architectures")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..evaluate import evaluate
    from ..io import load
    from ..stats import format_estimate

    distilled, manifest = load(args.dir)
    dataset = reload_dataset(manifest)
    if args.learners:
        return run_learners(args, distilled, dataset)
    arch = args.arch or distilled.config.default_net
    if not distilled.has_schedule:
        print(f"note: {args.dir} holds plain rows ({distilled.method}), no learned schedule: "
              f"{arch} trains on them with the plain-rows recipe (Adam), once per restart",
              file=sys.stderr)
        args.learners = arch
        return run_learners(args, distilled, dataset)
    summary = summarize_quietly(evaluate(distilled, dataset.X_test, dataset.y_test, arch=arch,
                                         strategy=strategy_from(args, args.strategy),
                                         inits=args.inits,
                                         seed=args.seed))
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{arch} trained on {args.dir} ({summary['strategy']} schedule), "
          f"{args.inits} inits x {distilled.n_restarts} restarts")
    print(f"  test accuracy {format_accuracy(summary, digits=4)}")
    print("  test log-loss " + format_estimate(
        summary["logloss_mean"], summary["logloss_std"], summary["logloss_ci95"],
        std_init=summary["logloss_std_init"], digits=4))
    for r, s in zip(distilled.restart_ids, summary["per_restart"], strict=True):
        print(f"  restart {r}: accuracy {format_estimate(s['mean'], s['std'], digits=4)}")
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


def format_accuracy(summary: dict, *, digits: int) -> str:
    """An evaluation's accuracy: mean ± std over restarts (inits ± their spread; 95% CI)."""
    from ..stats import format_estimate

    return (format_estimate(summary["accuracy_mean"], summary["accuracy_std"], summary["ci95"],
                            std_init=summary["accuracy_std_init"], digits=digits)
            + f", {summary['n']} restart(s) x {summary['inits']} init(s)")


def evaluate_learners(distilled, dataset, learners, *, seed: int = 0) -> list[dict]:
    """Each learner trained on every restart of a distilled set, scored on the test part."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    from ..learners import fit_distilled, parse_learners
    from ..stats import summarize

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


def run_learners(args, distilled, dataset) -> int:
    """``evaluate --learners``: each learner trained on the pooled distilled rows."""
    from ..stats import format_estimate

    rows = evaluate_learners(distilled, dataset, args.learners, seed=args.seed)
    if args.json:
        print(json.dumps({"learners": rows}))
        return 0
    for s in rows:
        accuracy = format_estimate(s["accuracy_mean"], s["accuracy_std"], s["ci95"], digits=4)
        print(f"{s['learner']:>8} trained on {args.dir}: test accuracy {accuracy}, "
              f"{s['n']} restart(s), balanced {s['balanced_accuracy_mean']:.4f}")
    return 0
