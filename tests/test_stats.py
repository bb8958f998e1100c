"""The package's one bootstrap: the two-level interval for inits nested in restarts, the flat
one for independent values, the paired difference and the one format."""

import warnings

import numpy as np
import pytest

from tabdistill.stats import (
    balanced_accuracy,
    balanced_accuracy_difference_se,
    band,
    chance_bound,
    format_estimate,
    format_summary,
    interval,
    paired_difference,
    resampled_means,
    summarize,
)


def nested_sample(rng, restarts=10, inits=10, between=0.1, within=0.005):
    """Restarts far apart, inits of one restart close together (true mean 0)."""
    return (rng.normal(0, between, (restarts, 1))
            + rng.normal(0, within, (restarts, inits)))


def test_two_level_interval_is_wider_when_restarts_differ():
    values = nested_sample(np.random.default_rng(0))
    nested, flat = summarize(values), summarize(values.ravel())
    width = lambda s: s["ci95"][1] - s["ci95"][0]  # noqa: E731
    assert width(nested) > 2.5 * width(flat)  # about sqrt(10): 10 units, not 100
    assert nested["mean"] == pytest.approx(flat["mean"])
    assert nested["n"] == 10 and nested["inits"] == 10 and flat["n"] == 100
    # std over restarts (of per-restart means) and the spread of inits beside it
    assert nested["std"] == pytest.approx(values.mean(1).std(ddof=1))
    assert nested["std_init"] == pytest.approx(np.sqrt(values.var(1, ddof=1).mean()))
    assert nested["std_init"] < 0.01 < nested["std"]


def test_hand_computed_tiny_case():
    # Two restarts whose inits agree: a resample's mean is 0, 1/2 or 1 with chances 1/4, 1/2,
    # 1/4, so the 2.5% and 97.5% points are 0 and 1. The flat bootstrap over the six values
    # as if independent puts 1/64 on each end and gives a narrower interval.
    values = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    assert interval(values, nested=True) == (0.0, 1.0)
    low, high = interval(values.ravel(), nested=False)
    assert 0 < low < 0.5 < high < 1
    means = resampled_means(values, nested=True, resamples=20000, seed=1)
    assert set(np.unique(means.round(12))) == {0.0, 0.5, 1.0}
    assert np.mean(np.isclose(means, 0.5)) == pytest.approx(0.5, abs=0.02)


def test_resampled_means_have_the_two_level_variance():
    # Var of a two-level resample's mean = s_b^2 / R + s_w^2 / (R K), with s_b^2 the
    # (population) variance of the restart means and s_w^2 the mean within-restart variance.
    rng = np.random.default_rng(3)
    values = nested_sample(rng, restarts=4, inits=3, between=1.0, within=0.5)
    r, k = values.shape
    expected = values.mean(1).var() / r + values.var(1).mean() / (r * k)
    means = resampled_means(values, nested=True, resamples=40000, seed=0)
    assert means.mean() == pytest.approx(values.mean(), abs=0.01)
    assert means.var() == pytest.approx(expected, rel=0.04)
    flat = resampled_means(values.ravel(), nested=False, resamples=40000, seed=0)
    assert flat.var() == pytest.approx(values.var() / values.size, rel=0.04)


def test_two_level_interval_covers_the_true_mean():
    rng = np.random.default_rng(7)
    hits_nested = hits_flat = 0
    trials = 200
    for t in range(trials):
        values = nested_sample(rng)
        low, high = interval(values, nested=True, resamples=500, seed=t)
        hits_nested += low <= 0 <= high
        low, high = interval(values.ravel(), nested=False, resamples=500, seed=t)
        hits_flat += low <= 0 <= high
    # The percentile bootstrap over 10 restarts covers a little under 95%; the flat one,
    # blind to the shared restart, covers far less.
    assert 0.84 <= hits_nested / trials <= 0.99
    assert hits_flat / trials < 0.5


def test_deterministic_given_a_seed():
    values = nested_sample(np.random.default_rng(1))
    assert summarize(values, seed=4) == summarize(values, seed=4)
    assert summarize(values, seed=4)["ci95"] != summarize(values, seed=5)["ci95"]


@pytest.mark.parametrize("values", [np.full(5, 0.9), np.full((3, 4), 0.9), np.full((1, 4), 0.9),
                                    np.full((4, 1), 0.9), [0.9], [[0.9]]])
def test_constant_or_degenerate_input_is_a_point_without_warnings(values):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = summarize(values)
        b = band(np.stack([np.asarray(values, float)] * 3, axis=-1),
                 nested=np.ndim(values) == 2)
    assert s["mean"] == s["ci95"][0] == s["ci95"][1] == pytest.approx(0.9)
    assert s["std"] == 0.0
    np.testing.assert_array_equal(b["low"], b["high"])


def test_band_resamples_whole_curves():
    rng = np.random.default_rng(2)
    curves = nested_sample(rng)[..., None] + np.linspace(0, 1, 5)  # [R, K, C]
    b = band(curves, nested=True)
    np.testing.assert_allclose(b["mean"], curves.mean((0, 1)))
    for c in range(5):  # each point's band is that point's two-level interval
        low, high = interval(curves[..., c], nested=True)
        assert b["low"][c] == pytest.approx(low) and b["high"][c] == pytest.approx(high)


def test_paired_difference_verdicts():
    rng = np.random.default_rng(5)
    base = rng.normal(0.8, 0.05, 10)
    better = base + 0.02 + rng.normal(0, 0.002, 10)
    assert paired_difference(better, base)["verdict"] == "win"
    assert paired_difference(base, better)["verdict"] == "loss"
    assert paired_difference(better, base, tolerance=0.05)["verdict"] == "tie"
    d = paired_difference(better, base)
    assert d["mean"] == pytest.approx(np.mean(better - base))
    assert d["ci95"][0] < d["mean"] < d["ci95"][1] and d["n"] == 10
    same = paired_difference(base, base)
    assert same == {"mean": 0.0, "ci95": [0.0, 0.0], "n": 10, "verdict": "tie"}
    with pytest.raises(ValueError, match="shapes"):
        paired_difference(base, base[:3])


def test_one_pair_has_no_interval_and_no_call():
    d = paired_difference([0.9], [0.7])  # far apart, but one pair says nothing of its spread
    assert d == {"mean": pytest.approx(0.2), "ci95": None, "n": 1, "verdict": "tie"}


def test_one_format():
    assert format_estimate(0.87123, 0.0123) == "0.871 ± 0.012"
    assert (format_estimate(0.87123, 0.0123, (0.86, 0.88), digits=4)
            == "0.8712 ± 0.0123 (95% CI 0.8600-0.8800)")
    assert (format_estimate(0.87123, 0.0123, (0.86, 0.88), std_init=0.02)
            == "0.871 ± 0.012 (inits ± 0.020; 95% CI 0.860-0.880)")
    assert format_estimate(0.01, 0.02, (-0.01, 0.03)) == "0.010 ± 0.020 (95% CI -0.010 to 0.030)"
    s = summarize(np.array([[0.8, 0.9], [0.7, 0.8]]))
    assert format_summary(s, ci=False) == "0.800 ± 0.071 (inits ± 0.071)"


def test_balanced_accuracy_from_hits_matches_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    pred = np.where(rng.random(200) < 0.7, y, rng.integers(0, 3, 200))
    assert balanced_accuracy(y, pred == y) == pytest.approx(balanced_accuracy_score(y, pred))
    two = np.stack([pred == y, np.ones(200)])  # two learners: the mean of their scores
    assert balanced_accuracy(y, two) == pytest.approx(
        (balanced_accuracy_score(y, pred) + 1) / 2)


def test_paired_error_of_balanced_accuracy_matches_the_spread_over_draws():
    # Two correlated models on unbalanced classes: the estimated error must match the standard
    # deviation of the difference over many independent draws of the rows.
    rng = np.random.default_rng(1)
    sizes, diffs, ses = (30, 120, 60), [], []
    for _ in range(3000):
        y = np.repeat(np.arange(3), sizes)
        a = rng.random(len(y)) < np.repeat([0.6, 0.8, 0.7], sizes)
        b = np.where(rng.random(len(y)) < 0.8, a, rng.random(len(y)) < 0.5)
        diffs.append(balanced_accuracy(y, a) - balanced_accuracy(y, b))
        ses.append(balanced_accuracy_difference_se(y, a, b))
    assert np.mean(ses) == pytest.approx(np.std(diffs), rel=0.05)


def test_blind_guesses_stay_below_the_chance_bound_95_times_in_100():
    # Uniform random guesses of 3 classes on unbalanced rows: their balanced accuracy exceeds
    # the bound in about 5% of draws (normal approximation of a mean of binomial shares).
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), (150, 40, 20))
    bound = chance_bound(y)
    scores = [balanced_accuracy(y, rng.integers(0, 3, len(y)) == y) for _ in range(4000)]
    assert 1 / 3 < bound < 1 / 3 + 0.2
    assert np.mean(np.array(scores) <= bound) == pytest.approx(0.95, abs=0.015)
