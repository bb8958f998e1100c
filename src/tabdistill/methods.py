"""Methods: the ways to make a small training set of a given size from a train part.

A budget is counted in **rows per class** of the whole set, as in the field's benchmarks
(TDBench): ``rows_per_class = 10`` on a 3-class table is a set of 30 rows. Each method is a
value (:class:`Method`) whose ``make`` sees only the train part of a :class:`~.data.Dataset`
(anything it chooses, it chooses on the train part) and returns one :class:`ReducedSet` per
restart. Adding a method is a function and a line in :data:`METHODS`.

* ``full``: the whole train part (the reference; the budget does not apply).
* ``random``: a stratified random subset of ``rows_per_class x classes`` rows (the class
  proportions of the table, so small classes get fewer rows).
* ``random-balanced``: ``rows_per_class`` random rows of each class.
* ``kmeans``: ``rows_per_class`` k-means centroids of each class.
* ``search``: for each learner its own set: the best of three k-means runs (and, for trees,
  three balanced random subsets) of one half of the train part (by the learner's balanced
  accuracy on the other half), then a local search that swaps single rows for other centroids
  or real rows of the same class and keeps a swap when the validation score does not drop
  (:data:`SEARCH_PROPOSALS` tries; for ``hgb`` from 120 on few classes to a few on many,
  :func:`search_proposals`). A class with fewer rows in its half than the budget is
  filled up with its rows from the other half. Trees and neighbours get rows they score well
  with, not rows made for a net.
* ``kip``: for each learner its own set: per-class k-means centroids moved by a kernel
  objective inside the data's domain (numeric values in their train range, one-hot blocks on
  the simplex; :mod:`~.kip`). Nets and linear models get kernel inducing points (kernel ridge
  regression from the rows to the train part, a wide RBF kernel); ``knn`` gets prototypes
  that a soft vote of as many nearest rows as knn will take on the set (a narrow RBF kernel
  for 1-NN, a sharp edge at the k-th nearest row for k-NN) fits to the train part. Trees
  (``rf``, ``hgb``, ``xgb``) get real rows instead, the nearest row of its class to each
  centroid: moving the rows did not pay for them on the validation halves, real rows did.
* ``teacher``: for each learner its own set: per-class k-means centroids labelled by a
  teacher, the learner trained on the whole train part, with its class probabilities (soft
  labels; see :mod:`.learners` for how each learner takes them) as if the classes were equally
  frequent (:func:`balanced_proba`). Knowledge distillation into the set: the labels carry
  the full model's view of each centroid's neighbourhood, not the table's class imbalance. For
  learners that take row weights, each row weighs train rows / set rows, so that the set
  weighs as much as the train part. ``logreg`` gets labels and a weight solved so that the
  set trains it to the teacher exactly (:mod:`.matching`), not to a shrunken copy.
* ``sparse-means``: for each learner its own set: per-class k-means centroids that differ
  only in a few features (:data:`SPARSE_FEATURES` at most), the others set to the centroids'
  mean. The features are added one at a time, each the one that most raises the learner's
  balanced accuracy on the train part's quarters held out in turn (one quarter from
  :data:`SPARSE_ONE_FOLD_FROM` train rows on), of the :data:`SPARSE_TRIES` the rest ranks
  first by a one-feature nearest-row vote. Made for trees on few rows: every feature in which
  the rows differ splits them alike, so the rows decide which features the trees split on.
* ``auto``: chooses among :data:`AUTO_CANDIDATES` on a validation part of the train part
  (see :func:`choose_method`; the order of preference, :func:`auto_candidates`, puts
  ``teacher`` first for nets and ``logreg`` from :data:`AUTO_TEACHER_FROM` rows per class on,
  ``kmeans`` first for nets and ``knn`` at :data:`AUTO_KMEANS_AT` row per class, ``kip``
  first for ``knn`` at more, and ``kmeans`` second after those first choices above one row
  per class; trees at :data:`AUTO_SPARSE_AT` row per class have
  ``sparse-means`` as a candidate too, first; ``hgb`` from 10 rows per class on and ``rf``
  from 10 to under 50 take ``search`` without a choice, and ``logreg`` from 50 on
  ``teacher``, :data:`AUTO_UNSCORED`),
  for one learner, or for all the default learners at once (then among the methods not tuned
  to one learner); then makes the chosen method's set from the whole train part. A train
  part of more than :data:`AUTO_ROWS` rows is sampled down to that (stratified) first.
* ``wang``: the paper's distillation (Wang et al. 2018, as studied by Medvedev & D'yakonov):
  ``steps`` synthetic batches of ``per_class`` rows of each class with ``steps x per_class =
  rows_per_class`` (``steps`` the largest divisor of the budget up to 10), 3 internal epochs, 3
  internal models of the net learners' architectures, about 600 outer steps, the rows started
  at k-means centroids of their class.

The balanced methods keep all of a class's rows when it has no more than the budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .data import Dataset
from .distill import DistilledData
from .domain import Domain
from .errors import TabdistillError
from .kip import KipConfig, kip_rows
from .learners import kmeans_centers, knn_neighbours, parse_learner

WANG_MAX_STEPS = 10


@dataclass(frozen=True, eq=False)
class ReducedSet:
    """One restart's small training set: rows of the model's space and their classes.

    ``distilled`` holds the synthetic batches and learned lrs where the method learns them
    (nets then train on that schedule); it is ``None`` for sets of plain rows."""

    X: np.ndarray  # [rows, features] float32
    y: np.ndarray  # [rows] int32 class indices
    distilled: DistilledData | None = None
    restart: int = 0  # which restart of ``distilled`` this set is
    choice: dict | None = None  # ``auto``: the method chosen and the validation scores
    proba: np.ndarray | None = None  # [rows, classes] soft labels, where the method gives them
    weight: float = 1.0  # what each row weighs for learners that take weights (as row_weight)

    def fit(self, learner, n_classes: int, seed: int = 0):
        """``learner`` trained on this set (see :mod:`.learners` for how)."""
        from .learners import fit, fit_distilled, fit_soft

        if self.distilled is not None:
            return fit_distilled(learner, self.distilled, restart=self.restart, seed=seed)
        if self.proba is not None:
            return fit_soft(learner, self.X, self.proba, n_classes, seed=seed,
                            weight=self.weight)
        return fit(learner, self.X, self.y, n_classes, seed=seed)


@dataclass(frozen=True)
class Method:
    """A named way to make a set: ``make(dataset, rows_per_class, restarts, seed, nets)``
    returns a :class:`ReducedSet` per restart id; restart ``r`` uses seed ``seed + r``. A
    ``per_learner`` method makes a set for one learner, given as ``learner=``."""

    name: str
    kind: str  # "reference", "coreset" or "distillation"
    make: Callable[..., list[ReducedSet]]
    description: str
    per_learner: bool = False
    version: int = 1  # bump when ``make`` changes its sets, so that cached results go stale

    def sets(self, dataset: Dataset, rows_per_class: int, restarts, seed: int, nets,
             learner=None) -> list[ReducedSet]:
        """``make``'s sets; ``learner`` reaches a per-learner method only (the others make
        one set for every learner)."""
        extra = {"learner": learner} if self.per_learner else {}
        return self.make(dataset, rows_per_class, restarts, seed, nets, **extra)


def stratified_subset(X, y, n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random subset of ``n_rows`` rows with the class proportions of ``y`` (each class's
    count rounded by largest remainder, so that it does not depend on the seed), by class."""
    counts = np.bincount(y)
    share = n_rows * counts / counts.sum()
    take = np.floor(share).astype(int)
    take[np.argsort(take - share, kind="stable")[:n_rows - take.sum()]] += 1
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k]
                          for c, k in enumerate(take)])
    return X[idx], y[idx]


def balanced_subset(X, y, per_class: int, n_classes: int, seed: int):
    """``per_class`` random rows of each class (all of a class's rows if it has fewer)."""
    rng = np.random.default_rng(seed)
    idx = np.concatenate([
        rng.permutation(np.flatnonzero(y == c))[:per_class] for c in range(n_classes)
    ])
    return X[idx], y[idx]


def kmeans_centroids(X, y, per_class: int, n_classes: int, seed: int):
    """``per_class`` k-means centroids of each class (all of a class's rows if it has fewer)."""
    xs, ys = [], []
    for c in range(n_classes):
        rows = X[y == c]
        if len(rows) <= per_class:
            centers = rows
        else:
            centers = kmeans_centers(rows, per_class, seed)
        xs.append(centers)
        ys.append(np.full(len(centers), c, np.int32))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def _full(dataset: Dataset, rows_per_class, restarts, seed, nets):
    del rows_per_class, seed, nets  # The whole train part, whatever the budget.
    return [ReducedSet(dataset.X_train, dataset.y_train) for _ in restarts]


def _random(dataset: Dataset, rows_per_class, restarts, seed, nets):
    del nets  # Rows need no architecture.
    n_rows = min(rows_per_class * dataset.n_classes, len(dataset.y_train))
    return [ReducedSet(*stratified_subset(dataset.X_train, dataset.y_train, n_rows, seed + r))
            for r in restarts]


def _random_balanced(dataset: Dataset, rows_per_class, restarts, seed, nets):
    del nets  # Rows need no architecture.
    return [ReducedSet(*balanced_subset(dataset.X_train, dataset.y_train, rows_per_class,
                                        dataset.n_classes, seed + r)) for r in restarts]


def _kmeans(dataset: Dataset, rows_per_class, restarts, seed, nets):
    del nets  # Centroids need no architecture.
    return [ReducedSet(*kmeans_centroids(dataset.X_train, dataset.y_train, rows_per_class,
                                         dataset.n_classes, seed + r)) for r in restarts]


SEARCH_PROPOSALS = 40  # swaps tried (hgb: see SEARCH_HGB_WORK)
# hgb's set gains with every swap tried: 120 swaps instead of 40 raised its test balanced
# accuracy at 10 rows per class on 7 of 8 development tables of 2 to 4 classes (by 0.016 on
# average; rf's on 6 of 8, by 0.004, so rf keeps 40). A fit of hgb grows a tree per class at
# each round, so its swaps are this over the classes, at most 120: 40 on 9 classes, 13 on 26,
# 6 on 60. On four unseen suites hgb's mean rose at 10 and 50 rows per class in each
# (docs/auto-choice.md, version 22); on five tables of 26 to 60 classes, 10 swaps scored
# 0.0004 below 40 on average, in 35-42% of the time (version 23).
SEARCH_HGB_WORK = 360
SEARCH_HGB_MOST = 120
SEARCH_STARTS = 3
SEARCH_POOL_ROWS = 200  # real rows per class the search may swap in
TREE_LEARNERS = ("rf", "hgb", "xgb")


def validation_folds(X, y, n_folds: int, seed: int):
    """``n_folds`` pairs ``(fit indices, validation indices)`` that hold each row out once,
    stratified (plain where a class has fewer rows than folds)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(y)
    folds = (StratifiedKFold if counts[counts > 0].min() >= n_folds else KFold)(
        n_folds, shuffle=True, random_state=seed)
    return list(folds.split(X, y))


def validation_split(X, y, fraction: float, seed: int):
    """``(X_fit, X_val, y_fit, y_val)``: a stratified split of a train part (plain where a
    class is too small to be on both sides)."""
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=fraction, stratify=stratify, random_state=seed)


def search_proposals(learner, n_classes: int) -> int:
    """The swaps ``search`` tries for ``learner`` (for ``hgb``, see :data:`SEARCH_HGB_WORK`)."""
    if parse_learner(learner).name != "hgb":
        return SEARCH_PROPOSALS
    return min(SEARCH_HGB_WORK // n_classes, SEARCH_HGB_MOST)


def search_rows(X, y, learner, n_classes: int, rows_per_class: int, seed: int, *,
                proposals: int | None = None):
    """Rows for ``learner`` (see the module doc's ``search``; ``proposals`` swaps tried, by
    default :func:`search_proposals`); returns ``(X, y, val score)``."""
    from sklearn.metrics import balanced_accuracy_score

    from .learners import fit

    if proposals is None:
        proposals = search_proposals(learner, n_classes)
    X_fit, X_val, y_fit, y_val = validation_split(X, y, 0.5, seed)
    rng = np.random.default_rng(seed)

    def score(rows, labels):
        model = fit(learner, rows, labels, n_classes, seed=seed)
        return balanced_accuracy_score(y_val, model.predict(X_val))

    # Centroids suit nets, linear models and neighbours; real rows suit trees (as in kip).
    tree = parse_learner(learner).name in TREE_LEARNERS
    makers = (kmeans_centroids, balanced_subset) if tree else (kmeans_centroids,)
    starts = [make(X_fit, y_fit, rows_per_class, n_classes, seed + 1000 * k)
              for make in makers for k in range(SEARCH_STARTS)]
    best, rows, labels = max(((score(*s), *s) for s in starts), key=lambda t: t[0])
    pool = [np.concatenate([s[0][s[1] == c] for s in starts] +
                           [rng.permutation(X_fit[y_fit == c])[:SEARCH_POOL_ROWS]])
            for c in range(n_classes)]
    rows = rows.copy()
    # A class with no more rows in the half than the budget has all of them in the set already.
    movable = np.flatnonzero(np.bincount(y_fit, minlength=n_classes)[labels] > rows_per_class)
    for _ in range(proposals if len(movable) else 0):
        i = int(rng.choice(movable))
        new = pool[labels[i]][rng.integers(len(pool[labels[i]]))]
        if (rows == new).all(1).any():  # a row twice is a row lost
            continue
        trial = rows.copy()
        trial[i] = new
        value = score(trial, labels)
        if value >= best:  # equal scores move too: the search drifts across plateaus
            best, rows = value, trial
    # A class whose fit half is smaller than the budget fills the rest with its held-out rows:
    # at large budgets the search must not cost the set real rows it may have.
    extra = [rng.permutation(X_val[y_val == c])[:max(0, rows_per_class - np.sum(labels == c))]
             for c in range(n_classes)]
    rows = np.concatenate([rows, *extra])
    labels = np.concatenate([labels, *(np.full(len(e), c, labels.dtype)
                                       for c, e in enumerate(extra))])
    return rows.astype(np.float32), labels, best


def require_learner(method: str, learner) -> None:
    """Refuses a per-learner method without its learner."""
    if learner is None:
        raise TabdistillError(f"method {method} makes a set for one learner; expected one "
                              "named (--learner)")


def _search(dataset: Dataset, rows_per_class, restarts, seed, nets, learner=None):
    del nets  # The set is made for ``learner``, whatever it is.
    require_learner("search", learner)
    return [ReducedSet(*search_rows(dataset.X_train, dataset.y_train, learner,
                                    dataset.n_classes, rows_per_class, seed + r)[:2])
            for r in restarts]


SPARSE_FEATURES = 6  # the most features the rows of a sparse-means set differ in
SPARSE_TRIES = 6  # features fitted at each step: the rest's best by a one-feature vote
SPARSE_FOLDS = 4  # the features are scored on each quarter of the train part held out in turn
# From so many train rows on, one quarter held out chooses about as well as four (sets within
# 0.012 on the development tables of 3,781 rows and more), at a quarter of the fits.
SPARSE_ONE_FOLD_FROM = 4000
SPARSE_VOTE_ROWS = 2000  # validation rows the one-feature votes are scored on, at most


def sparse_means(X, y, learner, n_classes: int, rows_per_class: int, seed: int):
    """Per-class k-means centroids for ``learner`` that differ only in a few features, the
    rest set to the centroids' mean (see the module doc's ``sparse-means``): ``(X, y)``."""
    from sklearn.metrics import balanced_accuracy_score

    from .learners import fit

    folds = []  # (centroids, their labels, validation rows, their labels) of each fold
    n_folds = SPARSE_FOLDS if len(y) < SPARSE_ONE_FOLD_FROM else 1
    for fit_rows, val_rows in validation_folds(X, y, SPARSE_FOLDS, seed)[:n_folds]:
        rows, labels = kmeans_centroids(X[fit_rows], y[fit_rows], rows_per_class, n_classes, seed)
        folds.append((rows, labels, X[val_rows], y[val_rows]))

    def score(mask):
        return np.mean([balanced_accuracy_score(y_val, fit(
            learner, only_features(rows, mask), labels, n_classes, seed=seed).predict(X_val))
            for rows, labels, X_val, y_val in folds])

    votes = np.mean([one_feature_votes(rows, labels, X_val[:SPARSE_VOTE_ROWS],
                                       y_val[:SPARSE_VOTE_ROWS])
                     for rows, labels, X_val, y_val in folds], axis=0)
    varies = np.any([rows.max(0) > rows.min(0) for rows, *_ in folds], axis=0)
    order = [j for j in np.argsort(-votes, kind="stable") if varies[j]]
    mask, best = np.zeros(X.shape[1], bool), -np.inf
    for _ in range(min(SPARSE_FEATURES, len(order))):
        tries = [j for j in order if not mask[j]][:SPARSE_TRIES]
        scores = [score(mask | (np.arange(len(mask)) == j)) for j in tries]
        if max(scores) <= best:
            break
        best = max(scores)
        mask[tries[int(np.argmax(scores))]] = True
    rows, labels = kmeans_centroids(X, y, rows_per_class, n_classes, seed)
    return (only_features(rows, mask) if mask.any() else rows), labels


def only_features(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``rows`` with the features outside ``mask`` set to their mean over the rows."""
    return np.where(mask, rows, rows.mean(0)).astype(rows.dtype)


def one_feature_votes(rows, labels, X, y) -> np.ndarray:
    """Per feature, the balanced accuracy on ``X, y`` of the label of the nearest row in
    that feature alone: a cheap ranking of the features to fit a learner on."""
    from sklearn.metrics import balanced_accuracy_score

    return np.array([balanced_accuracy_score(
        y, labels[np.argmin(np.abs(X[:, j, None] - rows[None, :, j]), axis=1)])
        for j in range(X.shape[1])])


def _sparse_means(dataset: Dataset, rows_per_class, restarts, seed, nets, learner=None):
    del nets  # The set is made for ``learner``, whatever it is.
    require_learner("sparse-means", learner)
    return [ReducedSet(*sparse_means(dataset.X_train, dataset.y_train, learner,
                                     dataset.n_classes, rows_per_class, seed + r))
            for r in restarts]


def balanced_proba(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Class probabilities of a model trained on labels ``y`` as if its classes had been
    equally frequent (each divided by its class's share of ``y``, then normalised): the
    headline metric weighs every class alike, and a set of so many rows per class is
    balanced, so its labels must not carry the table's imbalance."""
    share = np.maximum(np.bincount(y, minlength=proba.shape[1]), 1) / len(y)
    balanced = proba / share
    return balanced / balanced.sum(axis=1, keepdims=True)


def _teacher(dataset: Dataset, rows_per_class, restarts, seed, nets, learner=None):
    del nets  # The labels are made by ``learner``, whatever it is.
    require_learner("teacher", learner)
    from .learners import fit
    from .matching import matched_logreg_labels

    X, y, n_classes = dataset.X_train, dataset.y_train, dataset.n_classes
    sets = []
    for r in restarts:
        rows, labels = kmeans_centroids(X, y, rows_per_class, n_classes, seed + r)
        teacher = fit(learner, X, y, n_classes, seed=seed + r)
        matched = (matched_logreg_labels(teacher, X, y, rows, n_classes)
                   if parse_learner(learner).name == "logreg" else None)
        if matched is not None:  # labels that logreg learns the teacher from exactly
            sets.append(ReducedSet(rows, labels, proba=matched[0], weight=matched[1]))
            continue
        # The set weighs as much as the train part, so that a regularised learner (logreg
        # where no matched labels are worth having) learns a less shrunken teacher.
        proba = balanced_proba(teacher.predict_proba(rows), y)
        sets.append(ReducedSet(rows, labels, proba=proba, weight=len(y) / len(rows)))
    return sets


AUTO_CANDIDATES = ("search", "kip", "teacher", "kmeans", "random-balanced",
                   "random")  # by preference
# Candidates whose set is a plain random draw, and how many draws score each of them: one
# draw's score is mostly that draw's luck, which the set auto then makes (a new draw) does not
# share, so a lucky draw would win the choice and lose on new rows.
AUTO_DRAWN = ("random-balanced", "random")
AUTO_DRAWS = 5
# Learners fitted by log-loss (the nets and logreg) take ``teacher``'s soft labels as targets:
# from this many rows per class on, the centroids spread over the classes' boundaries, the
# labels there carry the full-data model, and ``teacher`` comes first for them. Below it the
# centroids sit near the class means, where the labels say little (measured in
# docs/auto-choice.md, version 10).
AUTO_TEACHER_FROM = 10
# Learners that take one method without a choice, at rows per class in [from, below).
# hgb takes ``search`` from 10 on: at 10 and 50 rows on three suites (development and two of
# R's), the other candidates that won hgb's validation part lost to ``search`` on the test
# part in 13 of 20 (table, budget) cells and won 7, by 0.008 on average (docs/auto-choice.md,
# version 13); search's set is chosen on a validation half already. rf at 10 (below 50): on
# five suites (74 tables) ``search`` alone is at least the better coreset on 6 tables more
# than rf's choice and the choice lost more than it won on the small tables; at 50 the choice
# paid (version 15). At 1 row per class the choice paid for both. logreg takes ``teacher``
# (a set that trains it to the full-data model) from 50 on: on nine suites (130 tables)
# ``teacher`` alone is at least the better coreset on as many tables as the choice (108), its
# mean gain as high or higher on 8 of them; at 10 rows the choice paid (version 25).
AUTO_UNSCORED = {"hgb": ("search", 10, None), "rf": ("search", 10, 50),
                 "logreg": ("teacher", 50, None)}
# Nets and knn at this many rows per class take ``kmeans`` first: one centroid per class (the
# class mean) is hard to beat for a net or a nearest-centroid vote, and the other candidates'
# gains on a validation part are mostly noise there. On four suites (59 tables) ``kmeans``
# first made ``mlp2``'s set at least the better coreset on 51 tables instead of 39, at a mean
# gain over it 0.004 lower (version 14); on six (89 tables) knn's on 85 instead of 76, at a
# mean gain 0.002 to 0.014 lower (version 17; docs/auto-choice.md).
AUTO_KMEANS_AT = 1
# Trees at this many rows per class take ``sparse-means`` first. A tree on one row per class
# makes one split per class, and every feature in which the rows differ splits them alike:
# hgb takes the first such feature and rf a random one, whatever the feature is worth on the
# table. Rows that differ only in features chosen for the learner make those its splits.
AUTO_SPARSE_AT = 1
AUTO_VALIDATION = 0.25  # share of the train part the choice is scored on
AUTO_MARGIN = 0.01  # the least margin by which a later candidate must score higher
# The most train rows auto works on. More rows move k-means centroids and validation scores
# little (a score on a quarter of them has a standard error of at most 0.007), and they cost
# minutes on a large table.
AUTO_ROWS = 20_000


def choose_method(dataset: Dataset, rows_per_class: int, seed: int, nets, learners,
                  candidates: Sequence[str] = AUTO_CANDIDATES) -> dict:
    """The ``auto`` choice: each candidate makes a set from the train part less a validation
    part (:data:`AUTO_VALIDATION`, stratified) and is scored by the mean balanced accuracy of
    ``learners`` on the validation part (a plain random candidate by its mean over
    :data:`AUTO_DRAWS` draws). The first candidate whose score is within one paired
    standard error of the best score (the error of the difference on the same rows, at least
    :data:`AUTO_MARGIN`) wins: a score on a small validation part is noisy, so the order of
    preference (the stronger methods on the development suite first) decides near-ties, but a
    candidate that the rows themselves show worse does not win. Returns
    ``{"method": name, "validation": {name: score}, "error": {name: paired error}}``; a single
    candidate is taken unscored (empty scores)."""
    if len(candidates) == 1:
        return {"method": candidates[0], "validation": {}, "error": {}}
    return first_within_error(*validation_hits(dataset, rows_per_class, seed, nets, learners,
                                               candidates))


def validation_hits(dataset: Dataset, rows_per_class: int, seed: int, nets, learners,
                    candidates: Sequence[str] = AUTO_CANDIDATES) -> tuple[np.ndarray, dict]:
    """What :func:`choose_method` scores: ``(y_val, hits)``, the validation part's labels and,
    per candidate in order, ``hits[name] [learners, rows]``, whether ``learners`` trained on
    its set (made from the rest of the train part) predict each validation row right: 0 or 1,
    or for the candidates of :data:`AUTO_DRAWN` the share of :data:`AUTO_DRAWS` draws that do."""
    X_fit, X_val, y_fit, y_val = validation_split(dataset.X_train, dataset.y_train,
                                                  AUTO_VALIDATION, seed)
    part = dataclasses.replace(dataset, X_train=X_fit, y_train=y_fit, X_test=X_val, y_test=y_val)
    hits = {}
    for name in candidates:
        method = METHODS[name]
        draws = list(range(AUTO_DRAWS if name in AUTO_DRAWN else 1))  # draw r: seed + r
        per_learner = []
        for learner in learners:
            if method.per_learner or not per_learner:
                made = method.sets(part, rows_per_class, draws, seed, nets, learner)
            right = [m.fit(learner, part.n_classes, seed=seed).predict(X_val) == y_val
                     for m in made]
            per_learner.append(np.mean(right, axis=0))
        hits[name] = np.array(per_learner)
    return y_val, hits


def first_within_error(y, hits: dict) -> dict:
    """:func:`choose_method`'s rule on ``hits[name] [learners, rows]`` (right predictions of the
    rows labelled ``y``), candidates in order of preference."""
    from .stats import balanced_accuracy, balanced_accuracy_difference_se

    scores = {name: balanced_accuracy(y, h) for name, h in hits.items()}
    top = max(scores, key=scores.__getitem__)
    errors = {name: balanced_accuracy_difference_se(y, h, hits[top]) for name, h in hits.items()}
    return {"method": first_within(list(hits), scores, errors), "validation": scores,
            "error": errors}


def first_within(order: Sequence[str], scores: dict, errors: dict) -> str:
    """The first candidate of ``order`` whose score is within its paired error (at least
    :data:`AUTO_MARGIN`) of the best score."""
    top = max(scores.values())
    return next(n for n in order if scores[n] >= top - max(AUTO_MARGIN, errors[n]))


def auto_part(dataset: Dataset, seed: int) -> Dataset:
    """The train part ``auto`` works on: all of it, or a stratified sample of
    :data:`AUTO_ROWS` rows of a larger one."""
    if len(dataset.y_train) <= AUTO_ROWS:
        return dataset
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(dataset.X_train, dataset.y_train, train_size=AUTO_ROWS,
                                  stratify=dataset.y_train, random_state=seed)
    return dataclasses.replace(dataset, X_train=X, y_train=y)


def auto_candidates(learner, rows_per_class: int) -> list[str]:
    """:data:`AUTO_CANDIDATES` in ``auto``'s order of preference for ``learner`` (``None``:
    every default learner at once, then only the methods not tuned to one learner)."""
    if learner is None:
        return [c for c in AUTO_CANDIDATES if not METHODS[c].per_learner]
    parsed = parse_learner(learner)
    if parsed.name in AUTO_UNSCORED:
        method, least, below = AUTO_UNSCORED[parsed.name]
        if least <= rows_per_class and (below is None or rows_per_class < below):
            return [method]
    # Above one row per class nets and knn take ``kmeans`` second, after their first
    # candidate: in a near-tie on the validation part the centroids of the whole part are the
    # safe choice, and ``search``, whose set is chosen on a half of it, lost to them on small
    # tables. Over nine suites mlp2's and knn's sets at 10 and 50 rows per class were at
    # least the better coreset in 468 (table, budget) cells of 526 instead of 456, no suite's
    # mean moving by more than 0.003 (docs/auto-choice.md, version 24).
    if (parsed.is_net or parsed.name == "logreg") and rows_per_class >= AUTO_TEACHER_FROM:
        order = moved_first("teacher")
        return moved("kmeans", order, 1) if parsed.is_net else order
    if parsed.name in TREE_LEARNERS and rows_per_class == AUTO_SPARSE_AT:
        return ["sparse-means", *AUTO_CANDIDATES]
    if parsed.name == "knn":  # kip's prototypes are fitted to knn's own vote
        order = moved_first("kip")
        return moved("kmeans", order, 0 if rows_per_class == AUTO_KMEANS_AT else 1)
    if parsed.is_net and rows_per_class == AUTO_KMEANS_AT:
        return moved_first("kmeans")
    return list(AUTO_CANDIDATES)


def moved_first(name: str, order: Sequence[str] = AUTO_CANDIDATES) -> list[str]:
    """``order`` with ``name`` moved to the front."""
    return moved(name, order, 0)


def moved(name: str, order: Sequence[str], place: int) -> list[str]:
    """``order`` with ``name`` moved to index ``place``."""
    rest = [c for c in order if c != name]
    return [*rest[:place], name, *rest[place:]]


def auto_choice(dataset: Dataset, rows_per_class: int, seed: int, nets, learner=None) -> dict:
    """``auto``'s choice for ``learner`` (or for all the default learners: then among the
    methods that are not tuned to one), on ``auto_part(dataset, seed)``."""
    from .learners import DEFAULT_LEARNERS

    learners = [learner] if learner is not None else list(DEFAULT_LEARNERS)
    candidates = auto_candidates(learner, rows_per_class)
    return choose_method(auto_part(dataset, seed), rows_per_class, seed, nets, learners,
                         candidates)


def auto_sets(dataset: Dataset, choice: dict, rows_per_class: int, restarts, seed: int, nets,
              learner=None, *, part_seed: int) -> list[ReducedSet]:
    """The chosen method's sets, made from ``auto_part(dataset, part_seed)``."""
    made = METHODS[choice["method"]].sets(auto_part(dataset, part_seed), rows_per_class,
                                          restarts, seed, nets, learner)
    return [dataclasses.replace(m, choice=choice) for m in made]


def _auto(dataset: Dataset, rows_per_class, restarts, seed, nets, learner=None):
    first = seed + min(restarts)  # the choice and the rows it works on are drawn once
    choice = auto_choice(dataset, rows_per_class, first, nets, learner)
    return auto_sets(dataset, choice, rows_per_class, restarts, seed, nets, learner,
                     part_seed=first)


def rows_as_distilled(sets: Sequence[ReducedSet], dataset: Dataset, method: str, *,
                      rows_per_class: int, seed: int, nets: Sequence[str] = ("mlp2",),
                      seconds: float = 0.0) -> DistilledData:
    """Sets of plain rows, one per restart, as a distilled set: one batch of rows (ordered
    by class) and no learned lrs, so that every method writes the same directory."""
    from .config import DistillConfig
    from .models import one_hot_targets

    order = [np.argsort(r.y, kind="stable") for r in sets]
    labels = [r.y[o] for r, o in zip(sets, order, strict=True)]
    if any(not np.array_equal(labels[0], y) for y in labels[1:]):
        raise TabdistillError(f"the restarts of {method} made sets of different class counts; "
                              "expected the same classes in every restart")
    x = np.stack([r.X[o] for r, o in zip(sets, order, strict=True)])[:, None].astype(np.float32)
    nets = tuple(nets) or ("mlp2",)
    soft = sets[0].proba is not None  # soft labels are the set's targets
    config = DistillConfig(arch=nets, steps=1, epochs=1, per_class=rows_per_class,
                           models=max(3, len(nets)), restarts=len(sets), seed=seed,
                           learn_labels=soft)
    if soft:
        proba = np.stack([r.proba[o] for r, o in zip(sets, order, strict=True)])
        targets = proba[..., 1:] if dataset.n_classes == 2 else proba
    else:
        one_hot = np.asarray(one_hot_targets(labels[0], dataset.n_classes))
        targets = np.broadcast_to(one_hot, (len(sets), *one_hot.shape))
    return DistilledData(
        x=x, targets=targets[:, None].astype(np.float32),
        labels=labels[0][None].astype(np.int32), lrs=np.zeros((len(sets), 0), np.float32),
        loss_history=np.zeros((len(sets), 0), np.float32), n_classes=dataset.n_classes,
        config=config, restart_ids=tuple(range(len(sets))), seconds=seconds, method=method,
        row_weight=sets[0].weight)


def make_distilled(dataset: Dataset, method: str, rows_per_class: int, *, restarts: int = 1,
                   seed: int = 0, nets: Sequence[str] = ("mlp2",), learner: str | None = None):
    """Any method's sets for ``restarts`` restarts as one :class:`DistilledData`, and the
    ``auto`` choice (or ``None``). ``wang`` here takes :func:`wang_config`'s settings; the
    ``distill`` command runs it with the user's settings instead."""
    import time

    start = time.perf_counter()
    sets = METHODS[method].sets(dataset, rows_per_class, list(range(restarts)), seed,
                                tuple(nets), learner)
    if sets[0].distilled is not None:
        return sets[0].distilled, None
    name = sets[0].choice["method"] if sets[0].choice else method
    distilled = rows_as_distilled(sets, dataset, name, rows_per_class=rows_per_class,
                                  seed=seed, nets=nets, seconds=time.perf_counter() - start)
    return distilled, sets[0].choice


KIP_CONFIGS = {  # per learner kind; chosen on validation halves of the development tables
    "krr": KipConfig(head="krr", width=3.0, reg=0.1),
    "vote": KipConfig(head="vote", width=0.1),  # 1-NN: a softmax over the rows
    "vote-k": KipConfig(head="vote", width=0.01),  # k-NN, k > 1: a sharp edge at the k-th row
}


def nearest_real_rows(X, y, rows, labels) -> np.ndarray:
    """For each of ``rows`` (classes ``labels``), the nearest row of ``X`` of its class."""
    out = np.empty_like(rows)
    for c in np.unique(labels):
        real, mine = X[y == c], np.flatnonzero(labels == c)
        sq = ((rows[mine, None, :] - real[None, :, :]) ** 2).sum(-1)  # [rows of c, real of c]
        out[mine] = real[np.argmin(sq, axis=1)]
    return out


def _kip(dataset: Dataset, rows_per_class, restarts, seed, nets, learner=None):
    del nets  # The set is made for ``learner``, whatever it is.
    require_learner("kip", learner)
    name = parse_learner(learner).name
    kind = "real" if name in TREE_LEARNERS else "vote" if name == "knn" else "krr"
    return [_kip_set(dataset, rows_per_class, seed + r, kind) for r in restarts]


@lru_cache(maxsize=16)  # learners of one kind share a set: made once per dataset object
def _kip_set(dataset: Dataset, rows_per_class: int, seed: int, kind: str) -> ReducedSet:
    X, y, n_classes = dataset.X_train, dataset.y_train, dataset.n_classes
    start, labels = _kip_start(dataset, rows_per_class, seed)
    if kind == "real":
        return ReducedSet(nearest_real_rows(X, y, start, labels), labels)
    domain = Domain.of(X, dataset.onehot_blocks)
    config = KIP_CONFIGS[kind]
    if kind == "vote":  # the vote of as many neighbours as knn will take on the set
        neighbours = knn_neighbours(len(labels), n_classes)
        config = KIP_CONFIGS["vote-k"] if neighbours > 1 else config
        config = dataclasses.replace(config, neighbours=neighbours)
    rows, _ = kip_rows(X, y, start, labels, n_classes, domain, seed, config)
    return ReducedSet(rows, labels)


@lru_cache(maxsize=4)  # every kind starts from the same centroids
def _kip_start(dataset: Dataset, rows_per_class: int, seed: int):
    return kmeans_centroids(dataset.X_train, dataset.y_train, rows_per_class, dataset.n_classes,
                            seed)


def wang_config(dataset: Dataset, rows_per_class: int, nets: Sequence[str] = ("mlp2",)):
    """The ``wang`` method's settings for a budget (see the module doc)."""
    from .sizing import default_config

    steps = max(d for d in range(1, WANG_MAX_STEPS + 1) if rows_per_class % d == 0)
    nets = tuple(nets) or ("mlp2",)
    config = default_config(dataset).replace(
        arch=nets, models=max(3, len(nets)), steps=steps, per_class=rows_per_class // steps,
        batch_size=min(64, len(dataset.y_train)))
    return config.validate()


def _wang(dataset: Dataset, rows_per_class, restarts, seed, nets):
    from .distill import distill
    from .learners import pooled_rows

    config = wang_config(dataset, rows_per_class, nets).replace(seed=seed,
                                                                restarts=max(restarts) + 1)
    distilled = distill(dataset, config, restart_ids=tuple(restarts))
    return [ReducedSet(*pooled_rows(distilled, i), distilled=distilled, restart=i)
            for i in range(len(restarts))]


METHODS = {
    m.name: m for m in (
        Method("full", "reference", _full, "the whole train part"),
        Method("random", "coreset", _random, "stratified random rows", version=2),
        Method("random-balanced", "coreset", _random_balanced,
               "the same number of random rows of each class"),
        Method("kmeans", "coreset", _kmeans, "per-class k-means centroids"),
        Method("search", "distillation", _search,
               "k-means centroids or real rows refined for each learner by local search on a "
               "validation half", per_learner=True, version=5),
        Method("kip", "distillation", _kip,
               "k-means centroids moved inside the data's domain by a kernel objective for "
               "each learner (kernel ridge regression for nets and linear models, a soft "
               "nearest-neighbour vote for knn); trees get the nearest real rows",
               per_learner=True, version=2),
        Method("teacher", "distillation", _teacher,
               "per-class k-means centroids with soft labels from a teacher: the learner "
               "trained on the whole train part (for logreg, labels that train it to the "
               "teacher exactly)", per_learner=True, version=6),
        Method("sparse-means", "distillation", _sparse_means,
               "per-class k-means centroids that differ only in the few features chosen for "
               "each learner on held-out quarters of the train part", per_learner=True,
               version=2),
        Method("wang", "distillation", _wang,
               "the paper's distillation: synthetic batches and learned lrs", version=2),
        Method("auto", "distillation", _auto,
               "search, kip, teacher, kmeans, random-balanced or random for each learner "
               "(and sparse-means for trees at 1 row per class), chosen on a validation part "
               "of the train part", per_learner=True, version=25),
    )
}


def parse_methods(spec: str | Sequence[str]) -> tuple[Method, ...]:
    """Reads a comma-separated list (or a sequence) of method names."""
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [n for n in names if n]
    if not names:
        raise TabdistillError(f"no method given; expected some of {', '.join(METHODS)}")
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise TabdistillError(f"unknown method {unknown[0]!r}; expected one of "
                              f"{', '.join(METHODS)}")
    return tuple(METHODS[n] for n in dict.fromkeys(names))
