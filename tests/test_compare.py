"""compare: full vs distilled vs random vs k-means, as a table, JSON and a plot."""

import json

import numpy as np
import pytest

from tabdistill.cli import main
from tabdistill.compare import Comparison, format_table
from tabdistill.config import DistillConfig
from tabdistill.methods import kmeans_centroids, stratified_subset
from tabdistill.sizing import fit_budget

TINY = ["--outer-epochs", "1", "--steps", "2", "--epochs", "1", "--restarts", "2", "--quiet"]


def test_baseline_sets_have_the_requested_size():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 3)), np.repeat([0, 1], [70, 30])
    Xs, ys = stratified_subset(X, y, 20, seed=0)
    assert len(ys) == 20 and np.bincount(ys).tolist() == [14, 6]
    Xk, yk = kmeans_centroids(X, y, 4, 2, seed=0)
    assert Xk.shape == (8, 3) and np.bincount(yk).tolist() == [4, 4]


@pytest.mark.parametrize("budget, steps, per_class", [(40, 10, 2), (100, 10, 5), (6, 3, 1)])
def test_budget_rule(budget, steps, per_class):
    c = fit_budget(DistillConfig(steps=10), budget, n_classes=2)
    assert (c.steps, c.per_class) == (steps, per_class)
    assert c.steps * c.per_class * 2 <= budget


def test_compare_json_table_and_plot(tmp_path, capsys):
    plot = tmp_path / "cmp.png"
    assert main(["compare", "iris", *TINY, "--budget", "12", "--learners", "mlp2,knn,hgb",
                 "--json", "--plot", str(plot)]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["rows"]
    assert len(rows) == 4 * 3
    assert {r["method"] for r in rows} == {"full", "distilled", "random", "kmeans"}
    for r in rows:
        assert {"method", "learner", "accuracy_mean", "accuracy_std", "ci95", "n_rows"} <= set(r)
        assert 0 <= r["accuracy_mean"] <= 1 and r["ci95"][0] <= r["ci95"][1]
        assert r["n_rows"] == (100 if r["method"] == "full" else 12)
        assert r["n"] == 2  # one score per restart
    assert plot.stat().st_size > 1000
    # The verdict by hand: with two restarts, every bootstrap resample's mean difference is
    # one of d1, d2 or their mean, and each of d1, d2 alone has chance 1/4 > 2.5%: the 95%
    # interval is [min, max] of the paired differences.
    for v in result["verdicts"]:
        per = {r["method"]: np.array(r["accuracy_per_restart"]) for r in rows
               if r["learner"] == v["learner"]}
        d = per["distilled"] - per["random"]
        assert v["mean"] == pytest.approx(d.mean())
        assert v["ci95"] == pytest.approx([d.min(), d.max()])
        assert v["verdict"] == ("win" if d.min() > 0 else "loss" if d.max() < 0 else "tie")
    assert [v["learner"] for v in result["verdicts"]] == ["mlp2", "knn", "hgb"]
    table = format_table(Comparison(
        dataset="iris", rows=rows, n_train=100, n_test=50, n_rows=12, restarts=2,
        imbalanced=True, config=DistillConfig(), verdicts=result["verdicts"]))
    assert "distilled" in table and "kmeans" in table and "balanced acc." in table
    lines = table.splitlines()
    assert lines[-4].startswith("verdict: distilled - random test accuracy, paired over 2")
    v = result["verdicts"][0]
    words = {"win": "distilled better", "loss": "random better", "tie": "no clear difference"}
    assert lines[-3].split() == ["mlp2", f"{v['mean']:+.3f}", "(95%", "CI",
                                 f"{v['ci95'][0]:+.3f}", "to", f"{v['ci95'][1]:+.3f}):",
                                 *words[v["verdict"]].split()]


def test_the_verdict_calls_a_difference_only_when_the_interval_excludes_zero():
    base = dict(dataset="t", rows=[], n_train=100, n_test=50, n_rows=12, restarts=5,
                imbalanced=False, config=DistillConfig())
    verdicts = [{"learner": "rf", "mean": 0.04, "ci95": [0.01, 0.07], "n": 5, "verdict": "win"},
                {"learner": "knn", "mean": 0.01, "ci95": [-0.02, 0.03], "n": 5,
                 "verdict": "tie"}]
    lines = format_table(Comparison(**base, verdicts=verdicts)).splitlines()
    assert lines[-2].split()[-2:] == ["distilled", "better"]
    assert lines[-1].split()[-3:] == ["no", "clear", "difference"]
    assert "+0.040 (95% CI +0.010 to +0.070)" in lines[-2]


def test_compare_refuses_a_set_as_big_as_the_data(capsys):
    assert main(["compare", "iris", *TINY, "--budget", "300"]) == 2
    assert "not smaller than the 100 train rows" in capsys.readouterr().err
