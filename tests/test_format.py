"""Opening a distilled directory, a resume checkpoint or a reproduce cache entry never runs code
from it: a pickle whose loading would create a file, put in place of any of their files,
creates nothing; the command exits 0 where the file is not needed and 2 (one line naming the
file, no traceback) where it is. An old directory (``preprocess.pkl``) is refused with the way
to re-create it, and ``tabdistill upgrade --trust-pickle`` converts one the user vouches for.
"""

import io
import json
import pathlib
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

from tabdistill.cli import main
from tabdistill.reproduce import experiments

TINY = ["--steps", "2", "--epochs", "1", "--per-class", "1", "--models", "1",
        "--outer-epochs", "1", "--restarts", "1", "--eval-inits", "0", "--quiet"]


class Poison:
    """Unpickling this creates ``marker``: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def poison(path: pathlib.Path, marker: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(Poison(marker)))


def run(args, capsys):
    rc = main(args)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def table(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "color": rng.choice(["red", "green", "blue"], n),
        "label": rng.choice(["yes", "no"], n),
    })


def test_the_poison_is_live(tmp_path):
    """Without this, every test below could pass for the wrong reason."""
    marker = tmp_path / "ran"
    poison(tmp_path / "p.pkl", marker)
    pickle.loads((tmp_path / "p.pkl").read_bytes())
    assert marker.exists()


@pytest.fixture(scope="module")
def distilled_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("format")
    table().to_csv(root / "t.csv", index=False)
    assert main(["distill", str(root / "t.csv"), "--target", "label", *TINY,
                 "--out", str(root / "d")]) == 0
    return root / "d"


@pytest.fixture
def copy(distilled_dir, tmp_path):
    return shutil.copytree(distilled_dir, tmp_path / "copy")


COMMANDS = {
    "evaluate": lambda d, tmp: ["evaluate", str(d), "--inits", "1"],
    "export": lambda d, tmp: ["export", str(d), "--out", str(tmp / "rows.csv")],
}

# (file, command) -> exit code: 2 where the command needs the file, 0 where it does not.
NEEDED = {
    ("manifest.json", "evaluate"): 2, ("manifest.json", "export"): 2,
    ("distilled.npz", "evaluate"): 2, ("distilled.npz", "export"): 2,
    ("preprocess.json", "evaluate"): 0, ("preprocess.json", "export"): 2,
    ("preprocess.pkl", "evaluate"): 0, ("preprocess.pkl", "export"): 0,  # never read
}


@pytest.mark.parametrize("name, command", sorted(NEEDED))
def test_a_poisoned_file_in_a_distilled_directory_runs_nothing(copy, tmp_path, capsys, name,
                                                                command):
    marker = tmp_path / "ran"
    poison(copy / name, marker)
    rc, _, err = run(COMMANDS[command](copy, tmp_path), capsys)
    assert not marker.exists()
    assert "Traceback" not in err
    assert rc == NEEDED[name, command], err
    if rc == 2:
        assert err.count("\n") == 1 and f"{copy / name}" in err, err
        assert not (tmp_path / "rows.csv").exists()


def make_old(directory: pathlib.Path) -> None:
    """Turns a directory into one written by tabdistill format 1 (a pickle, no JSON)."""
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["format"] = "tabdistill/1"
    for key in ("n_features", "preprocess"):
        manifest.pop(key, None)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / "preprocess.json").unlink(missing_ok=True)


@pytest.mark.parametrize("command", ["evaluate", "export", "upgrade"])
def test_an_old_directory_is_refused_without_unpickling(copy, tmp_path, capsys, command):
    marker = tmp_path / "ran"
    make_old(copy)
    poison(copy / "preprocess.pkl", marker)
    args = (["upgrade", str(copy)] if command == "upgrade"
            else COMMANDS[command](copy, tmp_path))
    rc, _, err = run(args, capsys)
    assert not marker.exists()
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "--trust-pickle" in err and "distil" in err
    assert (copy / "preprocess.pkl").exists()  # refused, not deleted


def test_upgrade_with_trust_pickle_converts_an_old_directory(copy, tmp_path, capsys):
    from tabdistill.data import column_transformer

    assert main(["export", str(copy), "--out", str(tmp_path / "before.csv")]) == 0
    frame = table().drop(columns="label")
    transformer = column_transformer(["age"], ["color"], 20).fit(frame)
    make_old(copy)
    (copy / "preprocess.pkl").write_bytes(pickle.dumps(transformer))
    rc, out, err = run(["upgrade", str(copy), "--trust-pickle"], capsys)
    assert rc == 0, err
    assert not (copy / "preprocess.pkl").exists() and (copy / "preprocess.json").is_file()
    assert json.loads((copy / "manifest.json").read_text())["format"] == "tabdistill/2"
    stored = json.loads((copy / "preprocess.json").read_text())
    assert stored["columns"][0]["mean"] == transformer.named_transformers_["num"][-1].mean_[0]
    assert main(["export", str(copy), "--out", str(tmp_path / "after.csv")]) == 0
    before, after = pd.read_csv(tmp_path / "before.csv"), pd.read_csv(tmp_path / "after.csv")
    assert list(after.columns) == list(before.columns)
    assert (after["color"] == before["color"]).all()  # the layout is the same
    rc, out, _ = run(["upgrade", str(copy)], capsys)  # a second time: nothing to do
    assert rc == 0 and "already" in out


def test_upgrade_of_an_old_directory_without_a_pickle_needs_no_trust(copy, tmp_path, capsys):
    import tabdistill

    data, _ = tabdistill.load(copy)
    raw = tabdistill.save(tmp_path / "raw", data)  # raw features: no preprocessing
    make_old(raw)
    rc, _, err = run(["export", str(raw)], capsys)
    assert rc == 2 and f"run `tabdistill upgrade {raw}`" in err, err
    assert run(["upgrade", str(raw)], capsys)[0] == 0
    again, manifest = tabdistill.load(raw)
    np.testing.assert_array_equal(again.x, data.x)
    assert manifest["preprocess"] is None and manifest["n_features"] == data.x.shape[-1]


def bare_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


# Files that are not what they claim, each written at ``path`` (``marker``: the poison's).
FOREIGN = {
    "poisoned pickle": lambda path, marker: poison(path, marker),
    "bare .npy": lambda path, marker: path.write_bytes(bare_npy()),
    "truncated": lambda path, marker: path.write_bytes(path.read_bytes()[:60]),
    "JSON list": lambda path, marker: path.write_text("[1, 2]"),
}


@pytest.mark.parametrize("case", ["poisoned pickle", "bare .npy", "truncated"])
def test_a_foreign_resume_checkpoint_is_ignored(tmp_path, capsys, case):
    table().to_csv(tmp_path / "t.csv", index=False)
    args = ["distill", str(tmp_path / "t.csv"), "--target", "label", *TINY,
            "--out", str(tmp_path / "d")]
    checkpoint = tmp_path / ".d.partial" / "restarts-0-0.npz"
    checkpoint.parent.mkdir()
    np.savez(checkpoint, key=np.array("not this run"), epochs=np.array(1))
    marker = tmp_path / "ran"
    FOREIGN[case](checkpoint, marker)
    rc, out, err = run(args, capsys)
    assert not marker.exists()
    assert rc == 0 and "Traceback" not in err, err
    assert "ignoring the checkpoint" in out and "unreadable" in out


@pytest.mark.parametrize("name, case", [
    ("meta.json", "poisoned pickle"), ("meta.json", "JSON list"), ("meta.json", "truncated"),
    ("result.npz", "poisoned pickle"), ("result.npz", "bare .npy"), ("result.npz", "truncated"),
])
def test_a_foreign_reproduce_cache_entry_is_recomputed(tmp_path, monkeypatch, name, case):
    calls = []

    def experiment(spec, inputs):
        calls.append(spec)
        return {"curve": np.arange(3.0), "accuracy": 0.5}

    monkeypatch.setitem(experiments.EXPERIMENTS, "fake", experiment)
    task = ("fake", {"n": 1}, tmp_path, False, None, False, False)
    assert experiments.run_task(task)["cached"] is False
    assert experiments.run_task(task)["cached"] is True
    marker = tmp_path / "ran"
    FOREIGN[case](tmp_path / experiments.cache_key("fake", {"n": 1}) / name, marker)
    again = experiments.run_task(task)
    assert not marker.exists()
    assert again["cached"] is False and len(calls) == 2
    np.testing.assert_array_equal(again["curve"], np.arange(3.0))


@pytest.mark.parametrize("case", ["poisoned pickle", "JSON list", "truncated"])
def test_a_foreign_bench_cell_is_rerun(tmp_path, case):
    from types import SimpleNamespace

    from tabdistill.bench.grid import read_cell

    cell = tmp_path / "cell.json"
    key = {"protocol": 1, "cell": "a"}
    task = SimpleNamespace(path=lambda restart: cell, key=lambda restart: key,
                           grid=SimpleNamespace(learners=("logreg",)))
    cell.write_text(json.dumps({"key": key, "learners": {"logreg": {"accuracy": 0.5}}}))
    assert read_cell(task, 0) is not None
    marker = tmp_path / "ran"
    FOREIGN[case](cell, marker)
    assert read_cell(task, 0) is None
    assert not marker.exists()
