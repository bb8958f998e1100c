"""The command line end to end, on a tiny distillation."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

import tabdistill
from tabdistill.cli import main
from tabdistill.cli.options import reload_dataset

TINY = ["--steps", "3", "--epochs", "2", "--outer-epochs", "1", "--restarts", "2",
        "--models", "1", "--eval-inits", "2", "--quiet"]


@pytest.fixture(scope="module")
def distilled_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "moons"
    assert main(["distill", "moons", *TINY, "--out", str(out)]) == 0
    return out


def test_distill_writes_arrays_and_manifest(distilled_dir):
    assert sorted(p.name for p in distilled_dir.iterdir()) == ["distilled.npz", "manifest.json"]
    manifest = json.loads((distilled_dir / "manifest.json").read_text())
    assert manifest["config"]["steps"] == 3 and manifest["config"]["restarts"] == 2
    assert manifest["dataset"]["name"] == "moons" and manifest["dataset"]["n_train"] == 1005
    assert len(manifest["final_outer_loss"]) == 2
    assert {"jax", "numpy", "python", "xla_flags"} <= set(manifest["versions"])
    data, _ = tabdistill.load(distilled_dir)
    assert data.x.shape == (2, 3, 8, 2) and data.lrs.shape == (2, 6)


def test_evaluate_json(distilled_dir, capsys):
    assert main(["evaluate", str(distilled_dir), "--arch", "mlp4", "--strategy", "2",
                 "--inits", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 2 and result["inits"] == 3 and result["strategy"] == "repeat"
    assert result["accuracy_std_init"] >= 0
    assert 0 <= result["ci95"][0] <= result["accuracy_mean"] <= result["ci95"][1] <= 1
    assert len(result["per_restart"]) == 2


def test_evaluate_is_reproducible(distilled_dir, capsys):
    runs = []
    for _ in range(2):
        main(["evaluate", str(distilled_dir), "--inits", "2", "--json"])
        runs.append(json.loads(capsys.readouterr().out)["accuracy_mean"])
    assert runs[0] == runs[1]


def test_first_restart_runs_a_later_slice_of_the_same_restarts(distilled_dir, tmp_path):
    out = tmp_path / "second"
    args = list(TINY)
    args[args.index("--restarts") + 1] = "1"
    assert main(["distill", "moons", *args, "--eval-inits", "0", "--first-restart", "1",
                 "--out", str(out)]) == 0
    both, _ = tabdistill.load(distilled_dir)
    second, _ = tabdistill.load(out)
    assert second.restart_ids == (1,) and both.restart_ids == (0, 1)
    np.testing.assert_array_equal(second.x[0], both.x[1])
    np.testing.assert_array_equal(second.lrs[0], both.lrs[1])


def test_help_explains_every_option():
    out = subprocess.run([sys.executable, "-m", "tabdistill.cli", "distill", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in ("--arch", "--steps", "--epochs", "--per-class", "--models", "--outer-epochs",
                   "--batch-size", "--restarts", "--seed", "--memory", "--learn-labels",
                   "--target", "--fixed-init"):
        assert option in out
    assert "default: 40" in out  # defaults are shown


def test_help_states_each_default_once():
    from tabdistill.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    for name, command in commands.items():
        text = " ".join(command.format_help().split())
        assert "(default: None)" not in text, name
    compare = " ".join(commands["compare"].format_help().split())
    assert "(default: 10 steps x 1 per class)" in compare and "(default: 0.33)" in compare


@pytest.mark.parametrize("args,message", [
    (["distill", "no-such-file.csv"], "no such dataset or file"),
    (["distill", "--arch", "resnet"], "unknown architecture"),
    (["distill", "--models", "2", "--arch", "linear,mlp2,mlp4"], "cannot cover"),
    (["evaluate", "no-such-dir"], "no distilled directory"),
    # compare has no --out; a prefix of --outer-epochs must not be read as it.
    (["compare", "moons", "--out", "x"], "unrecognized arguments: --out x"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "tabdistill.cli", *args, "--out", str(out)]
                          if args[0] == "distill" else [sys.executable, "-m", "tabdistill.cli",
                                                        *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_interrupted_save_leaves_nothing(tmp_path, distilled_dir):
    data, manifest = tabdistill.load(distilled_dir)
    target = tmp_path / "half"

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with tabdistill.io.atomic_dir(target) as tmp:
            np.save(tmp / "partial.npy", np.zeros(3))
            raise Boom
    assert not target.exists() and list(tmp_path.iterdir()) == []
    tabdistill.save(target, data, {"dataset": manifest["dataset"]})
    again, _ = tabdistill.load(target)
    np.testing.assert_array_equal(again.x, data.x)


def test_a_diverging_run_exits_3_with_one_line(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "tabdistill.cli", "distill", "moons",
                           "--outer-lr", "1e6", "--init-lr", "50", "--restarts", "2",
                           "--outer-epochs", "5", "--quiet", "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Warning" not in proc.stderr, proc.stderr
    assert "diverged in outer epoch 1/5" in lines[0] and "smaller --outer-lr" in lines[0]
    assert "accuracy" not in proc.stdout
    assert list(tmp_path.iterdir()) == []  # no output directory, no checkpoint (epoch 1)


def test_evaluating_a_degenerate_set_is_one_note(tmp_path, distilled_dir, capsys):
    data, manifest = tabdistill.load(distilled_dir)
    wild = tmp_path / "wild"  # lrs so large that every fresh net blows up
    tabdistill.save(wild, dataclasses.replace(data, lrs=np.full_like(data.lrs, 1e30)),
                    {"dataset": manifest["dataset"]})
    assert main(["evaluate", str(wild), "--inits", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert (summary["n"], summary["inits"]) == (2, 2)  # n counts restarts, inits nest in them
    assert err.startswith("note: ") and err.count("\n") == 1, err
    assert "4 of 4 fresh mlp2 models diverged" in err


@pytest.mark.parametrize("options,expected", [
    ([], {}),
    (["--gamma2", "0.9"], {"gamma2": 0.9}),
    (["--gamma3", "0.5", "--repeat-last-extra", "7", "--repeat-times", "3"],
     {"gamma3": 0.5, "extra": 7, "times": 3}),
    (["--fixed-epochs", "20", "--fixed-lr", "0.1", "--fixed-warmup", "4", "--fixed-growth",
      "1.2", "--fixed-decay", "0.9"],
     {"epochs": 20, "base_lr": 0.1, "warmup_epochs": 4, "up": 1.2, "down": 0.9}),
])
def test_evaluate_sets_every_strategy_constant(distilled_dir, monkeypatch, options, expected):
    module = sys.modules["tabdistill.evaluate"]  # the package's ``evaluate`` is the function
    seen, real = [], module.evaluate
    monkeypatch.setattr(module, "evaluate", lambda *a, **k: seen.append(k) or real(*a, **k))
    assert main(["evaluate", str(distilled_dir), "--strategy", "2", "--inits", "1", "--json",
                 *options]) == 0
    assert seen[0]["strategy"] == tabdistill.Strategy("repeat", **expected)


def test_evaluate_gamma2_gives_the_authors_schedule(distilled_dir, capsys):
    data, manifest = tabdistill.load(distilled_dir)
    dataset = reload_dataset(manifest)
    main(["evaluate", str(distilled_dir), "--strategy", "2", "--gamma2", "0.9", "--inits", "2",
          "--json"])
    got = json.loads(capsys.readouterr().out)
    want = tabdistill.evaluate(data, dataset.X_test, dataset.y_test, arch="mlp2", inits=2,
                               strategy=tabdistill.Strategy("repeat", gamma2=0.9)).summary()
    assert got["logloss_mean"] == want["logloss_mean"]
    paper = tabdistill.evaluate(data, dataset.X_test, dataset.y_test, arch="mlp2", inits=2,
                                strategy="repeat").summary()
    assert got["logloss_mean"] != paper["logloss_mean"]


def test_distill_sets_the_outer_betas(tmp_path):
    out = tmp_path / "d"
    assert main(["distill", "moons", *TINY, "--eval-inits", "0", "--beta1", "0.9",
                 "--beta2", "0.99", "--out", str(out)]) == 0
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert (config["beta1"], config["beta2"]) == (0.9, 0.99)
    assert main(["distill", "moons", *TINY, "--beta2", "1", "--out", str(out)]) == 2


def test_distill_says_when_the_set_is_not_smaller_than_the_data(tmp_path, capsys):
    base = ["distill", "iris", "--outer-epochs", "1", "--epochs", "1", "--eval-inits", "0",
            "--quiet"]
    assert main([*base, "--steps", "2", "--per-class", "20", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "note: the distilled set (120 rows) is not smaller than the 100 train rows" in out
    assert main([*base, "--steps", "2", "--per-class", "2", "--out", str(tmp_path / "b")]) == 0
    assert "not smaller" not in capsys.readouterr().out


def test_auto_with_one_candidate_says_it_took_it_unscored(tmp_path, capsys):
    out = tmp_path / "hgb"
    assert main(["distill", "wine", "--method", "auto", "--learner", "hgb", "--per-class", "10",
                 "--eval-inits", "0", "--out", str(out)]) == 0
    assert "auto took search, its one candidate for hgb at this budget" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "search"
    assert manifest["auto"] == {"method": "search", "validation": {}, "error": {}}


def test_distill_with_another_method_writes_a_set_evaluate_and_export_read(tmp_path, capsys):
    out = tmp_path / "rows"
    assert main(["distill", "wine", "--method", "auto", "--learner", "knn", "--steps", "2",
                 "--per-class", "1", "--restarts", "2", "--eval-inits", "0", "--out",
                 str(out)]) == 0
    said = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["requested_method"] == "auto" and manifest["learner"] == "knn"
    assert f"auto chose {manifest['method']}" in said
    assert set(manifest["auto"]["validation"]) == {"search", "kip", "teacher", "kmeans",
                                                  "random-balanced", "random"}
    assert set(manifest["auto"]["error"]) == set(manifest["auto"]["validation"])
    chosen = manifest["auto"]["method"]
    assert (f"{chosen} {manifest['auto']['validation'][chosen]:.4f} ± "
            f"{manifest['auto']['error'][chosen]:.4f}") in said
    assert main(["evaluate", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert "plain rows" in captured.err
    assert json.loads(captured.out)["learners"][0]["n"] == 2
    assert main(["export", str(out), "--out", str(tmp_path / "rows.csv")]) == 0
    table = (tmp_path / "rows.csv").read_text().splitlines()
    assert len(table) == 1 + 2 * 3 * 2  # header, 2 restarts x 3 classes x 2 rows
    assert "lr" not in table[0].split(",")


def test_distill_search_needs_a_learner(tmp_path, capsys):
    assert main(["distill", "wine", "--method", "search", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--learner" in err
    assert not (tmp_path / "o").exists()


def test_python_dash_m_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "tabdistill", "distill", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--method" in done.stdout
