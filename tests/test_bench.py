"""bench: the grid, its cache and resume, the summary's statistics recomputed by hand, errors."""

import dataclasses
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from tabdistill.bench import grid as grid_module
from tabdistill.bench import load_suite
from tabdistill.cli import main
from tabdistill.errors import TabdistillError
from tabdistill.methods import METHODS as METHODS_BY_NAME

METHODS = "full,random,random-balanced,kmeans,wang"
LEARNERS = "logreg,knn,nb,xgb,mlp2"


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A small 3-class CSV with a rare class (4 rows, 3 of them train rows) and a categorical
    column."""
    X, y = make_classification(n_samples=180, n_features=5, n_informative=3, n_classes=3,
                               weights=[0.6, 0.37, 0.03], flip_y=0, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    frame["colour"] = np.where(X[:, 0] > 0, "red", "blue")
    frame["label"] = np.array(["a", "b", "c"])[y]
    path = tmp_path_factory.mktemp("data") / "small.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def bench_run(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "out"
    assert main(["bench", *_args(table), "--out", str(out), "--quiet"]) == 0
    return out


def _args(table):
    return [str(table), "iris", "--target", "label", "--rows-per-class", "2,5,60",
            "--methods", METHODS, "--learners", LEARNERS, "--restarts", "2"]


def test_results_has_one_row_per_trained_model(bench_run):
    results = pd.read_csv(bench_run / "results.csv")
    assert list(results.columns) == list(grid_module.COLUMNS)
    # small.csv: 120 train rows, 3 classes -> 60 per class is 180 rows: skipped. iris: 100 train
    # rows -> 60 x 3 skipped too. So 2 tables x 2 budgets x 5 methods x 5 learners x 2 restarts.
    assert len(results) == 2 * 2 * 5 * 5 * 2
    assert set(results.rows_per_class) == {2, 5}
    assert results.balanced_accuracy.between(0, 1).all()
    sizes = results.drop_duplicates(["dataset", "rows_per_class", "method"]).set_index(
        ["dataset", "rows_per_class", "method"])["n_rows"]
    assert sizes[("iris", 5, "kmeans")] == 15
    assert sizes[("iris", 5, "wang")] == 15
    assert sizes[("iris", 5, "full")] == 100
    # The rare class of small.csv has 3 train rows: kept whole at 5 rows per class.
    assert sizes[("small", 5, "random-balanced")] == 5 + 5 + 3
    assert sizes[("small", 5, "random")] == 15


def test_notes_name_skipped_budgets_and_small_classes(bench_run):
    summary = json.loads((bench_run / "summary.json").read_text())
    notes = " ".join(summary["notes"])
    assert "small: 60 rows per class x 3 classes is not fewer than its 120 train rows" in notes
    assert "small at 5 rows per class: classes with fewer train rows (c (3))" in notes


def _hand_ranks(results):
    """Mean rank per (budget, learner, method), from plain loops over the CSV rows."""
    acc = {}
    for r in results.itertuples():
        acc.setdefault((r.dataset, r.rows_per_class, r.learner, r.method), []).append(
            r.balanced_accuracy)
    mean = {k: sum(v) / len(v) for k, v in acc.items()}
    ranks = {}
    for (dataset, rpc, learner, method), value in mean.items():
        if method == "full":
            continue
        others = [v for (d, b, lr, m), v in mean.items()
                  if (d, b, lr) == (dataset, rpc, learner) and m != "full"]
        better = sum(v > value for v in others)
        equal = sum(v == value for v in others)  # itself included
        ranks.setdefault((rpc, learner, method), []).append(better + (equal + 1) / 2)
    return {k: sum(v) / len(v) for k, v in ranks.items()}, mean


def test_summary_ranks_and_regrets_match_a_hand_computation(bench_run):
    results = pd.read_csv(bench_run / "results.csv")
    summary = json.loads((bench_run / "summary.json").read_text())
    ranks, mean = _hand_ranks(results)
    got = {(r["rows_per_class"], r["learner"], r["method"]): r["mean_rank"]
           for r in summary["mean_rank"]}
    assert got.keys() == ranks.keys()
    for key, value in ranks.items():
        assert got[key] == pytest.approx(value)

    regrets = {}
    for (dataset, rpc, learner, method), value in mean.items():
        full, rnd = mean[(dataset, rpc, learner, "full")], mean[(dataset, rpc, learner, "random")]
        if method != "full" and full - rnd >= 0.01:
            regrets.setdefault((rpc, learner, method), []).append((full - value) / (full - rnd))
    got = {(r["rows_per_class"], r["learner"], r["method"]): r for r in summary["relative_regret"]}
    assert got.keys() == regrets.keys()
    for key, values in regrets.items():
        assert got[key]["mean_regret"] == pytest.approx(sum(values) / len(values))
        assert got[key]["tables"] == len(values)


def test_paired_comparison_against_the_better_coreset(bench_run):
    results = pd.read_csv(bench_run / "results.csv")
    summary = json.loads((bench_run / "summary.json").read_text())
    _, mean = _hand_ranks(results)
    pairs = summary["pairs"]
    assert len(pairs) == 2 * 2 * 5  # tables x budgets x learners, for wang
    for p in pairs:
        key = (p["dataset"], p["rows_per_class"], p["learner"])
        best = max(("random", "kmeans"), key=lambda m: mean[(*key[:2], key[2], m)])
        assert p["best_coreset"] == best
        ours = results[(results.dataset == key[0]) & (results.rows_per_class == key[1])
                       & (results.learner == key[2])].set_index(["method", "restart"])
        diff = (ours.loc["wang"].balanced_accuracy - ours.loc[best].balanced_accuracy).mean()
        assert p["difference"] == pytest.approx(diff)
        assert p["ci95"][0] <= p["difference"] <= p["ci95"][1]
        expected = ("win" if p["ci95"][0] > 0.005 else
                    "loss" if p["ci95"][1] < -0.005 else "tie")
        assert p["verdict"] == expected
    tallies = {(t["rows_per_class"], t["learner"]): t for t in summary["against_coresets"]}
    for (rpc, learner), t in tallies.items():
        mine = [p for p in pairs if (p["rows_per_class"], p["learner"]) == (rpc, learner)]
        assert t["wins"] + t["ties"] + t["losses"] == t["tables"] == len(mine)
        assert t["at_least"] == sum(p["difference"] >= 0 for p in mine)


def test_near_chance_names_the_cells_where_no_method_beats_guessing(bench_run, table):
    from tabdistill.bench.summary import near_chance
    from tabdistill.stats import chance_bound

    rows = [{"dataset": t, "rows_per_class": 5, "learner": lr, "method": m, "restart": r,
             "balanced_accuracy": score + 0.01 * r}
            for t, lr, m, score in [
                ("noise", "knn", "full", 0.33), ("noise", "knn", "kmeans", 0.36),
                ("noise", "rf", "full", 0.33), ("noise", "rf", "kmeans", 0.45),
                ("clear", "knn", "full", 0.30), ("clear", "knn", "kmeans", 0.9)]
            for r in (0, 1)]
    found = near_chance(pd.DataFrame(rows), {"noise": 0.40, "clear": 0.40})
    # noise/knn: best mean 0.365 <= 0.40; noise/rf: kmeans 0.455 beats it; clear: kmeans does.
    assert found == [{"rows_per_class": 5, "learner": "knn", "tables": ["noise"]}]
    summary = json.loads((bench_run / "summary.json").read_text())
    labels = pd.read_csv(table)["label"]
    assert set(summary["chance_bounds"]) == {"small", "iris"}
    assert 1 / 3 < summary["chance_bounds"]["iris"] < 0.6
    assert summary["chance_bounds"]["small"] > chance_bound(labels.to_numpy())  # test part only
    assert summary["near_chance"] == []  # both tables are learnt


def test_summary_pages_say_what_they_show(bench_run):
    md = (bench_run / "summary.md").read_text()
    assert "## Verdict" in md and "Mean rank across tables" in md
    assert "tabdistill bench" not in md or "--rows-per-class" in md
    page = (bench_run / "summary.html").read_text()
    assert page.count("data:image/png;base64,") == len(LEARNERS.split(",")) + 1
    assert 'src="figures' not in page  # self-contained
    assert sorted(p.name for p in (bench_run / "figures").iterdir()) == sorted(
        [f"accuracy_{lr}.png" for lr in LEARNERS.split(",")] + ["ranks.png"])


def test_rerun_reuses_every_cell_and_recomputes_only_missing_ones(bench_run, table,
                                                                   monkeypatch):
    before = pd.read_csv(bench_run / "results.csv")
    calls = []
    real = grid_module.run_task

    def counting(task):
        calls.append((task.table.name, task.rows_per_class, task.method, task.restarts))
        return real(task)

    monkeypatch.setattr("tabdistill.bench.run_task", counting)
    args = ["bench", *_args(table), "--out", str(bench_run), "--quiet"]
    assert main(args) == 0
    assert calls == []
    victims = sorted((bench_run / "cells" / "iris" / "kmeans").glob("5-r1-*.json"))
    assert len(victims) == 1
    victims[0].unlink()
    (next((bench_run / "cells" / "small" / "random").glob("2-r0-*.json"))).write_text("{junk")
    assert main(args) == 0
    assert sorted(calls) == [("iris", 5, "kmeans", (1,)), ("small", 2, "random", (0,))]
    summary = json.loads((bench_run / "summary.json").read_text())
    assert summary["cells_computed"] == 2
    runs = json.loads((bench_run / "runs.json").read_text())
    assert [r["cells_computed"] for r in runs] == [36, 0, 2]
    assert summary["runs_computing"] == 2
    assert (summary["cells_computed_here"], summary["cells_total"]) == (38, 36)
    assert "holds 36 cells; 2 invocation(s) writing to it computed 38 in" in (
        bench_run / "summary.md").read_text()
    # Cells copied into a new output directory are said to be copied, not computed there.
    import shutil
    shutil.copytree(bench_run / "cells", bench_run.parent / "copy" / "cells")
    assert main([*args[:-3], "--out", str(bench_run.parent / "copy"), "--quiet"]) == 0
    text = (bench_run.parent / "copy" / "summary.md").read_text()
    assert "holds 36 cells; none was computed by an invocation writing to it; the others" in text
    computing = runs[0]["seconds"] + runs[2]["seconds"]
    assert summary["wall_seconds_computing"] == pytest.approx(computing, abs=0.11)
    after = pd.read_csv(bench_run / "results.csv")
    exact = ["dataset", "rows_per_class", "method", "learner", "restart", "accuracy",
             "balanced_accuracy", "n_rows"]
    pd.testing.assert_frame_equal(before[exact], after[exact])
    # A method whose sets change (a new version) is recomputed; the others are kept.
    calls.clear()
    monkeypatch.setitem(METHODS_BY_NAME, "kmeans",
                        dataclasses.replace(METHODS_BY_NAME["kmeans"], version=2))
    assert main(args) == 0
    assert sorted(calls) == [(t, b, "kmeans", (r,)) for t in ("iris", "small") for b in (2, 5)
                             for r in (0, 1)]


def test_workers_give_the_same_numbers_as_one_process(table, tmp_path):
    args = [str(table), "--target", "label", "--rows-per-class", "3", "--methods",
            "random,wang", "--learners", "logreg,mlp2", "--restarts", "2", "--quiet"]
    assert main(["bench", *args, "--out", str(tmp_path / "one")]) == 0
    assert main(["bench", *args, "--out", str(tmp_path / "two"), "--workers", "2"]) == 0
    cols = ["dataset", "rows_per_class", "method", "learner", "restart", "balanced_accuracy"]
    one = pd.read_csv(tmp_path / "one" / "results.csv")[cols]
    two = pd.read_csv(tmp_path / "two" / "results.csv")[cols]
    pd.testing.assert_frame_equal(one, two)


def test_killed_run_resumes_and_loses_at_most_the_cells_in_flight(tmp_path):
    """A real process killed with SIGKILL mid-grid; the rerun computes only what is missing."""
    out = tmp_path / "out"
    args = [sys.executable, "-m", "tabdistill.cli", "bench", "iris", "--rows-per-class", "2,4",
            "--methods", "kmeans,wang", "--learners", "logreg", "--restarts", "2",
            "--out", str(out), "--quiet"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "runs.json").exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(list(out.glob("cells/*/*/*.json")))
    assert 1 <= before < 8  # wang runs first: its two restarts finish together
    killed = json.loads((out / "runs.json").read_text())  # its time is recorded as it goes
    assert len(killed) == 1 and 1 <= killed[0]["cells_computed"] <= before
    done = subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["cells_reused"] == before
    assert summary["cells_reused"] + summary["cells_computed"] == 8
    runs = json.loads((out / "runs.json").read_text())
    assert [r["cells_computed"] for r in runs] == [killed[0]["cells_computed"], 8 - before]


def test_suite_file_globs_defaults_and_names(tmp_path, table):
    (tmp_path / "data").mkdir()
    for name in ("a", "b"):
        (tmp_path / "data" / f"{name}.csv").write_text(table.read_text())
    suite = tmp_path / "suite.toml"
    suite.write_text('[defaults]\ntarget = "label"\n\n[[table]]\nsource = "data/*.csv"\n\n'
                     '[[table]]\nsource = "wine"\nname = "vino"\ntarget = "target"\n')
    tables = load_suite(suite)
    assert [t.name for t in tables] == ["a", "b", "vino"]
    assert dict(tables[0].options) == {"target": "label"}
    assert tables[0].source == str((tmp_path / "data" / "a.csv").resolve())
    assert tables[2].source == "wine" and dict(tables[2].options) == {"target": "target"}


@pytest.mark.parametrize("text, expected", [
    ("[[table]]\nname = 'x'\n", "has no source"),
    ("[[table]]\nsource = 'nowhere/*.csv'\n", "nothing matches"),
    ("[[table]\n", "is not valid TOML"),
    ("[defaults]\ntarget = 'label'\n", "lists no tables"),
    ("[[table]]\nsource = 'iris'\ncolour = 1\n", "unknown table option 'colour'"),
])
def test_bad_suites_are_one_line(tmp_path, text, expected):
    suite = tmp_path / "suite.toml"
    suite.write_text(text)
    with pytest.raises(TabdistillError, match=expected):
        load_suite(suite)


@pytest.mark.parametrize("args, expected", [
    (["iris", "--methods", "full,magic"], "unknown method 'magic'"),
    (["iris", "--learners", "logreg,svm"], "unknown learner 'svm'"),
    (["no/such.csv"], "no such dataset or file"),
    ([], "no tables given"),
    (["iris", "--suite", "no/such.toml"], "cannot read the suite"),
    (["iris", "iris"], None),  # the same table twice is one table
    (["iris", "--out", "/proc/bench"], "cannot write to /proc/bench"),
])
def test_bad_options_fail_fast_with_one_line(args, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(grid_module, "run_task", lambda task: pytest.fail("work started"))
    monkeypatch.setattr("tabdistill.bench.run_task", lambda task: pytest.fail("work started"))
    if expected is None:
        args = [*args, "--methods", "full", "--learners", "knn", "--rows-per-class", "2",
                "--restarts", "1", "--out", str(tmp_path / "o"), "--quiet"]
        monkeypatch.undo()
        assert main(["bench", *args]) == 0
        return
    out = [] if "--out" in args else ["--out", str(tmp_path / "o")]
    assert main(["bench", *args, *out, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err
    assert "Traceback" not in err


def test_sigterm_stops_workers_at_once_and_the_rerun_goes_on(tmp_path):
    """SIGTERM to the parent of a --workers run stops the tasks in flight, not only new ones."""
    out = tmp_path / "out"
    # Two tasks, one per worker: iris's distillation ends long before digits's (12x the rows).
    args = [sys.executable, "-m", "tabdistill.cli", "bench", "iris", "digits", "--rows-per-class",
            "2", "--methods", "wang", "--learners", "logreg", "--restarts", "2", "--workers", "2",
            "--out", str(out), "--quiet"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("cells/iris/*/*.json"))) < 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert len(list(out.glob("cells/iris/*/*.json"))) == 2
    assert not list(out.glob("cells/digits/*/*.json"))  # stopped, not left to finish
    done = subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["cells_reused"], summary["cells_computed"]) == (2, 2)


def test_auto_cells_record_their_choice(tmp_path):
    out = tmp_path / "out"
    assert main(["bench", "wine", "--rows-per-class", "2", "--methods", "random,kmeans,auto",
                 "--learners", "knn,logreg", "--restarts", "2", "--out", str(out),
                 "--quiet"]) == 0
    results = pd.read_csv(out / "results.csv")
    auto = results[results.method == "auto"]
    chosen = auto.chosen.isin(["search", "kip", "kmeans", "random-balanced", "random"])
    assert len(auto) == 2 * 2 and chosen.all()
    assert results[results.method != "auto"].chosen.isna().all()
    cell = json.loads(next((out / "cells" / "wine" / "auto").glob("2-r0-*.json")).read_text())
    for learner, scores in cell["learners"].items():
        top = max(scores["validation"].values())
        assert scores["validation"][scores["chosen"]] >= top - 0.5 / np.sqrt(30), learner
    summary = json.loads((out / "summary.json").read_text())
    counted = {(c["learner"], c["chosen"]): c["count"] for c in summary["auto_choices"]}
    assert counted == auto.groupby(["learner", "chosen"]).size().to_dict()
    assert "What `auto` chose" in (out / "summary.md").read_text()


def test_cell_keys_name_the_small_set_rules_only_where_they_change_a_learner():
    def key(rows_per_class, n_classes, learners=("knn", "hgb", "xgb", "rf")):
        return grid_module.small_set_key(rows_per_class, n_classes, learners)

    # knn: fewer than 5 rows per class; hgb: where a leaf of the old rule is more than one
    # class's rows (one row per class, or many classes); xgb: fewer than 10 rows per class.
    assert key(None, 2) == {} and key(10, 2) == {} and key(50, 40) == {}
    assert key(1, 2) == {"knn_rule": 2, "hgb_rule": 2, "xgb_rule": 2}
    assert key(3, 2) == {"knn_rule": 2, "xgb_rule": 2}
    assert key(5, 2) == {"xgb_rule": 2}
    assert key(12, 30) == {"hgb_rule": 2}  # 360 rows: leaves of 18 rows, more than 12 per class
    # Only the learners a cell trains count.
    assert key(1, 2, ("rf", "logreg")) == {} and key(1, 2, ("knn",)) == {"knn_rule": 2}
