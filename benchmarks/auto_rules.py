"""Scores rules for ``auto``'s choice on a bench directory that holds every candidate's cells.

``auto`` chooses, per learner, among its candidates on a validation part of the train part
(``tabdistill.methods.choose_method``). With each candidate's own test cells at hand (a
``tabdistill bench`` run whose ``--methods`` lists them all, at the same restarts), a choice
rule can be scored on the whole suite exactly as ``bench`` would score ``auto`` under it: the
chosen candidate's cells are ``auto``'s. This script computes what the choice sees, each
candidate's right and wrong predictions of the validation rows
(``methods.validation_hits``, as ``auto`` makes them: seed ``--seed``, on ``auto_part``'s
rows), keeps them in ``DIR/auto-hits/`` (a rerun reads them), and prints per budget and rule
on how many tables each learner's chosen set is at least the better of ``random`` and
``kmeans`` on the test part (mean over restarts), with the mean difference.

    tabdistill bench TABLES --target label --rows-per-class 1,10,50 --learners \\
        mlp2,logreg,knn,rf,hgb --methods full,random,kmeans,teacher,search,kip,random-balanced \\
        --restarts 3 --workers 2 --out DIR
    python benchmarks/auto_rules.py DIR TABLES --target label [--workers 2] [--splits K] \\
        [--out FILE]

``--splits K`` adds a rule: ``auto``'s, on scores averaged over K validation splits (seeds
``--seed`` to ``--seed + K - 1``), each with its own hits.

The rules (``RULES``) are the ones measured when ``auto``'s rule was chosen; the first is
``auto``'s own, and each other is named by what it does differently.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tabdistill import methods
from tabdistill.bench.grid import small_set_key
from tabdistill.bench.suite import tables_from_args
from tabdistill.learners import parse_learner
from tabdistill.stats import balanced_accuracy, balanced_accuracy_difference_se

LEARNERS = "mlp2,logreg,knn,rf,hgb"
NETS = ("mlp2",)  # bench's internal nets; no candidate of auto uses them


def first_within(y, hits: dict, margin) -> str:
    """The first candidate whose score is within ``margin(name, top)`` of the best."""
    scores = {name: balanced_accuracy(y, h) for name, h in hits.items()}
    top = max(scores, key=scores.__getitem__)
    return next(n for n in hits if scores[n] >= scores[top] - margin(n, top))


def paired(times: float):
    def rule(y, hits, learner, rows_per_class):
        return first_within(y, hits, lambda n, top: max(
            methods.AUTO_MARGIN, times * balanced_accuracy_difference_se(y, hits[n], hits[top])))
    return rule


def unpaired(y, hits, learner, rows_per_class):
    return first_within(y, hits, lambda n, top: max(methods.AUTO_MARGIN, 0.5 / np.sqrt(len(y))))


def fixed(margin: float):
    return lambda y, hits, learner, rows_per_class: first_within(y, hits, lambda n, t: margin)


def paired_in_order(y, hits: dict, order) -> str:
    """``auto``'s paired-error rule over the candidates in ``order``."""
    return methods.first_within_error(y, {name: hits[name] for name in order})["method"]


def teacher_first(names: tuple, least_rows: int):
    """Version 9's rule with ``teacher`` first for ``names`` from ``least_rows`` on."""
    def rule(y, hits, learner, rows_per_class):
        order = list(methods.AUTO_CANDIDATES)
        if parse_learner(learner).name in names and rows_per_class >= least_rows:
            order = methods.moved_first("teacher", order)
        return paired_in_order(y, hits, order)
    return rule


def autos_rule(y, hits, learner, rows_per_class):
    return paired_in_order(y, hits, methods.auto_candidates(learner, rows_per_class))


def at_one_row(order_for, applies):
    """``auto``'s rule, but at 1 row per class the learners that ``applies`` to take the
    candidates in ``order_for(auto's order)``."""
    def rule(y, hits, learner, rows_per_class):
        order = methods.auto_candidates(learner, rows_per_class)
        if rows_per_class == 1 and applies(parse_learner(learner)):
            order = order_for(order)
        return paired_in_order(y, hits, order)
    return rule


def is_net(learner) -> bool:
    return learner.is_net


def fixed_order_for(names: tuple):
    """``auto``'s rule, but ``names`` choose in :data:`~tabdistill.methods.AUTO_CANDIDATES`'
    fixed order (as before version 12 for knn, before version 13 for hgb, and before version
    15 for rf)."""
    def rule(y, hits, learner, rows_per_class):
        order = methods.auto_candidates(learner, rows_per_class)
        if parse_learner(learner).name in names:
            order = list(methods.AUTO_CANDIDATES)
        return paired_in_order(y, hits, order)
    return rule


def only_among(names: tuple, learner_name: str, budgets):
    """``auto``'s rule, but ``learner_name`` chooses among ``names`` only (in that order) at
    ``budgets`` rows per class."""
    def rule(y, hits, learner, rows_per_class):
        if parse_learner(learner).name == learner_name and rows_per_class in budgets:
            return paired_in_order(y, hits, names)
        return autos_rule(y, hits, learner, rows_per_class)
    return rule


def alone(name: str, learner_name: str, budgets):
    """``auto``'s rule, but ``learner_name`` takes ``name`` without a choice at ``budgets``
    rows per class (as hgb takes ``search`` from 10 on)."""
    return only_among((name,), learner_name, budgets)


def first_below(rows: int):
    """``auto``'s rule, but a validation part of fewer than ``rows`` rows makes no choice: its
    order's first candidate."""
    def rule(y, hits, learner, rows_per_class):
        if len(y) < rows:
            return methods.auto_candidates(learner, rows_per_class)[0]
        return autos_rule(y, hits, learner, rows_per_class)
    return rule


def mean_over_splits(splits, learner, rows_per_class) -> str:
    """``auto``'s order and paired-error rule on scores averaged over validation splits:
    ``splits`` is ``[(y, hits)]``, one per split (seed); the error of a mean of independent
    splits' differences is their errors' root sum of squares over their number."""
    order = methods.auto_candidates(learner, rows_per_class)
    scores = {n: np.mean([balanced_accuracy(y, h[n]) for y, h in splits]) for n in order}
    top = max(scores, key=scores.__getitem__)
    error = {n: np.sqrt(sum(balanced_accuracy_difference_se(y, h[n], h[top]) ** 2
                            for y, h in splits)) / len(splits) for n in order}
    return next(n for n in order if scores[n] >= scores[top] - max(methods.AUTO_MARGIN, error[n]))


AUTOS_RULE = "paired error, auto's order (auto's rule)"
RULES = {
    AUTOS_RULE: autos_rule,
    "paired error, fixed order (version 9's rule)":
        lambda y, hits, *_: paired_in_order(y, hits, methods.AUTO_CANDIDATES),
    "best score, no margin": fixed(0.0),
    "paired error x 0.5": paired(0.5),
    "paired error x 2": paired(2.0),
    "unpaired error 0.5 / sqrt(rows)": unpaired,
    "fixed margin 0.02": fixed(0.02),
    "paired error, teacher first for nets at >= 3 rows per class": teacher_first(("mlp2",), 3),
    "paired error, teacher first for mlp2, logreg, hgb at >= 10":
        teacher_first(("mlp2", "logreg", "hgb"), 10),
    "auto's rule, kip first for mlp2 at 1 row per class":
        at_one_row(lambda order: methods.moved_first("kip", order), is_net),
    "auto's rule before version 14 (search first for mlp2 at 1 row per class)":
        at_one_row(lambda order: list(methods.AUTO_CANDIDATES), is_net),
    "auto's rule, kmeans first for every learner but knn at 1 row per class":
        at_one_row(lambda order: methods.moved_first("kmeans", order),
                   lambda learner: learner.name != "knn"),
    "auto's rule before version 17 (kip first for knn at 1 row per class)":
        at_one_row(lambda order: methods.moved_first("kip", order),
                   lambda learner: learner.name == "knn"),
    "auto's rule, kmeans alone for knn at 1 row per class": alone("kmeans", "knn", (1,)),
    "auto's rule, search alone for rf at 10 and 50": alone("search", "rf", (10, 50)),
    "auto's rule, teacher alone for mlp2 at 10 and 50": alone("teacher", "mlp2", (10, 50)),
    "auto's rule, rf at 10 scores search against kmeans":
        only_among(("search", "kmeans"), "rf", (10,)),
    "auto's rule, rf at 10 scores search against kip": only_among(("search", "kip"), "rf", (10,)),
    "auto's rule, no choice on fewer than 100 validation rows": first_below(100),
    "auto's rule, no choice on fewer than 300 validation rows": first_below(300),
    "auto's rule before version 15 (rf chooses at 10 rows per class)": fixed_order_for(("rf",)),
    "auto's rule before version 12 (kip not first for knn)": fixed_order_for(("knn", "hgb")),
    "auto's rule before version 13 (hgb chooses at every budget)": fixed_order_for(("hgb",)),
}


def hits_for(job) -> dict:
    """``{learner: (y_val, {candidate: hits})}`` for one (table, budget), as ``auto`` sees it."""
    table, rows_per_class, seed, learners, path = job
    if path.exists():
        saved = np.load(path)
        if all(f"{lr}|y" in saved for lr in learners):
            return {lr: (saved[f"{lr}|y"],
                         {c: saved[f"{lr}|{c}"] for c in methods.AUTO_CANDIDATES})
                    for lr in learners}
    part = methods.auto_part(table.load(), seed)
    found = {lr: methods.validation_hits(part, rows_per_class, seed, NETS, [parse_learner(lr)])
             for lr in learners}
    arrays = {f"{lr}|y": y for lr, (y, _) in found.items()}
    arrays |= {f"{lr}|{c}": h for lr, (_, hits) in found.items() for c, h in hits.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return found


def read_cells(bench_dir: Path, seed: int, classes: dict) -> tuple[dict, dict]:
    """``({(table, budget, method, learner): mean test balanced accuracy over restarts},
    {(table, budget, learner): the candidate auto's own cells chose})``, from the cells of the
    methods' present versions and small-set rules (a directory may hold older ones too);
    ``classes[table]`` is the table's number of classes."""
    runs, chosen = {}, {}
    for path in bench_dir.glob("cells/*/*/*.json"):
        cell = json.loads(path.read_text())
        key = cell["key"]
        if key["seed"] != seed or key["method_version"] != methods.METHODS[key["method"]].version:
            continue
        if cell["dataset"] not in classes:
            continue
        rules = {k: v for k, v in key.items() if k.endswith("_rule")}
        if rules != small_set_key(key["rows_per_class"], classes[cell["dataset"]],
                                  key["learners"]):
            continue
        for learner, score in cell["learners"].items():
            key = (cell["dataset"], cell["rows_per_class"], cell["method"], learner)
            runs.setdefault(key, {})[cell["restart"]] = score["balanced_accuracy"]
            if "chosen" in score:
                chosen[key[0], key[1], learner] = score["chosen"]
    means = {key: float(np.mean(list(by_restart.values()))) for key, by_restart in runs.items()}
    return means, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench_dir", type=Path)
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--target")
    parser.add_argument("--rows-per-class", default="1,10,50")
    parser.add_argument("--learners", default=LEARNERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--splits", type=int, default=1,
                        help="also score auto's rule on scores averaged over this many "
                             "validation splits (seeds --seed, --seed + 1, ...)")
    parser.add_argument("--out", type=Path, help="also write the tables (markdown) here")
    args = parser.parse_args()
    budgets = [int(b) for b in args.rows_per_class.split(",")]
    learners = args.learners.split(",")
    tables = tables_from_args(args.tables, args.target)
    classes = {t.name: t.load().n_classes for t in tables}
    scores, auto_chose = read_cells(args.bench_dir, args.seed, classes)
    hits_dir = args.bench_dir / "auto-hits"
    version = methods.METHODS["auto"].version  # the hits change with auto's version
    seeds = range(args.seed, args.seed + args.splits)
    # A table bench made no cells for at a budget (too few rows) is left out there.
    at = {b: [t for t in tables if (t.name, b, "random", learners[0]) in scores]
          for b in budgets}
    jobs = [(t, b, seed, learners, hits_dir / f"{t.name}-{b}-{seed}-v{version}.npz")
            for seed in seeds for b in budgets for t in at[b]]
    with ProcessPoolExecutor(args.workers) as pool:
        found = dict(zip([(t.name, b, seed) for t, b, seed, *_ in jobs],
                         pool.map(hits_for, jobs), strict=True))
    seen = {(t.name, b): found[t.name, b, args.seed] for b in budgets for t in at[b]}
    # Every rule as a choice for (table, budget, learner): RULES' from the first split's hits.
    choosers = {name: (lambda t, b, lr, rule=rule: rule(*seen[t, b][lr], lr, b))
                for name, rule in RULES.items()}
    if args.splits > 1:
        choosers[f"auto's rule on the mean over {args.splits} validation splits"] = (
            lambda t, b, lr: mean_over_splits([found[t, b, s][lr] for s in seeds], lr, b))
    # A check that the hits are what auto saw: its own cells, where the directory has them
    # (several versions of auto may be there), chose what auto's rule chooses from the hits.
    agree = [auto_chose[t.name, b, lr] == RULES[AUTOS_RULE](
        *seen[t.name, b][lr], lr, b) for b in budgets for t in at[b] for lr in learners
        if (t.name, b, lr) in auto_chose]
    lines = [f"`auto`'s own cells in {args.bench_dir}: {sum(agree)} of {len(agree)} chose what "
             "its rule chooses from these validation hits.", ""]
    for b in budgets:
        lines += [f"### {b} row(s) per class: tables where the chosen set is >= the better of "
                  f"random and kmeans (of {len(at[b])}), mean difference", "",
                  "| rule | " + " | ".join(learners) + " | > 0.005 |",
                  "|---" * (len(learners) + 2) + "|"]
        for name, choose in choosers.items():
            cells, above = [], 0
            for learner in learners:
                diffs = []
                for t in at[b]:
                    chosen = choose(t.name, b, learner)
                    ref = max(scores[t.name, b, m, learner] for m in ("random", "kmeans"))
                    diffs.append(scores[t.name, b, chosen, learner] - ref)
                diffs = np.array(diffs)
                above += int(np.sum(diffs > 0.005))
                cells.append(f"{np.sum(diffs >= 0)} ({diffs.mean():+.4f})")
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {above} |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
