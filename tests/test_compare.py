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
    table = format_table(Comparison(
        dataset="iris", rows=rows, n_train=100, n_test=50, n_rows=12, restarts=2,
        imbalanced=True, config=DistillConfig()))
    assert "distilled" in table and "kmeans" in table and "balanced acc." in table
    assert table.splitlines()[-1].startswith("verdict (mean accuracy): mlp2: distilled")


def test_compare_refuses_a_set_as_big_as_the_data(capsys):
    assert main(["compare", "iris", *TINY, "--budget", "300"]) == 2
    assert "not smaller than the 100 train rows" in capsys.readouterr().err
