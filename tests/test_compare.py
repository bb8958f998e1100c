"""compare: full vs distilled vs random vs k-means, as a table, JSON and a plot."""

import json

import numpy as np
import pytest

from tabdistill.cli import main
from tabdistill.compare import Comparison, format_table
from tabdistill.config import DistillConfig
from tabdistill.methods import AUTO_CANDIDATES, AUTO_MARGIN, kmeans_centroids, stratified_subset
from tabdistill.sizing import fit_budget

TINY = ["--outer-epochs", "1", "--steps", "2", "--epochs", "1", "--restarts", "2", "--quiet"]


def test_baseline_sets_have_the_requested_size():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 3)), np.repeat([0, 1], [70, 30])
    Xs, ys = stratified_subset(X, y, 20, seed=0)
    assert len(ys) == 20 and np.bincount(ys).tolist() == [14, 6]
    # Class counts follow the proportions whatever the seed: 7.7 and 3.3 rows give 7 and 3,
    # and the row left over goes to the larger remainder.
    for seed in range(5):
        assert np.bincount(stratified_subset(X, y, 11, seed=seed)[1]).tolist() == [8, 3]
    Xk, yk = kmeans_centroids(X, y, 4, 2, seed=0)
    assert Xk.shape == (8, 3) and np.bincount(yk).tolist() == [4, 4]


@pytest.mark.parametrize("budget, steps, per_class", [(40, 10, 2), (100, 10, 5), (6, 3, 1)])
def test_budget_rule(budget, steps, per_class):
    c = fit_budget(DistillConfig(steps=10), budget, n_classes=2)
    assert (c.steps, c.per_class) == (steps, per_class)
    assert c.steps * c.per_class * 2 <= budget


def test_compare_json_table_and_plot(tmp_path, capsys):
    plot = tmp_path / "cmp.png"
    assert main(["compare", "iris", *TINY, "--method", "wang", "--budget", "12",
                 "--learners", "mlp2,knn,hgb", "--json", "--plot", str(plot)]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["rows"]
    assert len(rows) == 4 * 3
    assert {r["method"] for r in rows} == {"full", "distilled", "random", "kmeans"}
    for r in rows:
        assert {"method", "learner", "accuracy_mean", "accuracy_std", "ci95", "n_rows"} <= set(r)
        assert 0 <= r["accuracy_mean"] <= 1 and r["ci95"][0] <= r["ci95"][1]
        assert r["n_rows"] == (100 if r["method"] == "full" else 12)
        assert r["n"] == (1 if r["method"] == "full" else 2)  # a score per restart; one model
    assert plot.stat().st_size > 1000
    table = format_table(Comparison(
        dataset="iris", rows=rows, n_train=100, n_test=50, n_rows=12, restarts=2,
        imbalanced=True, config=DistillConfig()))
    assert "distilled" in table and "kmeans" in table and "balanced acc." in table
    assert sum("(one model)" in line for line in table.splitlines()) == 3  # full, per learner
    assert {r["distill_method"] for r in rows if r["method"] == "distilled"} == {"wang"}
    verdict_lines = table.splitlines()[-3:]
    assert [line.split()[:2] for line in verdict_lines] == [
        ["mlp2", "wang"], ["knn", "wang"], ["hgb", "wang"]]
    # One restart: every row is one model, and no verdict claims an interval.
    one = [{**r, "n": 1, "balanced_per_restart": r["balanced_per_restart"][:1]} for r in rows]
    table = format_table(Comparison(
        dataset="iris", rows=one, n_train=100, n_test=50, n_rows=12, restarts=1,
        imbalanced=True, config=DistillConfig()))
    body = table.splitlines()[3:3 + len(one)]
    assert all(line.count("(one model)") == 2 and "±" not in line for line in body)
    assert all(line.endswith("(one restart: no interval, too uncertain to call): tie")
               for line in table.splitlines()[-3:])


def test_auto_records_its_choice_and_the_verdict_is_the_paired_difference(capsys):
    assert main(["compare", "wine", "--restarts", "3", "--per-class", "1", "--steps", "3",
                 "--learners", "logreg,knn", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "auto"
    rows = {(r["learner"], r["method"]): r for r in result["rows"]}
    for learner in ("logreg", "knn"):
        distilled = rows[(learner, "distilled")]
        assert distilled["distill_method"] in AUTO_CANDIDATES
        assert set(distilled["validation"]) == set(AUTO_CANDIDATES)
        scores, errors = distilled["validation"], distilled["validation_error"]
        assert set(errors) == set(AUTO_CANDIDATES)
        chosen = distilled["distill_method"]
        top = max(scores.values())
        assert chosen == next(m for m in AUTO_CANDIDATES
                              if scores[m] >= top - max(AUTO_MARGIN, errors[m]))
        assert distilled["n_rows"] == 9  # 3 rows for each of wine's 3 classes
    for v in result["verdicts"]:
        best = max(("random", "kmeans"),
                   key=lambda m: np.mean(rows[(v["learner"], m)]["balanced_per_restart"]))
        diff = (np.array(rows[(v["learner"], "distilled")]["balanced_per_restart"])
                - rows[(v["learner"], best)]["balanced_per_restart"])
        assert v["against"] == best and v["mean"] == pytest.approx(diff.mean())
        assert v["ci95"][0] <= v["mean"] <= v["ci95"][1]
        expected = ("win" if v["ci95"][0] > 0.005 else "loss" if v["ci95"][1] < -0.005
                    else "tie")
        assert v["verdict"] == expected
    assert result["near_chance"] == []  # wine's classes are learnt: no note


def test_compare_says_where_no_set_beats_blind_guesses(tmp_path, capsys):
    # A label drawn independently of the features: nothing to learn, for any set.
    rng = np.random.default_rng(0)
    table = tmp_path / "noise.csv"
    X = rng.normal(size=(600, 3))
    with table.open("w") as f:
        f.write("a,b,c,label\n")
        for row, label in zip(X, rng.choice(["x", "y", "z"], 600), strict=True):
            f.write(",".join(f"{v:.4f}" for v in row) + f",{label}\n")
    args = ["compare", str(table), "--target", "label", "--restarts", "2", "--per-class", "1",
            "--steps", "3", "--learners", "logreg", "--quiet"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    best = max(r["balanced_accuracy_mean"] for r in result["rows"])
    assert best <= result["chance_bound"] and result["near_chance"] == ["logreg"]
    assert main(args) == 0
    note = capsys.readouterr().out.splitlines()[-1]
    assert note.startswith("note: logreg: no set") and f"{result['chance_bound']:.3f}" in note


def test_compare_refuses_a_set_as_big_as_the_data(capsys):
    assert main(["compare", "iris", *TINY, "--method", "wang", "--budget", "300"]) == 2
    assert "not smaller than the 100 train rows" in capsys.readouterr().err


def test_compare_over_two_processes_gives_the_serial_numbers():
    from tabdistill.compare import compare
    from tabdistill.data import load_dataset
    from tabdistill.executor import ProcessExecutor, SerialExecutor
    from tabdistill.sizing import default_config

    wine = load_dataset("wine")
    config = default_config(wine, steps=2, epochs=1, outer_epochs=1)
    runs = [compare(wine, config, learners=("logreg", "knn"), restarts=2, seed=3,
                    method="auto", executor=executor)
            for executor in (SerialExecutor(), ProcessExecutor(2))]
    assert runs[0].rows == runs[1].rows
    full = {r["learner"]: r["balanced_per_restart"] for r in runs[0].rows if r["method"] == "full"}
    assert len(full["logreg"]) == 1 and len(full["knn"]) == 1  # the reference: one model
