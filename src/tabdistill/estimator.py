"""A scikit-learn estimator: ``Distiller(**options).fit(X, y)`` distils ``(X, y)``.

``X`` may be an array or a DataFrame with numeric and categorical columns (preprocessed as in
:mod:`.data`, without a train/test split: all rows are the train part). After ``fit`` the
distilled set (and, for ``method="wang"``, its learned lrs) are fitted attributes,
``predict`` uses a fresh model of ``learner`` (default: the first of ``arch``) trained on the
distilled set (so the estimator is a classifier and can be scored, cross-validated and put in
pipelines), and :meth:`Distiller.train_model` / :meth:`Distiller.score_model` train
and score a fresh model of any architecture or scikit-learn learner on the distilled rows.

Example::

    from tabdistill import Distiller
    d = Distiller(per_class=2, restarts=3).fit(frame.drop(columns="y"), frame["y"])
    d.synthetic_frame_           # the synthetic rows, original columns and labels
    d.score_model("rf", X_test, y_test)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .config import DistillConfig
from .data import MAX_CATEGORIES, Dataset, fit_preprocessing, inspect_features, transform
from .distill import distill
from .errors import TabdistillError
from .learners import fit_distilled, parse_learner
from .methods import METHODS, make_distilled
from .sizing import n_synthetic, size_config


class Distiller(ClassifierMixin, BaseEstimator):
    """Distils a classification table into a few synthetic batches and their learning rates.

    ``method`` is any of ``tabdistill.methods.METHODS`` but ``full``: ``auto`` (the default)
    chooses among k-means centroids, balanced random rows and (with ``learner`` named) the
    per-learner search on a validation part of ``X``; ``wang`` is the paper's algorithm. Every
    method but ``wang`` makes ``steps x per_class`` plain rows per class (or ``budget`` in all).
    ``learner`` is the model ``predict`` uses and the one ``auto`` / ``search`` make the set
    for (``None``: the first of ``arch``, and ``auto`` chooses for all default learners).

    Other parameters mirror :class:`tabdistill.DistillConfig` (``arch`` a comma-separated string);
    ``budget`` (total synthetic rows) replaces ``per_class`` when given; ``outer_epochs=None``
    runs about 600 outer steps. The defaults are those of ``tabdistill compare`` (10 steps of
    one row per class, 3 internal epochs, rows started at k-means centroids of their class),
    not the paper's larger set. ``missing`` and ``max_categories`` are the preprocessing
    options of :mod:`tabdistill.data`.

    Fitted attributes: ``distilled_`` (:class:`~tabdistill.DistilledData`, all restarts),
    ``synthetic_X_`` (restart 0's rows in the model's space, ``[rows, d]``), ``synthetic_y_``
    (their labels, in ``classes_``), ``synthetic_frame_`` (the rows in the original columns),
    ``learning_rates_`` (restart 0's learned lrs, ``[steps * epochs]``; empty for plain rows),
    ``method_`` (the method that made the set: ``auto``'s choice), ``method_choice_`` (``auto``'s
    validation scores, else ``None``), ``classes_``,
    ``transformer_`` (the fitted preprocessing, a :class:`~tabdistill.schema.Schema`),
    ``preprocessing_``, ``n_features_in_`` (and ``feature_names_in_`` for
    DataFrames), ``compression_ratio_`` (rows seen per synthetic row) and ``model_`` (the net
    behind ``predict``).
    """

    def __init__(self, *, method="auto", learner=None, arch="mlp2", steps=10, epochs=3,
                 per_class=1, budget=None, models=3, outer_epochs=None, batch_size=64,
                 outer_lr=0.01, init_lr=0.02, learn_labels=False, init_rows="kmeans",
                 in_domain=False, restarts=1, missing="impute",
                 max_categories=MAX_CATEGORIES, random_state=0):
        self.method = method
        self.learner = learner
        self.arch = arch
        self.steps = steps
        self.epochs = epochs
        self.per_class = per_class
        self.budget = budget
        self.models = models
        self.outer_epochs = outer_epochs
        self.batch_size = batch_size
        self.outer_lr = outer_lr
        self.init_lr = init_lr
        self.learn_labels = learn_labels
        self.init_rows = init_rows
        self.in_domain = in_domain
        self.restarts = restarts
        self.missing = missing
        self.max_categories = max_categories
        self.random_state = random_state

    # ---- fitting -------------------------------------------------------------------------

    def fit(self, X, y):
        """Preprocesses ``X``, distils ``(X, y)`` and trains the net behind ``predict``."""
        frame, y = self._check_X_y(X, y)
        check_classification_targets(y)
        if len(frame) < 2:
            raise ValueError(f"got {len(frame)} sample; expected at least 2 samples per class")
        features, keep, notes = inspect_features(frame, name="X", missing=self.missing)
        y = np.asarray(y)[keep]
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has a single class ({self.classes_[0]!r}); expected at least "
                             "two classes")
        self.transformer_, more = fit_preprocessing(features, name="X",
                                                    max_categories=self.max_categories)
        self.preprocessing_ = {**notes, **more}
        Xt = transform(self.transformer_, features)
        dataset = Dataset(
            name="X", X_train=Xt, y_train=y_idx.astype(np.int32), X_test=Xt[:0],
            y_test=y_idx[:0].astype(np.int32), classes=tuple(self.classes_),
            feature_names=self.transformer_.feature_names,
            preprocessing=self.preprocessing_, transformer=self.transformer_,
        )
        config = self._config(len(Xt))
        learner = self.learner if self.learner is not None else config.default_net
        parse_learner(learner)
        self.method_choice_ = None
        if self.method == "wang":
            self.distilled_ = distill(dataset, config)
        else:
            self.distilled_, self.method_choice_ = make_distilled(
                dataset, self.method, config.steps * config.per_class,
                restarts=config.restarts, seed=config.seed, nets=config.arch,
                learner=self.learner if self.method == "auto" else learner)
        self.method_ = self.distilled_.method
        first = self.distilled_.x[0]
        self.synthetic_X_ = first.reshape(-1, first.shape[-1])
        self.synthetic_y_ = self.classes_[np.asarray(self.distilled_.labels).reshape(-1)]
        self.learning_rates_ = np.asarray(self.distilled_.lrs[0])
        self.compression_ratio_ = len(Xt) / n_synthetic(config, len(self.classes_))
        self.model_ = fit_distilled(learner, self.distilled_, restart=0, seed=config.seed)
        return self

    def _config(self, n_rows: int) -> DistillConfig:
        if self.method not in METHODS or self.method == "full":
            raise ValueError(f"method is {self.method!r}; expected one of "
                             f"{', '.join(m for m in METHODS if m != 'full')}")
        seed = self.random_state if self.random_state is not None else 0
        if not isinstance(seed, int | np.integer):
            raise ValueError(f"random_state is {seed!r}; expected an int or None")
        auto = self.outer_epochs is None  # about TARGET_OUTER_STEPS outer steps
        config = DistillConfig(
            arch=self.arch, steps=self.steps, epochs=self.epochs, per_class=self.per_class,
            models=self.models, outer_epochs=DistillConfig.outer_epochs if auto else
            self.outer_epochs, batch_size=self.batch_size, outer_lr=self.outer_lr,
            init_lr=self.init_lr, learn_labels=self.learn_labels, init_rows=self.init_rows,
            in_domain=self.in_domain, restarts=self.restarts,
            seed=int(seed),
        ).validate()
        return size_config(config, n_rows, len(self.classes_), budget=self.budget,
                           auto_outer_epochs=auto).validate()

    def _check_X_y(self, X, y):
        """Checks ``(X, y)`` as scikit-learn does; returns X as a DataFrame and y as 1-d."""
        if isinstance(X, pd.DataFrame):
            frame = self._check_X(X, reset=True)
            y = column_or_1d(y, warn=True)
            if y.dtype.kind in "fc":
                check_array(y, ensure_2d=False, dtype=None, input_name="y")
            check_consistent_length(frame, y)
            return frame, y
        X, y = validate_data(self, X, y, dtype=np.float64,
                             ensure_all_finite="allow-nan" if self.missing == "impute" else True)
        self._columns = [f"x{i}" for i in range(X.shape[1])]
        return pd.DataFrame(X, columns=self._columns), y

    def _check_X(self, X, *, reset: bool) -> pd.DataFrame:
        """Checks ``X`` as scikit-learn does; returns it as a DataFrame of feature columns."""
        by_name = reset or hasattr(self, "feature_names_in_")
        if isinstance(X, pd.DataFrame) and by_name:
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] == 0:
                raise ValueError("X has 0 samples; expected at least 2")
            if reset:
                self._columns = [str(c) for c in X.columns]
            return X
        X = validate_data(self, X, reset=reset, dtype=np.float64,
                          ensure_all_finite="allow-nan" if self.missing == "impute" else True)
        columns = getattr(self, "_columns", None)
        if reset or columns is None:
            columns = [f"x{i}" for i in range(X.shape[1])]
            self._columns = columns
        return pd.DataFrame(X, columns=columns)

    # ---- predicting ----------------------------------------------------------------------

    def _prepared(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return transform(self.transformer_, self._check_X(X, reset=False))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities from the model trained on the distilled set."""
        X = self._prepared(X)
        return self.model_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """Classes from the model trained on the distilled set."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # ---- the distilled set ---------------------------------------------------------------

    @property
    def synthetic_frame_(self) -> pd.DataFrame:
        """Restart 0's synthetic rows in the original feature columns, with a ``label``."""
        check_is_fitted(self, "model_")
        frame = self.transformer_.inverse(self.synthetic_X_)
        frame["label"] = self.synthetic_y_
        return frame

    def train_model(self, learner="mlp2", *, restart: int = 0, seed: int = 0,
                    strategy="raw") -> TrainedModel:
        """A fresh model trained on the distilled set of one restart.

        ``learner`` is an architecture (trained along the learned schedule, any architecture,
        not only the one distilled for) or ``logreg`` / ``knn`` / ``rf`` / ``hgb`` (trained on
        the pooled rows). The result predicts from raw rows like this estimator does.
        """
        check_is_fitted(self, "model_")
        if not 0 <= restart < self.distilled_.n_restarts:
            raise TabdistillError(f"restart {restart} does not exist; expected 0 to "
                                  f"{self.distilled_.n_restarts - 1}")
        model = fit_distilled(parse_learner(learner), self.distilled_, restart=restart,
                              seed=seed, strategy=strategy)
        return TrainedModel(self, model)

    def score_model(self, learner, X, y, *, seed: int = 0, strategy="raw") -> dict:
        """Accuracy on ``(X, y)`` of ``learner`` trained on each restart's distilled set."""
        from .stats import summarize

        accs = [self.train_model(learner, restart=r, seed=seed + r, strategy=strategy)
                .score(X, y) for r in range(self.distilled_.n_restarts)]
        return summarize(np.array(accs))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "impute"
        tags.non_deterministic = False
        return tags


class TrainedModel:
    """A model trained on a distilled set, predicting from raw rows (see ``train_model``)."""

    def __init__(self, distiller: Distiller, model):
        self.distiller, self.model = distiller, model

    def predict(self, X) -> np.ndarray:
        return self.distiller.classes_[self.model.predict(self.distiller._prepared(X))]

    def score(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))
