"""Downstream learners: models trained on a set of rows (the full train part, a distilled set,
a random subset, ...) and scored on the test part.

A learner is named: ``logreg``, ``knn``, ``rf``, ``hgb`` and ``nb`` are scikit-learn's logistic
regression, k-nearest neighbours, random forest, histogram gradient boosting and Gaussian naive
Bayes; ``xgb`` is XGBoost (the optional ``xgboost-cpu`` package, ``pip install
'tabdistill[xgb]'``); any architecture spec (``linear``, ``mlp2``, ``mlp4``, ``mlp:32x3``) is
one of the project's nets.

How each is trained:

* scikit-learn learners get the rows and their labels, all distilled steps pooled. Soft
  labels (learned, ``distill --learn-labels``, or a teacher's, the ``teacher`` method) reach
  the learners whose ``fit`` takes ``sample_weight`` (:data:`WEIGHTED_LEARNERS`) as weighted
  copies of each row, one per class (:func:`weighted_copies`); ``knn`` gets each row's most
  likely class; nets on plain rows train on them as targets (:func:`fit_soft`). Small sets
  need small-data rules, applied to every set alike: ``knn`` uses ``min(5, rows per
  class)`` neighbours (:func:`knn_neighbours`) and ``hgb`` leaves of at least
  ``min(20, max(2, rows // 20))`` rows (the default 20 would make a 40-row set one leaf) but
  at most the rows per class (:func:`hgb_leaf_rows`); ``xgb`` leaves of a hessian of at least
  its default 1 but at most a tenth of the rows per class (:func:`xgb_leaf_weight`). A
  set that lacks some classes (a small random subset can) trains on the classes it has; a set
  of one class predicts it everywhere.
* nets trained on a distilled set follow its learned schedule (the steps in order, each with
  its learned lr): that is what a distilled set is for. A set with no learned lrs (made by
  any method but ``wang``) is plain rows.
* nets trained on plain rows use one fixed recipe, ``NET_RECIPE`` (Adam, 1000 steps of
  minibatches of 128 rows drawn with replacement, lr 3e-3), whatever the set.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from threadpoolctl import threadpool_limits

from .errors import TabdistillError
from .models import Architecture, one_hot_targets, parse_arch
from .strategies import parse_strategy
from .training import Recipe, fit_rows, fit_schedule

SKLEARN_LEARNERS = ("logreg", "knn", "rf", "hgb", "nb", "xgb")
WEIGHTED_LEARNERS = ("logreg", "rf", "hgb", "nb", "xgb")  # their fit takes sample_weight
DEFAULT_LEARNERS = ("mlp2", "logreg", "knn", "rf", "hgb")


@dataclass(frozen=True)
class Learner:
    """A named downstream learner: a scikit-learn model or a net (``arch`` set)."""

    name: str
    arch: Architecture | None = None

    @property
    def is_net(self) -> bool:
        return self.arch is not None


NET_RECIPE = Recipe(units=1000, batch_size=128, lr=3e-3, draw=True)  # nets on plain rows


def parse_learner(name: str | Learner) -> Learner:
    """Reads ``logreg``, ``knn``, ``rf``, ``hgb`` or an architecture spec."""
    if isinstance(name, Learner):
        return name
    key = str(name).strip().lower()
    if key in SKLEARN_LEARNERS:
        return Learner(key)
    try:
        return Learner(key, parse_arch(key))
    except TabdistillError:
        raise TabdistillError(
            f"unknown learner {name!r}; expected one of {', '.join(SKLEARN_LEARNERS)} or an "
            "architecture (linear, mlp2, mlp4, mlp:WIDTHxLAYERS)"
        ) from None


def parse_learners(spec: str | tuple | list) -> tuple[Learner, ...]:
    """Reads a comma-separated list (or a sequence) of learner names."""
    names = [s for s in spec.split(",") if s.strip()] if isinstance(spec, str) else list(spec)
    if not names:
        raise TabdistillError("no learner given; expected at least one, such as mlp2 or rf")
    return tuple(parse_learner(n) for n in names)


# ---- scikit-learn learners -------------------------------------------------------------


KNN_NEIGHBOURS = 5  # scikit-learn's default, kept for sets of at least 5 rows per class


def knn_neighbours(n_rows: int, n_classes: int) -> int:
    """Neighbours for ``knn`` on ``n_rows`` rows of ``n_classes`` classes: at most the rows per
    class. On one row per class a vote of 5 (or of every row) ties everywhere and predicts one
    class, whatever the rows; 1-NN there uses them."""
    return max(1, min(KNN_NEIGHBOURS, n_rows // max(1, n_classes)))


HGB_LEAF_ROWS = 20  # scikit-learn's default, kept for sets of at least 400 rows


def hgb_leaf_rows(n_rows: int, n_classes: int) -> int:
    """The least rows in a leaf of ``hgb`` on ``n_rows`` rows of ``n_classes`` classes: a
    twentieth of the rows (at least 2, at most the default 20), and at most the rows per class.
    On one row per class a leaf of 2 rows leaves a two- or three-class set no split: hgb would
    predict one class, whatever the rows."""
    small = min(HGB_LEAF_ROWS, max(2, n_rows // 20))
    return max(1, min(small, n_rows // max(1, n_classes)))


def xgb_leaf_weight(n_rows: int, n_classes: int) -> float:
    """The least hessian in a leaf of ``xgb``: its default 1, but at most a tenth of the rows
    per class. A row's log-loss hessian is at most 0.25, so with the default a leaf needs at
    least 4 rows: on one row per class xgb could not split and would predict one class."""
    return min(1.0, n_rows / max(1, n_classes) / 10)


def make_sklearn(name: str, n_rows: int, seed: int = 0, n_classes: int = 1):
    """A fresh scikit-learn classifier for a training set of ``n_rows`` rows of ``n_classes``
    classes."""
    # scikit-learn is imported where it is used: a distillation needs none of it (about 1 s).
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=knn_neighbours(n_rows, n_classes))
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            min_samples_leaf=hgb_leaf_rows(n_rows, n_classes), random_state=seed
        )
    if name == "nb":
        from sklearn.naive_bayes import GaussianNB

        return GaussianNB()
    if name == "xgb":
        try:
            from xgboost import XGBClassifier
        except ImportError:
            raise TabdistillError(
                "learner xgb needs XGBoost; expected it installed (pip install "
                "'tabdistill[xgb]', which brings the xgboost-cpu package)"
            ) from None
        return XGBClassifier(n_estimators=100, n_jobs=1, random_state=seed, verbosity=0,
                             min_child_weight=xgb_leaf_weight(n_rows, n_classes))
    raise TabdistillError(f"unknown learner {name!r}; expected one of "
                          f"{', '.join(SKLEARN_LEARNERS)}")


def pooled_rows(distilled, restart: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One restart's synthetic rows, all steps together, with hard class labels."""
    x = np.asarray(distilled.x[restart])
    X = x.reshape(-1, x.shape[-1])
    return X, hard_labels(distilled, restart)


def soft_targets(distilled, restart: int = 0) -> np.ndarray:
    """One restart's learned targets as class probabilities ``[rows, n_classes]``: clipped at
    zero and normalised (a binary target is the probability of class 1)."""
    t = np.asarray(distilled.targets[restart], np.float64)
    t = t.reshape(-1, t.shape[-1])
    if t.shape[1] == 1:
        t = np.concatenate([1 - t, t], axis=1)
    w = np.clip(t, 0, None)
    return w / np.maximum(w.sum(1, keepdims=True), 1e-12)


def weighted_copies(X: np.ndarray, proba: np.ndarray):
    """Rows with soft labels as weighted copies, one per class a row's probabilities give
    weight to: ``(X, y, sample_weight)`` (a one-hot row is one copy of weight 1)."""
    row, label = np.nonzero(proba > 0)
    return X[row], label.astype(np.int32), proba[row, label]


def hard_labels(distilled, restart: int = 0) -> np.ndarray:
    """The class of every synthetic row: its label, or its learned target's likeliest class."""
    if not distilled.config.learn_labels:
        return np.asarray(distilled.labels).reshape(-1).astype(np.int32)
    t = np.asarray(distilled.targets[restart])
    y = (t[..., 0] > 0.5) if t.shape[-1] == 1 else np.argmax(t, axis=-1)
    return y.reshape(-1).astype(np.int32)


# ---- nets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetModel:
    """A trained net: predicts class probabilities for prepared rows."""

    arch: Architecture
    params: tuple
    n_classes: int

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(_proba(self.arch, self.params, jnp.asarray(X, jnp.float32)),
                          np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int32)


@partial(jax.jit, static_argnames=("arch",))
def _proba(arch, params, X):
    logits = arch.apply(params, X)
    if logits.shape[-1] == 1:
        p1 = jax.nn.sigmoid(logits[:, 0])
        return jnp.stack([1 - p1, p1], axis=1)
    return jax.nn.softmax(logits, axis=-1)


def train_net(arch: Architecture, X: np.ndarray, y: np.ndarray, n_classes: int, *,
              seed: int = 0, recipe: Recipe = NET_RECIPE,
              proba: np.ndarray | None = None) -> NetModel:
    """Trains a fresh net on plain rows with ``recipe`` (minibatches at most all rows), on
    their labels or on soft labels ``proba [rows, n_classes]``."""
    X = jnp.asarray(X, jnp.float32)
    if proba is None:
        T = one_hot_targets(jnp.asarray(y, jnp.int32), n_classes).astype(jnp.float32)
    else:
        T = jnp.asarray(proba[:, 1:] if n_classes == 2 else proba, jnp.float32)
    recipe = replace(recipe, batch_size=min(recipe.batch_size, X.shape[0]))
    params, _ = fit_rows(arch, recipe, X, T, jax.random.PRNGKey(seed))
    return NetModel(arch, jax.tree.map(np.asarray, params), n_classes)


def train_net_distilled(distilled, arch: Architecture, *, restart: int = 0, seed: int = 0,
                        strategy="raw", init: str | None = None) -> NetModel:
    """Trains a fresh net on one restart's distilled steps with their learned lrs."""
    strategy = parse_strategy(strategy)
    batch_index, lrs = strategy.schedule(distilled.lrs[restart], distilled.config.steps)
    params, _ = fit_schedule(
        arch, jnp.asarray(distilled.x[restart], jnp.float32),
        jnp.asarray(distilled.targets[restart], jnp.float32),
        jnp.asarray(batch_index, jnp.int32), jnp.asarray(lrs, jnp.float32),
        jax.random.PRNGKey(seed), init=init or distilled.config.init,
    )
    return NetModel(arch, jax.tree.map(np.asarray, params), distilled.n_classes)


# ---- one call for any learner ------------------------------------------------------------


def fit(learner: str | Learner, X: np.ndarray, y: np.ndarray, n_classes: int, *,
        seed: int = 0, recipe: Recipe = NET_RECIPE, sample_weight: np.ndarray | None = None):
    """A learner trained on plain rows; the result has ``predict`` (class indices).
    ``sample_weight`` (scikit-learn learners of :data:`WEIGHTED_LEARNERS` only) weighs the
    rows."""
    learner = parse_learner(learner)
    if sample_weight is not None and learner.name not in WEIGHTED_LEARNERS:
        raise TabdistillError(f"learner {learner.name} takes no row weights; expected one of "
                              f"{', '.join(WEIGHTED_LEARNERS)}")
    if learner.is_net:
        return train_net(learner.arch, X, y, n_classes, seed=seed, recipe=recipe)
    present = np.unique(y)
    if len(present) == 1:
        return _Constant(int(present[0]), n_classes)
    model = make_sklearn(learner.name, len(X), seed, len(present))
    weights = {}
    if sample_weight is not None:  # a pipeline passes it to its last step by name
        last = f"{model.steps[-1][0]}__" if hasattr(model, "steps") else ""
        weights = {f"{last}sample_weight": np.asarray(sample_weight, np.float64)}
    # OpenMP threads fighting JAX's for 2 cores cost 10-50x. Tiny sets (one row per class) are
    # what this package makes: scikit-learn's warnings about them say nothing new.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # Classes renumbered 0..k-1 over those present (XGBoost insists), mapped back on predict.
        return _Indexed(model.fit(X, np.searchsorted(present, y), **weights),
                        present.astype(np.int32), n_classes)


def kmeans_centers(rows: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` k-means centroids of ``rows`` (one seeded run), on one thread as every
    scikit-learn fit here: the centroids (sums of floats) must not depend on how many cores
    the process may use (a pinned bench worker has one). A class of fewer distinct rows than
    ``k`` (a table of categories) gets some centroids twice, as k-means gives them, quietly:
    the set keeps its size, and the warning would repeat for every fit of every restart."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(k, n_init=1, random_state=seed).fit(rows).cluster_centers_


def fit_distilled(learner: str | Learner, distilled, *, restart: int = 0, seed: int = 0,
                  strategy="raw", soft: bool = True):
    """A learner trained on one restart of a distilled set (see the module doc for how);
    ``soft=False`` gives every learner hard labels."""
    learner = parse_learner(learner)
    if learner.is_net and distilled.has_schedule:
        return train_net_distilled(distilled, learner.arch, restart=restart, seed=seed,
                                   strategy=strategy)
    X, y = pooled_rows(distilled, restart)
    if soft and distilled.config.learn_labels:
        return fit_soft(learner, X, soft_targets(distilled, restart), distilled.n_classes,
                        seed=seed, weight=distilled.row_weight)
    return fit(learner, X, y, distilled.n_classes, seed=seed)


def fit_soft(learner: str | Learner, X: np.ndarray, proba: np.ndarray, n_classes: int, *,
             seed: int = 0, recipe: Recipe = NET_RECIPE, weight: float = 1.0):
    """A learner trained on rows with soft labels ``proba [rows, n_classes]``: nets on them as
    targets, :data:`WEIGHTED_LEARNERS` on weighted copies (each row weighing ``weight``), the
    others (``knn``) on each row's likeliest class."""
    learner = parse_learner(learner)
    if learner.is_net:
        return train_net(learner.arch, X, None, n_classes, seed=seed, recipe=recipe,
                         proba=proba)
    if learner.name in WEIGHTED_LEARNERS:
        X, y, w = weighted_copies(X, proba)
        return fit(learner, X, y, n_classes, seed=seed, sample_weight=w * weight)
    return fit(learner, X, np.argmax(proba, axis=1).astype(np.int32), n_classes, seed=seed)


@dataclass(frozen=True)
class _Indexed:
    """A fitted scikit-learn model whose ``predict`` returns class indices as int32.

    ``classes[k]`` is the class index of the model's ``k``-th class."""

    model: object
    classes: np.ndarray
    n_classes: int

    def predict(self, X):
        with threadpool_limits(1):
            return self.classes[np.asarray(self.model.predict(X)).astype(np.int64)]

    def predict_proba(self, X):
        """``[rows, n_classes]`` probabilities (zero for classes the set lacked)."""
        proba = np.zeros((len(X), self.n_classes))
        with threadpool_limits(1):
            proba[:, self.classes] = self.model.predict_proba(X)
        return proba


@dataclass(frozen=True)
class _Constant:
    """What a learner becomes on a set of one class: that class, everywhere."""

    label: int
    n_classes: int

    def predict(self, X):
        return np.full(len(X), self.label, np.int32)

    def predict_proba(self, X):
        return np.eye(self.n_classes)[self.predict(X)]
