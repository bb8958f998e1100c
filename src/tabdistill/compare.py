"""The honest comparison: is a distilled set better than a random sample of the same size?

Each learner is trained on (a) the full train part, (b) the distilled set, (c) a stratified
random subset of the train part with as many rows as the distilled set, and (d) per-class
k-means centroids, as many per class as the distilled set has (labelled with their class),
and scored on the test part. Each restart ``r`` draws a new distilled set (restart ``r`` of
one vectorised distillation), a new random subset, new k-means seeds and new learner seeds,
so the spread over restarts covers every source of chance. The full-data model is the
reference, one model per learner (restart 0's seed): it is not part of the verdict, and on a
large table fitting it once per restart would cost most of the run.

The distilled set is made by ``method`` (:mod:`.methods`): by default ``auto``, which chooses
for each learner among the per-learner methods (search, kip, teacher), k-means centroids and
random rows on a validation part of the train part (never the test part); ``wang`` is the
paper's algorithm. Each (restart, learner) is a task that makes its distilled set (``wang``'s
are made first, all restarts at once), trains the learner on every set and predicts.
The verdict per learner is the paired difference in balanced accuracy between the distilled
set and the better of random and k-means, with its 95% bootstrap interval.

Defaults (:func:`default_config`) are sized for a quick, meaningful answer: 10 synthetic
batches of one row per class (10 rows per class, the classic "10 per class" setting of dataset
distillation), 3 internal epochs (30 inner steps), and enough outer epochs for about 600 outer
steps (at least 1, at most 500), whatever the table's size; ``wang``'s rows start at k-means
centroids of their class.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from .config import DistillConfig
from .data import Dataset
from .distill import DistilledData
from .errors import TabdistillError
from .executor import Executor, SerialExecutor
from .learners import (
    DEFAULT_LEARNERS,
    NET_RECIPE,
    Learner,
    fit,
    parse_learners,
    pooled_rows,
)
from .methods import METHODS as ALL_METHODS
from .methods import (
    ReducedSet,
    auto_choice,
    auto_sets,
    kmeans_centroids,
    stratified_subset,
)
from .parallel import distill_restarts
from .sizing import default_config, n_synthetic, size_config
from .stats import chance_bound, format_estimate, paired_difference, summarize
from .training import Recipe

METHODS = ("full", "distilled", "random", "kmeans")
IMBALANCE = 1.5  # largest / smallest class frequency above which balanced accuracy is shown
TOLERANCE = 0.005  # a paired difference within it is a tie (as in ``bench``)


@dataclass(frozen=True, eq=False)
class Comparison:
    """The result of :func:`compare`: one row per (method, learner)."""

    dataset: str
    rows: list
    n_train: int
    n_test: int
    n_rows: int  # rows of the distilled set (and of the random and k-means sets)
    restarts: int
    imbalanced: bool
    config: DistillConfig
    seconds: dict = field(default_factory=dict)
    method: str = "wang"  # how the distilled sets were made
    chance: float | None = None  # a blind guess's balanced accuracy stays below it (95%)

    def near_chance(self) -> list[str]:
        """The learners for which no set, the whole train part included, scores a mean
        balanced accuracy above :attr:`chance`: their verdicts compare sets that teach them
        nothing the test part can see. (The whole train part alone at chance is no sign: on an
        imbalanced table it may predict the large class only, where balanced sets do better.)"""
        if self.chance is None:
            return []
        best = {}
        for r in self.rows:
            best[r["learner"]] = max(best.get(r["learner"], 0.0), r["balanced_accuracy_mean"])
        return [learner for learner, score in best.items() if score <= self.chance]

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_rows": self.n_rows,
            "compression_ratio": round(self.n_train / self.n_rows, 3),
            "restarts": self.restarts,
            "imbalanced": self.imbalanced,
            "method": self.method,
            "distill_config": {"arch": list(self.config.arch), "steps": self.config.steps,
                               "epochs": self.config.epochs,
                               "per_class": self.config.per_class,
                               "models": self.config.models,
                               "outer_epochs": self.config.outer_epochs},
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "rows": self.rows,
            "verdicts": verdicts(self),
            "chance_bound": self.chance,
            "near_chance": self.near_chance(),
        }


def sized_config(dataset: Dataset, *, budget: int | None = None, per_class: int | None = None,
                 **overrides) -> DistillConfig:
    """:func:`default_config` with ``budget`` or ``per_class`` applied (not both)."""
    if budget is not None and per_class is not None:
        raise TabdistillError("both --budget and --per-class given; expected one of them")
    config = default_config(dataset, per_class=per_class, **overrides)
    return size_config(config, dataset.X_train.shape[0], dataset.n_classes, budget=budget)


def compare(
    dataset: Dataset,
    config: DistillConfig | None = None,
    *,
    learners=DEFAULT_LEARNERS,
    restarts: int = 5,
    seed: int = 0,
    recipe: Recipe = NET_RECIPE,
    method: str = "auto",
    progress=None,
    executor: Executor | None = None,
) -> Comparison:
    """Trains every learner on the four sets, ``restarts`` times, and scores it on the test part.

    Args:
      dataset: the problem (its train part is distilled; its test part scores).
      config: distillation settings (default: :func:`default_config`); ``restarts`` and,
        unless set to something else, ``arch`` (the net learners) are filled in. The other
        methods make ``steps x per_class`` rows per class.
      learners: learner names (see :mod:`.learners`).
      restarts: independent repetitions of everything.
      seed: base seed of the restarts.
      recipe: how nets are trained on plain rows (see :mod:`.learners`).
      method: how the distilled set is made (:data:`.methods.METHODS`); a per-learner method
        (``auto``, ``search``) makes one for each learner.
      progress: called with a line of text as each stage finishes.
      executor: where the tasks run: auto's choices, the (restart, learner) tasks and slices
        of ``wang``'s restarts (default: here, one after another).
    """
    learners = parse_learners(learners)
    if not isinstance(restarts, int) or restarts < 1:
        raise TabdistillError(f"restarts is {restarts}; expected at least 1")
    if method not in ALL_METHODS or method == "full":
        raise TabdistillError(f"unknown method {method!r}; expected one of "
                              f"{', '.join(m for m in ALL_METHODS if m != 'full')}")
    config = config or default_config(dataset)
    nets = tuple(lr.name for lr in learners if lr.is_net)
    if nets and config.arch == DistillConfig.arch:
        config = config.replace(arch=nets, models=max(config.models, len(nets)))
    config = size_config(config.replace(restarts=restarts, seed=seed), len(dataset.y_train),
                         dataset.n_classes).validate()
    n_rows = n_synthetic(config, dataset.n_classes)
    if n_rows >= dataset.X_train.shape[0]:
        raise TabdistillError(
            f"a distilled set of {n_rows} rows is not smaller than the "
            f"{dataset.X_train.shape[0]} train rows; expected a smaller --budget or --per-class"
        )
    say = progress or (lambda _line: None)
    executor = executor or SerialExecutor()
    seconds = {}
    start = time.perf_counter()
    per_class = config.steps * config.per_class
    # wang's sets are made here, all restarts at once. Every other method's set is made by the
    # task that scores it (one per restart and learner: both cores stay busy to the end), after
    # auto has chosen a method for each learner (one task per learner).
    distilled, choices = None, dict.fromkeys(lr.name for lr in learners)
    if method == "wang":
        distilled = distill_restarts(dataset, config, executor)
        seconds["distill"] = time.perf_counter() - start
        say(f"made the distilled sets (wang) x {restarts} restart(s) in "
            f"{seconds['distill']:.1f} s")
    elif method == "auto":
        jobs = [(dataset, per_class, seed, config.arch, lr.name) for lr in learners]
        choices = dict(zip(choices, executor.map(_choose, jobs), strict=True))
        seconds["choose"] = time.perf_counter() - start
        say(f"chose a method for each learner (auto) in {seconds['choose']:.1f} s")

    # The coresets depend on the restart alone: made once per restart, not per learner (k-means
    # of a large train part is seconds each).
    stage = time.perf_counter()
    coresets = list(executor.map(_coresets, [(dataset, n_rows, per_class, seed + r)
                                             for r in range(restarts)]))
    seconds["coresets"] = time.perf_counter() - stage
    # Every (restart, learner) is a task. The full-data model is a reference, not part of the
    # verdict, and on a large table most of the cost: restart 0's task fits it, once.
    tasks = [_Task(dataset, learner, method, distilled, choices[learner.name], r, seed,
                   per_class, config.arch, recipe, coresets[r], full=r == 0)
             for r in range(restarts) for learner in learners]
    results = {}
    for done, (key, result) in enumerate(executor.imap_unordered(_score, tasks), 1):
        results[key] = result
        if done % len(learners) == 0:
            say(f"scored {done}/{len(tasks)} (restart, learner) pairs")
    ytr, yte = dataset.y_train, dataset.y_test
    scores = {(m, lr.name): ([], []) for m in METHODS for lr in learners}
    sets_rows = {lr.name: {"full": len(ytr), "random": n_rows} for lr in learners}
    made_by = {}
    for (_restart, name), (preds, rows_of, made, spent) in sorted(results.items()):
        sets_rows[name].update(rows_of)
        made_by[name] = made
        for m in preds:
            acc, bal = scores[(m, name)]
            acc.append(accuracy_score(yte, preds[m]))
            bal.append(balanced_accuracy_score(yte, preds[m]))
        for stage, value in spent.items():
            seconds[stage] = seconds.get(stage, 0.0) + value
    counts = np.bincount(ytr, minlength=dataset.n_classes)
    rows = []
    for lr in learners:
        choice = choices[lr.name]
        for m in METHODS:
            row = _row(m, lr, scores[(m, lr.name)], sets_rows[lr.name][m])
            if m == "distilled":
                row["distill_method"] = made_by[lr.name]
                row["validation"] = choice["validation"] if choice else None
                row["validation_error"] = choice["error"] if choice else None
            rows.append(row)
    return Comparison(
        dataset=dataset.name, rows=rows, n_train=int(len(ytr)), n_test=int(len(yte)),
        n_rows=n_rows, restarts=restarts,
        imbalanced=bool(counts.max() / max(counts.min(), 1) > IMBALANCE),
        config=config, seconds=seconds, method=method, chance=chance_bound(yte),
    )


def _coresets(job) -> dict:
    """One restart's random subset and k-means centroids, ``{method: (X, y)}``."""
    dataset, n_rows, per_class, seed = job
    X, y = dataset.X_train, dataset.y_train
    return {"random": stratified_subset(X, y, n_rows, seed),
            "kmeans": kmeans_centroids(X, y, per_class, dataset.n_classes, seed)}


def _choose(job):
    """``auto``'s choice for one learner; a top-level function so that a worker process can
    run it."""
    dataset, per_class, seed, nets, learner = job
    return auto_choice(dataset, per_class, seed, nets, learner)


@dataclass(frozen=True, eq=False)
class _Task:
    """One restart of one learner: the learner trained on each set and its test predictions."""

    dataset: Dataset
    learner: Learner
    method: str  # how the distilled set is made
    distilled: DistilledData | None  # wang's sets (all restarts); None: the task makes its set
    choice: dict | None  # auto's choice for the learner
    restart: int
    seed: int
    per_class: int
    nets: tuple
    recipe: Recipe
    coresets: dict  # the restart's random subset and k-means centroids (:func:`_coresets`)
    full: bool  # whether to train on the full train part (else another task does)


def _distilled_set(task: _Task) -> ReducedSet:
    """The task's distilled set: one restart of wang's, or made here for its learner."""
    d, r = task.dataset, task.restart
    if task.distilled is not None:
        return ReducedSet(*pooled_rows(task.distilled, r), distilled=task.distilled, restart=r)
    learner = task.learner.name
    if task.choice is not None:  # auto: the choice and the rows it works on came from seed
        return auto_sets(d, task.choice, task.per_class, [r], task.seed, task.nets, learner,
                         part_seed=task.seed)[0]
    return ALL_METHODS[task.method].sets(d, task.per_class, [r], task.seed, task.nets,
                                         learner)[0]


def _score(task: _Task):
    """``((restart, learner), (test predictions per method, rows per set, the distilled set's
    method, seconds per stage))`` of one task."""
    t0 = time.perf_counter()
    d, r, seed = task.dataset, task.restart, task.seed + task.restart
    made = _distilled_set(task)
    t1 = time.perf_counter()
    sets = dict(task.coresets)
    if task.full:
        sets["full"] = (d.X_train, d.y_train)
    preds = {"distilled": made.fit(task.learner, d.n_classes, seed=seed).predict(d.X_test)}
    for m, (X, y) in sets.items():
        preds[m] = fit(task.learner, X, y, d.n_classes, seed=seed,
                       recipe=task.recipe).predict(d.X_test)
    rows = {"distilled": len(made.y), **{m: len(y) for m, (_, y) in sets.items()}}
    name = made.choice["method"] if made.choice else task.method
    spent = {task.learner.name: time.perf_counter() - t1}
    if task.distilled is None:
        spent["distill"] = t1 - t0
    return (r, task.learner.name), (preds, rows, name, spent)


def verdicts(comparison: Comparison) -> list[dict]:
    """Per learner: the distilled set against the better (by mean) of random and k-means in
    balanced accuracy, paired over restarts (:func:`.stats.paired_difference`, tolerance
    :data:`TOLERANCE`)."""
    out = []
    for learner in dict.fromkeys(r["learner"] for r in comparison.rows):
        row = {r["method"]: r for r in comparison.rows if r["learner"] == learner}
        best = max(("random", "kmeans"), key=lambda m: row[m]["balanced_accuracy_mean"])
        diff = paired_difference(row["distilled"]["balanced_per_restart"],
                                 row[best]["balanced_per_restart"], tolerance=TOLERANCE)
        out.append({"learner": learner, "against": best, **diff})
    return out


def _row(method: str, learner: Learner, scores, n_rows: int) -> dict:
    acc, bal = summarize(scores[0]), summarize(scores[1])
    return {
        "method": method,
        "learner": learner.name,
        "accuracy_mean": acc["mean"],
        "accuracy_std": acc["std"],
        "ci95": acc["ci95"],
        "balanced_accuracy_mean": bal["mean"],
        "balanced_accuracy_std": bal["std"],
        "balanced_ci95": bal["ci95"],
        "n_rows": n_rows,
        "n": acc["n"],
        "balanced_per_restart": [float(v) for v in scores[1]],
    }


def _estimate(row: dict, score: str, ci=None) -> str:
    """A row's ``score`` as ``mean ± std`` (and ``ci``), or ``mean (one model)`` where one model
    was scored and there is no spread to give."""
    if row["n"] == 1:
        return f"{row[score + '_mean']:.3f} (one model)"
    return format_estimate(row[score + "_mean"], row[score + "_std"], ci)


def format_table(comparison: Comparison) -> str:
    """The comparison as an aligned text table, one line per learner and method."""
    c = comparison
    head = (f"{c.dataset}: {c.n_train} train rows, {c.n_test} test rows; distilled, random and "
            f"k-means sets of {c.n_rows} rows ({c.n_train / c.n_rows:.1f}x smaller); "
            f"{c.restarts} restart(s)")
    cols = f"{'learner':<10} {'method':<10} {'rows':>6}  {'accuracy (mean ± std, 95% CI)':<38}"
    if c.imbalanced:
        cols += f"  {'balanced acc.':>13}"
    lines = [head, cols, "-" * len(cols)]
    for row in c.rows:
        accuracy = _estimate(row, "accuracy", row["ci95"])
        line = f"{row['learner']:<10} {row['method']:<10} {row['n_rows']:>6}  {accuracy:<38}"
        if c.imbalanced:
            line += "  " + _estimate(row, "balanced_accuracy")
        lines.append(line.rstrip())
    lines.append("distilled - the better of random and k-means, balanced accuracy, paired over "
                 f"restarts (mean, 95% CI; tie within {TOLERANCE}):")
    for v in verdicts(c):
        method = next(r["distill_method"] for r in c.rows
                      if r["learner"] == v["learner"] and r["method"] == "distilled")
        spread = ("one restart: no interval, too uncertain to call" if v["ci95"] is None else
                  f"{v['ci95'][0]:+.3f} to {v['ci95'][1]:+.3f}")
        lines.append(f"  {v['learner']:<10} {method:<16} vs {v['against']:<7} "
                     f"{v['mean']:+.3f} ({spread}): {v['verdict']}")
    near = c.near_chance()
    if near:
        lines.append(f"note: {', '.join(near)}: no set, the whole train part included, beats "
                     f"random guessing (balanced accuracy at most {c.chance:.3f}, the 95% bound "
                     f"of guesses on these {c.n_test} test rows); their verdicts compare noise")
    return "\n".join(lines)


def plot(comparison: Comparison, path) -> None:
    """A grouped bar chart: mean test accuracy per learner and method, 95% CI as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = comparison
    learners = list(dict.fromkeys(r["learner"] for r in c.rows))
    width = 0.8 / len(METHODS)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.4 * len(learners) + 2), 4.6))
    for i, method in enumerate(METHODS):
        rows = [next(r for r in c.rows if r["learner"] == lr and r["method"] == method)
                for lr in learners]
        means = np.array([r["accuracy_mean"] for r in rows])
        low = means - np.array([r["ci95"][0] for r in rows])
        high = np.array([r["ci95"][1] for r in rows]) - means
        one = rows[0]["n"] == 1  # the full train part: one model, no interval to draw
        ax.bar(np.arange(len(learners)) + (i - 1.5) * width, means, width,
               yerr=None if one else np.vstack([low, high]), capsize=3,
               label=f"{method} ({rows[0]['n_rows']} rows{', one model' if one else ''})")
    ax.set_xticks(np.arange(len(learners)), learners)
    ax.set_xlabel("learner")
    ax.set_ylabel("test accuracy (mean over restarts, 95% CI)")
    lowest = min(r["ci95"][0] for r in c.rows)
    ax.set_ylim(max(0.0, lowest - 0.05), 1.0)
    ax.set_title(f"{c.dataset}: distilled vs random vs k-means, {c.n_rows} rows "
                 f"({c.restarts} restarts)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(METHODS),
              fontsize="small", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
