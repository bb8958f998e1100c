"""What a benchmark's ``results.csv`` says, per learner and budget, computed from it alone (and,
for the near-chance cells, from each table's chance bound).

Balanced accuracy on the test part is the headline; every statistic below uses its mean over
restarts for each (table, budget, method, learner), except the paired comparison.

* **Mean rank** (TDBench's): on each table the methods of the budget's size (all but ``full``)
  are ranked by mean balanced accuracy, 1 the best, ties sharing the mean of their ranks; the
  ranks are averaged over tables.
* **Mean relative regret**: ``(full - method) / (full - random)`` on each table, averaged over
  tables; 0 matches the full train part, 1 is no better than a random subset, below 0 beats the
  full part. Tables where ``random`` comes within :data:`MIN_GAP` of ``full`` are left out (the
  ratio is then noise over nearly nothing); the count used is reported.
* **Against the best coreset**: each distillation method against the better of ``random`` and
  ``kmeans`` on that table (by mean), paired over restarts (the same seeds): the mean
  difference and its 95% bootstrap interval (:func:`~tabdistill.stats.paired_difference`). A
  *win* is an interval wholly above :data:`TOLERANCE`, a *loss* one wholly below
  ``-TOLERANCE``, a *tie* anything else. ``at_least`` counts tables where the mean difference
  is >= 0, ``better`` those where it is above :data:`TOLERANCE`.
* **Near chance**: the (table, budget, learner) cells where no method, ``full`` included,
  scores a mean balanced accuracy above what uniform random guesses stay below with 95%
  probability on the table's test part (:func:`~tabdistill.stats.chance_bound`, the one input
  not in ``results.csv``: each table's bound, recorded in the summary). There the comparisons
  above compare noise.
* **Time**: seconds to make one restart's set, and to train one learner on it and predict;
  the totals per method (making sets) and per learner (training and predicting).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..methods import METHODS
from ..stats import paired_difference

if TYPE_CHECKING:
    import pandas as pd

MIN_GAP = 0.01
TOLERANCE = 0.005
COMPARATORS = ("random", "kmeans")


def means(results: pd.DataFrame) -> pd.DataFrame:
    """Mean balanced accuracy (and accuracy) over restarts per table, budget, method, learner."""
    keys = ["dataset", "rows_per_class", "method", "learner"]
    return results.groupby(keys, as_index=False)[["balanced_accuracy", "accuracy"]].mean()


def mean_ranks(results: pd.DataFrame) -> pd.DataFrame:
    """Rows (rows_per_class, learner, method, mean_rank, tables)."""
    m = means(results)
    m = m[m.method != "full"].copy()
    m["rank"] = m.groupby(["dataset", "rows_per_class", "learner"])["balanced_accuracy"].rank(
        ascending=False, method="average")
    out = m.groupby(["rows_per_class", "learner", "method"], as_index=False).agg(
        mean_rank=("rank", "mean"), tables=("dataset", "nunique"))
    return out


def relative_regret(results: pd.DataFrame) -> pd.DataFrame:
    """Rows (rows_per_class, learner, method, mean_regret, tables)."""
    import pandas as pd

    m = means(results).pivot_table(index=["dataset", "rows_per_class", "learner"],
                                   columns="method", values="balanced_accuracy")
    if "full" not in m or "random" not in m:
        return pd.DataFrame(columns=["rows_per_class", "learner", "method", "mean_regret",
                                     "tables"])
    gap = m["full"] - m["random"]
    rows = []
    for method in m.columns.drop("full"):
        regret = ((m["full"] - m[method]) / gap).where(gap >= MIN_GAP)
        frame = regret.rename("regret").reset_index().dropna(subset=["regret"])
        for (rpc, learner), part in frame.groupby(["rows_per_class", "learner"]):
            rows.append({"rows_per_class": rpc, "learner": learner, "method": method,
                         "mean_regret": float(part["regret"].mean()),
                         "tables": int(part["dataset"].nunique())})
    return pd.DataFrame(rows, columns=["rows_per_class", "learner", "method", "mean_regret",
                                       "tables"])


def against_coresets(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (distillation method, table, budget, learner): the paired comparison with
    the better of ``random`` and ``kmeans`` (see the module doc)."""
    import pandas as pd

    present = set(results.method)
    distillers = [m for m in present if m in METHODS and METHODS[m].kind == "distillation"]
    comparators = [c for c in COMPARATORS if c in present]
    if not distillers or not comparators:
        return pd.DataFrame()
    bal = results.pivot_table(index=["dataset", "rows_per_class", "learner", "restart"],
                              columns="method", values="balanced_accuracy")
    rows = []
    for (dataset, rpc, learner), part in bal.groupby(level=[0, 1, 2]):
        best = max(comparators, key=lambda c: part[c].mean())
        for method in distillers:
            pair = part[[method, best]].dropna()
            if pair.empty:
                continue
            diff = paired_difference(pair[method].to_numpy(), pair[best].to_numpy(),
                                     tolerance=TOLERANCE)
            rows.append({"method": method, "dataset": dataset, "rows_per_class": rpc,
                         "learner": learner, "best_coreset": best,
                         "method_mean": float(pair[method].mean()),
                         "coreset_mean": float(pair[best].mean()), "difference": diff["mean"],
                         "ci95": diff["ci95"], "verdict": diff["verdict"]})
    return pd.DataFrame(rows)


def tally(pairs: pd.DataFrame) -> pd.DataFrame:
    """Wins, ties, losses, ``at_least`` and ``better`` per (method, budget, learner)."""
    import pandas as pd

    if pairs.empty:
        return pd.DataFrame()
    rows = []
    for (method, rpc, learner), part in pairs.groupby(["method", "rows_per_class", "learner"]):
        counts = part["verdict"].value_counts()
        rows.append({"method": method, "rows_per_class": rpc, "learner": learner,
                     "wins": int(counts.get("win", 0)), "ties": int(counts.get("tie", 0)),
                     "losses": int(counts.get("loss", 0)),
                     "at_least": int((part["difference"] >= 0).sum()),
                     "better": int((part["difference"] > TOLERANCE).sum()),
                     "tables": len(part),
                     "mean_difference": float(part["difference"].mean())})
    return pd.DataFrame(rows)


def near_chance(results: pd.DataFrame, chance: dict) -> list[dict]:
    """Per (budget, learner), the tables where no method beats random guessing (see the
    module doc); ``chance[table]`` is the table's bound."""
    best = results.groupby(["rows_per_class", "learner", "dataset", "method"])[
        "balanced_accuracy"].mean().groupby(level=[0, 1, 2]).max()
    out = {}
    for (rpc, learner, dataset), score in best.items():
        if dataset in chance and score <= chance[dataset]:
            out.setdefault((rpc, learner), []).append(dataset)
    return [{"rows_per_class": rpc, "learner": learner, "tables": tables}
            for (rpc, learner), tables in out.items()]


def timing(results: pd.DataFrame) -> pd.DataFrame:
    """Mean seconds per (method, budget): making one restart's set, fitting one learner."""
    import pandas as pd

    models = _once(results)
    make = models.groupby(["method", "rows_per_class"])["seconds_make"].mean()
    fit = models.groupby(["method", "rows_per_class"])["seconds_fit"].mean()
    return pd.DataFrame({"seconds_make": make, "seconds_fit": fit}).reset_index()


def time_spent(results: pd.DataFrame) -> dict:
    """Total seconds making sets (per method) and fitting learners (per learner), each trained
    model counted once (``full`` is run once per table, whatever the budgets)."""
    models = _once(results)
    # A set shared by all learners was made once: count its time once.
    shared = models.drop_duplicates(["dataset", "rows_per_class", "method", "restart",
                                     "seconds_make"])
    make = shared.groupby("method")["seconds_make"].sum()
    fit = models.groupby("learner")["seconds_fit"].sum()
    return {"make": {k: float(v) for k, v in make.items()},
            "fit": {k: float(v) for k, v in fit.items()},
            "total": float(make.sum() + fit.sum())}


def choices(results: pd.DataFrame) -> list[dict]:
    """How often ``auto`` chose each method, per budget and learner (restarts x tables)."""
    chosen = results[results.method == "auto"].dropna(subset=["chosen"])
    counts = chosen.groupby(["rows_per_class", "learner", "chosen"]).size()
    return [{"rows_per_class": rpc, "learner": learner, "chosen": name, "count": int(n)}
            for (rpc, learner, name), n in counts.items()]


def _once(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with ``full``'s rows, repeated under every budget, kept once."""
    full = results.method == "full"
    first = results.rows_per_class == results[full].groupby("dataset")[
        "rows_per_class"].transform("min").reindex(results.index)
    return results[~full | first]


def summarize_results(results: pd.DataFrame, *, notes=(), learners=None,
                      seconds: float | None = None, chance: dict | None = None) -> dict:
    """Everything ``summary.json`` holds, computed from ``results`` (``results.csv``) and
    ``chance`` (each table's chance bound, if given); ``learners`` gives their order (default:
    as they first appear)."""
    pairs = against_coresets(results)
    out = {
        "tables": sorted(results.dataset.unique()),
        "rows_per_class": sorted(int(v) for v in results.rows_per_class.unique()),
        "methods": [m for m in METHODS if m in set(results.method)],
        "learners": list(learners or dict.fromkeys(results.learner)),
        "restarts": int(results.restart.nunique()),
        "mean_rank": mean_ranks(results).to_dict("records"),
        "relative_regret": relative_regret(results).to_dict("records"),
        "against_coresets": tally(pairs).to_dict("records"),
        "pairs": pairs.to_dict("records"),
        "timing": timing(results).to_dict("records"),
        "time_spent": time_spent(results),
        "auto_choices": choices(results),
        "chance_bounds": dict(chance or {}),
        "near_chance": near_chance(results, chance or {}),
        "notes": list(notes),
        "definitions": {"min_gap": MIN_GAP, "tolerance": TOLERANCE,
                        "comparators": list(COMPARATORS)},
    }
    if seconds is not None:
        out["seconds"] = round(seconds, 1)
    return _plain(out)


def _plain(value):
    """numpy scalars -> Python ones, so that the summary is plain JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
