"""tabdistill.Distiller follows scikit-learn's conventions and takes DataFrames directly.

Every check of ``parametrize_with_checks`` passes; none is expected to fail. Most checks fit
several times on data of new shapes, and each new shape compiles the distillation again (a
few seconds each), so the whole set takes several minutes: the quick checks run by default
and the rest with ``-m slow``. ``test_parametrize_with_checks`` (slow) is the literal
``parametrize_with_checks`` decorator over all of them.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

from tabdistill import Distiller
from tabdistill.errors import TabdistillError

# Small settings keep the checks quick; enough outer steps for check_classifiers_train.
FAST = dict(method="wang", steps=2, epochs=2, per_class=2, models=1, outer_epochs=10,
            batch_size=32, init_lr=0.1, outer_lr=0.05)

# Checks this estimator cannot meet, and why: none.
EXPECTED_FAILED: dict[str, str] = {}

# The quick checks (at most a couple of fits); the others run with -m slow.
DEFAULT_CHECKS = {
    "check_estimator_cloneable", "check_estimator_tags_renamed", "check_valid_tag_types",
    "check_estimator_repr", "check_no_attributes_set_in_init",
    "check_estimators_fit_returns_self", "check_estimators_unfitted", "check_classifiers_train",
    "check_estimators_pickle", "check_supervised_y_no_nan", "check_fit2d_1sample",
    "check_classifiers_one_label", "check_classifiers_regression_target",
    "check_get_params_invariance",
    "check_set_params", "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_estimators_empty_data_messages", "check_complex_data", "check_fit1d",
    "check_parameters_default_constructible", "check_mixin_order",
    "check_do_not_raise_errors_in_init_or_set_params",
}


def _name(check) -> str:
    return getattr(check, "func", check).__name__


def _checks():
    for estimator, check in estimator_checks_generator(
            Distiller(**FAST), expected_failed_checks=EXPECTED_FAILED, mark="xfail"):
        name = _name(check)
        variant = bool(getattr(check, "keywords", None))  # readonly-memmap and dtype variants
        marks = [] if name in DEFAULT_CHECKS and not variant else [pytest.mark.slow]
        yield pytest.param(estimator, check, marks=marks)


@pytest.mark.parametrize("estimator, check", list(_checks()),
                         ids=lambda v: _name(v) if callable(v) else "Distiller")
def test_sklearn_check(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks([Distiller(**FAST), Distiller(steps=2, per_class=2)],
                         expected_failed_checks=lambda e: EXPECTED_FAILED)
def test_parametrize_with_checks(estimator, check):
    check(estimator)


def mixed_frame(n=160, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(["low", "high"], n)
    return pd.DataFrame({
        "income": rng.normal(50, 10, n) + (y == "high") * 25,
        "region": rng.choice(["north", "south", "east"], n),
        "owner": rng.random(n) > 0.5,
    }), pd.Series(y, name="band")


@pytest.fixture(scope="module")
def fitted():
    X, y = mixed_frame()
    X.loc[3, "income"] = np.nan
    return Distiller(**FAST, restarts=2, budget=8).fit(X, y), X, y


def test_dataframes_with_categories_are_taken_directly(fitted):
    est, X, y = fitted
    assert list(est.feature_names_in_) == ["income", "region", "owner"]
    assert est.preprocessing_["imputed_cells"] == 1
    assert est.score(X, y) > 0.8
    assert set(est.predict(X.iloc[:10])) <= {"low", "high"}


def test_fitted_attributes_expose_the_distilled_set(fitted):
    est, X, _ = fitted
    # budget 8 = 2 steps x 2 per class x 2 classes
    assert est.synthetic_X_.shape == (2 * 2 * 2, est.transformer_.transform(X).shape[1])
    assert sorted(set(est.synthetic_y_)) == ["high", "low"]
    assert est.learning_rates_.shape == (2 * 2,) and (est.learning_rates_ > 0).all()
    assert est.distilled_.x.shape[0] == 2
    frame = est.synthetic_frame_
    assert list(frame.columns) == ["income", "region", "owner", "label"]
    assert set(frame["region"]) <= {"north", "south", "east"}
    assert est.compression_ratio_ == pytest.approx(len(X) / 8)


@pytest.mark.parametrize("learner", ["mlp4", "mlp:16x2:tanh", "logreg", "knn", "rf", "hgb"])
def test_fresh_models_of_any_kind_train_on_the_distilled_set(fitted, learner):
    est, X, y = fitted
    model = est.train_model(learner, restart=1)
    assert set(model.predict(X)) <= {"low", "high"}
    summary = est.score_model(learner, X, y)
    assert summary["n"] == 2 and 0 <= summary["mean"] <= 1


def test_bad_use_is_reported(fitted):
    est, X, y = fitted
    with pytest.raises(TabdistillError, match="restart 5 does not exist"):
        est.train_model("mlp2", restart=5)
    with pytest.raises(TabdistillError, match="unknown learner 'svm'"):
        est.train_model("svm")
    with pytest.raises(TabdistillError, match="steps is 0"):
        clone(est).set_params(steps=0).fit(X, y)


@pytest.mark.slow
def test_cross_validation():
    X, y = mixed_frame(seed=1)
    assert cross_val_score(Distiller(**FAST), X, y, cv=2).mean() > 0.6


def test_auto_by_default_makes_plain_rows_and_records_its_choice():
    X, y = mixed_frame()
    est = Distiller(steps=2, per_class=2, restarts=2).fit(X, y)
    assert est.method == "auto" and est.method_ in ("kmeans", "random-balanced", "random")
    assert set(est.method_choice_["validation"]) == {"kmeans", "random-balanced", "random"}
    assert est.learning_rates_.shape == (0,) and est.synthetic_X_.shape[0] == 8
    assert est.predict_proba(X).shape == (len(X), 2) and est.score(X, y) > 0.6


def test_a_named_learner_is_the_model_behind_predict():
    from sklearn.ensemble import RandomForestClassifier

    X, y = mixed_frame()
    est = Distiller(method="kmeans", learner="rf", steps=2, per_class=2).fit(X, y)
    assert isinstance(est.model_.model, RandomForestClassifier)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])
    with pytest.raises(ValueError, match="method is 'magic'"):
        Distiller(method="magic").fit(X, y)
