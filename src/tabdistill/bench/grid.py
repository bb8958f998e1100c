"""The benchmark grid: (table, rows per class, method, restart) cells, run over an executor and
cached one JSON file per cell as each finishes, so that a killed run loses only the cells in
flight and the same command continues where it stopped.

Protocol, the same for every cell: restart ``r`` uses seed ``seed + r`` for the method (random
rows, k-means starts, distillation) and for the learners, so methods are compared paired over
restarts; every learner is scored on the table's test part (balanced accuracy, the headline,
and accuracy). Methods see only the train part. ``full`` does not depend on the budget: it is
run once per table and restart and reported under every budget.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TabdistillError
from ..io import atomic_write_text
from ..learners import (
    HGB_LEAF_ROWS,
    KNN_NEIGHBOURS,
    hgb_leaf_rows,
    parse_learners,
    xgb_leaf_weight,
)
from ..methods import METHODS
from ..stats import chance_bound
from .suite import Table

if TYPE_CHECKING:
    import pandas as pd

PROTOCOL = 1  # bump when a change makes cached cells stale
# The learners' small-set rules changed the cells of some small budgets, and only those; their
# keys say so: knn's neighbours became at most the rows per class (1-NN on one row per class),
# hgb's least rows per leaf too, and xgb's least hessian per leaf at most a tenth of them
# (learners.knn_neighbours, learners.hgb_leaf_rows, learners.xgb_leaf_weight).
KNN_RULE = 2
HGB_RULE = 2
XGB_RULE = 2
COLUMNS = ("dataset", "rows_per_class", "method", "learner", "restart", "accuracy",
           "balanced_accuracy", "n_rows", "n_train", "seconds_make", "seconds_fit", "chosen")


def small_set_key(rows_per_class: int | None, n_classes: int, learners) -> dict:
    """What a cell's key says of the small-set rules under which ``learners`` (names) were
    trained: nothing where the rules give what the rules before them gave (a balanced set of
    ``rows_per_class`` rows of each of ``n_classes`` classes)."""
    if rows_per_class is None:
        return {}
    n_rows = rows_per_class * n_classes
    changed = {
        "knn_rule": (KNN_RULE, "knn", rows_per_class < KNN_NEIGHBOURS),
        "hgb_rule": (HGB_RULE, "hgb", hgb_leaf_rows(n_rows, n_classes)
                     != min(HGB_LEAF_ROWS, max(2, n_rows // 20))),
        "xgb_rule": (XGB_RULE, "xgb", xgb_leaf_weight(n_rows, n_classes) != 1.0),
    }
    return {name: version for name, (version, learner, differs) in changed.items()
            if differs and learner in learners}


@dataclass(frozen=True)
class Grid:
    """What a benchmark measures."""

    tables: tuple[Table, ...]
    rows_per_class: tuple[int, ...]
    methods: tuple[str, ...]
    learners: tuple[str, ...]
    restarts: int = 3
    seed: int = 0

    @property
    def nets(self) -> tuple[str, ...]:
        """The net learners: what distillation methods distil for."""
        return tuple(lr.name for lr in parse_learners(self.learners) if lr.is_net)


@dataclass(frozen=True)
class Task:
    """One method's sets for some restarts of one (table, budget), and the learners on them."""

    table: Table
    fingerprint: str
    n_classes: int
    rows_per_class: int | None  # None: full, which has no budget
    method: str
    restarts: tuple[int, ...]
    grid: Grid
    cache: str

    def key(self, restart: int) -> dict:
        g = self.grid
        return {"protocol": PROTOCOL, "table": self.table.to_json(),
                "fingerprint": self.fingerprint, "rows_per_class": self.rows_per_class,
                "method": self.method, "method_version": METHODS[self.method].version,
                "restart": restart, "seed": g.seed,
                "learners": list(g.learners), "nets": list(g.nets),
                **small_set_key(self.rows_per_class, self.n_classes, g.learners)}

    def path(self, restart: int) -> Path:
        digest = hashlib.sha256(json.dumps(self.key(restart), sort_keys=True).encode())
        budget = "all" if self.rows_per_class is None else self.rows_per_class
        name = re.sub(r"[^\w.-]", "_", self.table.name)
        return (Path(self.cache) / name / self.method /
                f"{budget}-r{restart}-{digest.hexdigest()[:12]}.json")


def read_cell(task: Task, restart: int) -> dict | None:
    """A finished cell from the cache, or ``None`` (missing, foreign or corrupted: rerun)."""
    try:
        cell = json.loads(task.path(restart).read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(cell, dict) and cell.get("key") == task.key(restart) and isinstance(
        cell.get("learners"), dict) and set(cell["learners"]) == set(task.grid.learners)
    return cell if ok else None


def run_task(task: Task) -> list[dict]:
    """Makes the task's sets, trains and scores every learner on each, caches each cell."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    dataset = task.table.load()
    method = METHODS[task.method]
    learners = parse_learners(task.grid.learners)

    def make(learner=None):
        start = time.perf_counter()
        sets = method.sets(dataset, task.rows_per_class, task.restarts, task.grid.seed,
                           task.grid.nets, learner)
        return sets, (time.perf_counter() - start) / len(task.restarts)

    # made[learner] = (one set per restart, seconds per restart); one entry for all learners
    # unless the method makes a set per learner.
    made = {lr: make(lr) for lr in learners} if method.per_learner else dict.fromkeys(
        learners, make())
    cells = []
    for i, restart in enumerate(task.restarts):
        seed = task.grid.seed + restart
        scores = {}
        for learner in learners:
            reduced, seconds_make = made[learner][0][i], made[learner][1]
            t0 = time.perf_counter()
            pred = reduced.fit(learner, dataset.n_classes, seed=seed).predict(dataset.X_test)
            scores[learner.name] = {
                "accuracy": float(accuracy_score(dataset.y_test, pred)),
                "balanced_accuracy": float(balanced_accuracy_score(dataset.y_test, pred)),
                "n_rows": int(len(reduced.y)),
                "seconds_make": seconds_make,
                "seconds_fit": time.perf_counter() - t0,
            }
            if reduced.choice is not None:  # auto: what it chose, and on what scores
                scores[learner.name]["chosen"] = reduced.choice["method"]
                scores[learner.name]["validation"] = reduced.choice["validation"]
                scores[learner.name]["validation_error"] = reduced.choice["error"]
        cell = {"key": task.key(restart), "dataset": task.table.name,
                "rows_per_class": task.rows_per_class, "method": task.method,
                "restart": restart, "n_train": int(len(dataset.y_train)), "learners": scores}
        atomic_write_text(task.path(restart), json.dumps(cell, indent=1))
        cells.append(cell)
    return cells


@dataclass(frozen=True)
class Plan:
    """The cells of a grid: tasks still to run, cells already cached, and notes."""

    tasks: list[Task]
    cached: list[dict]
    notes: list[str]
    budgets: dict  # table name -> the budgets it is measured at
    total: int  # cells in the grid
    chance: dict  # table name -> the balanced accuracy random guesses stay below (95%)


def plan(grid: Grid, cache: str | Path) -> Plan:
    """Loads every table (bad ones fail here, before any work) and lists the cells."""
    tasks, cached, notes, budgets, chance, total = [], [], [], {}, {}, 0
    for table in grid.tables:
        data = table.load()
        chance[table.name] = chance_bound(data.y_test)
        counts = np.bincount(data.y_train, minlength=data.n_classes)
        kept = []
        for rpc in grid.rows_per_class:
            if rpc * data.n_classes >= len(data.y_train):
                notes.append(f"{table.name}: {rpc} rows per class x {data.n_classes} classes is "
                             f"not fewer than its {len(data.y_train)} train rows; skipped")
                continue
            kept.append(rpc)
            small = [f"{data.classes[c]} ({counts[c]})" for c in np.flatnonzero(counts < rpc)]
            if small and {"random-balanced", "kmeans"} & set(grid.methods):
                notes.append(f"{table.name} at {rpc} rows per class: classes with fewer train "
                             f"rows ({', '.join(small)}) keep all their rows in random-balanced "
                             "and kmeans")
        budgets[table.name] = kept
        runs = [(None, "full")] if "full" in grid.methods and kept else []
        runs += [(rpc, m) for rpc in kept for m in grid.methods if m != "full"]
        for rpc, method in runs:
            task = partial(Task, table, data.fingerprint, data.n_classes, rpc, method)
            probe = task((), grid, str(cache))
            hits = {r: read_cell(probe, r) for r in range(grid.restarts)}
            cached += [c for c in hits.values() if c is not None]
            missing = tuple(r for r, c in hits.items() if c is None)
            total += grid.restarts
            if not missing:
                continue
            # A vectorised method makes all its restarts in one call; others one task each.
            groups = [missing] if METHODS[method].kind == "distillation" else [
                (r,) for r in missing]
            tasks += [task(g, grid, str(cache)) for g in groups]
    # The longest tasks first, so that workers finish together.
    tasks.sort(key=lambda t: METHODS[t.method].kind != "distillation")
    return Plan(tasks, cached, notes, budgets, total, chance)


def results_frame(cells: list[dict], budgets: dict) -> pd.DataFrame:
    """One row per trained model (``results.csv``); ``full`` rows repeated under each budget."""
    import pandas as pd

    rows = []
    for cell in cells:
        rpcs = (budgets[cell["dataset"]] if cell["rows_per_class"] is None
                else [cell["rows_per_class"]])
        for rpc in rpcs:
            for learner, s in cell["learners"].items():
                rows.append({"dataset": cell["dataset"], "rows_per_class": rpc,
                             "method": cell["method"], "learner": learner,
                             "restart": cell["restart"], "n_train": cell["n_train"],
                             # Cells of an early version kept these per cell, not per learner.
                             "n_rows": cell.get("n_rows"),
                             "seconds_make": cell.get("seconds_make"), **s})
    if not rows:
        raise TabdistillError("the benchmark has no cells; expected at least one table with a "
                              "budget smaller than its train part")
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.sort_values(["dataset", "rows_per_class", "method", "learner", "restart"],
                             ignore_index=True)
