"""Every bad input, on every command: one line on stderr naming the problem and what was
expected, exit code 2, no traceback, and no output left behind."""

import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tabdistill.cli import main

TINY = ["--outer-epochs", "1", "--steps", "2", "--epochs", "1", "--restarts", "1", "--quiet"]


def run(args, capsys):
    try:
        rc = main(args)
    except SystemExit as stop:  # argparse's usage errors
        rc = stop.code
    return rc, capsys.readouterr().err


def good_frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v"], n),
                         "y": rng.choice(["p", "q"], n)})


def write(path, frame):
    frame.to_csv(path, index=False)
    return str(path)


def put(path, data):
    """Writes text or bytes to ``path``; returns the path."""
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


TABLES = {
    "missing file": (lambda d: str(d / "absent.csv"), "no such dataset or file"),
    "directory": (lambda d: str(d), "is a directory"),
    "empty file": (lambda d: str(put(d / "e.csv", "")), "is empty"),
    "header only": (lambda d: str(put(d / "h.csv", "a,b,y\n")), "header but no rows"),
    "garbage parquet": (lambda d: str(put(d / "g.parquet", b"\x00not parquet")), "cannot read"),
    "binary csv": (lambda d: str(put(d / "b.csv", bytes(range(256)) * 4)), "cannot read"),
    "single class": (lambda d: write(d / "s.csv", good_frame().assign(y="p")), "single class"),
    "no labels": (lambda d: write(d / "n.csv", good_frame().assign(y=np.nan)),
                  "has no labels: column 'y' is empty in all 120 rows"),
    "duplicate columns": (lambda d: str(put(d / "d.csv", "a,b,a,y\n" + "1,2,3,p\n4,5,6,q\n" * 30)),
                          "d.csv has duplicate column names: 'a'"),
    "continuous target": (lambda d: write(d / "c.csv", good_frame().assign(
        y=np.linspace(0, 1, 120))), "looks continuous"),
    "text in numbers": (lambda d: write(d / "t.csv", good_frame().assign(
        a=lambda f: f["a"].astype(object).where(f.index != 7, "n/a?"))), "has text 'n/a?'"),
    "infinite": (lambda d: write(d / "i.csv", good_frame().assign(
        a=lambda f: f["a"].where(f.index != 3, np.inf))), "infinite value"),
}


@pytest.mark.parametrize("command", ["distill", "compare"])
@pytest.mark.parametrize("case", sorted(TABLES))
def test_bad_tables(tmp_path, capsys, command, case):
    make, message = TABLES[case]
    source = make(tmp_path)
    out = tmp_path / "out"
    extra = ["--out", str(out)] if command == "distill" else []
    rc, err = run([command, source, "--target", "y", *TINY, *extra], capsys)
    assert rc == 2 and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["distill", "iris", "--target", "nope"], "no column 'nope'"),
    (["distill", "iris", "--steps", "0"], "0 is too small; expected at least 1"),
    (["distill", "iris", "--per-class", "-3"], "-3 is too small"),
    (["distill", "iris", "--budget", "0"], "0 is too small"),
    (["distill", "iris", "--budget", "2"], "budget 2 is too small for 3 classes"),
    (["distill", "iris", "--budget", "9", "--per-class", "2"], "not allowed with"),
    (["distill", "iris", "--arch", "resnet"], "unknown architecture 'resnet'"),
    (["distill", "iris", "--missing", "guess"], "invalid choice: 'guess'"),
    (["distill", "iris", "--test-size", "1.5"], "test size 1.5 is out of range"),
    (["compare", "iris", "--learners", "svm"], "unknown learner 'svm'"),
    (["compare", "iris", "--restarts", "0"], "0 is too small"),
    (["compare", "iris", "--per-class", "40"], "not smaller than the 100 train rows"),
    (["compare", "iris", "--arch", "mlp:0x2"], "width 0"),
    (["export", "x", "--format", "xls"], "invalid choice: 'xls'"),
])
def test_impossible_options(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    extra = ["--out", str(out)] if args[0] == "distill" else []
    rc, err = run([*args, *extra], capsys)
    assert rc == 2 and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_missing_cells_with_missing_error(tmp_path, capsys):
    frame = good_frame()
    frame.loc[5, "a"] = np.nan
    rc, err = run(["distill", write(tmp_path / "m.csv", frame), "--missing", "error", *TINY,
                   "--out", str(tmp_path / "out")], capsys)
    assert rc == 2 and "1 missing cells (first in column 'a')" in err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def distilled_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    write(root / "t.csv", good_frame())
    assert main(["distill", str(root / "t.csv"), *TINY, "--eval-inits", "0",
                 "--out", str(root / "d")]) == 0
    return root / "d"


CORRUPTIONS = {
    "no directory": (lambda d: d / "absent", "no distilled directory"),
    "foreign directory": (lambda d: put(d / "notes.txt", "hi").parent,
                          "is not a distilled directory"),
    "garbage manifest": (lambda d: put(d / "manifest.json", "{oops").parent,
                         "is corrupted or not written by tabdistill"),
    "foreign manifest": (lambda d: put(d / "manifest.json", '{"format": "other/9"}').parent,
                         "is corrupted or not written by tabdistill"),
    "truncated arrays": (lambda d: put(d / "distilled.npz",
                                       (d / "distilled.npz").read_bytes()[:100]).parent,
                         "is corrupted"),
    "garbage preprocessing": (lambda d: put(d / "preprocess.json", b"junk").parent,
                              "preprocess.json is corrupted"),
    "foreign preprocessing": (lambda d: put(d / "preprocess.json", '{"format": 3}').parent,
                              "preprocess.json is corrupted"),
    "preprocessing of other columns": (lambda d: edit_json(d / "preprocess.json", lambda p: {
        **p, "columns": p["columns"][:1]}), "(it makes 1 features, the manifest says 3)"),
    "missing preprocessing": (lambda d: (d / "preprocess.json").unlink() or d,
                              "preprocess.json is missing"),
    "newer format": (lambda d: edit_json(d / "manifest.json", lambda m: {
        **m, "format": "tabdistill/99"}), "cannot read; expected tabdistill/2"),
    "feature count unlike the names": (lambda d: edit_json(d / "manifest.json", lambda m: {
        **m, "n_features": 7}), "(dataset feature_names are not 7 names)"),
    "features unlike the manifest": (lambda d: edit_arrays(d, x=lambda a: a[..., :2]),
                                     "x has shape [1, 2, 8, 2], expected [1, 2, 8, 3]"),
    "labels out of range": (lambda d: edit_arrays(d, labels=lambda a: a + 5),
                            "labels are not class indices below 2"),
    "lrs of another length": (lambda d: edit_arrays(d, lrs=lambda a: a[:, :1]),
                              "lrs has shape [1, 1], expected [1, 2]"),
    "a single array": (lambda d: put(d / "distilled.npz", npy_bytes()).parent,
                       "distilled.npz is corrupted or not written by tabdistill (a single array"),
}
NOT_NEEDED_BY_EVALUATE = {"garbage preprocessing", "foreign preprocessing",
                          "preprocessing of other columns", "missing preprocessing"}


def edit_json(path, change):
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    return path.parent


def edit_arrays(directory, **changes):
    with np.load(directory / "distilled.npz") as npz:
        arrays = {k: changes.get(k, lambda a: a)(npz[k]) for k in npz.files}
    np.savez(directory / "distilled.npz", **arrays)
    return directory


def npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


@pytest.mark.parametrize("command", ["evaluate", "export"])
@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupted_or_foreign_directories(tmp_path, capsys, distilled_dir, command, case):
    if case in NOT_NEEDED_BY_EVALUATE and command == "evaluate":
        pytest.skip("evaluate re-reads the source table, not preprocess.json")
    make, message = CORRUPTIONS[case]
    copy = tmp_path / "copy"
    if case != "foreign directory":
        shutil.copytree(distilled_dir, copy)
    else:
        copy.mkdir()
    target = make(copy)
    out = tmp_path / "rows.csv"
    extra = ["--out", str(out)] if command == "export" else []
    rc, err = run([command, str(target), *extra], capsys)
    assert rc == 2 and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["compare", "no-such.csv"], "no such dataset or file"),
    pytest.param(["export", "no-such-dir"], "no distilled directory", marks=pytest.mark.slow),
    pytest.param(["distill", "iris", "--steps", "0"], "expected at least 1",
                 marks=pytest.mark.slow),
])
def test_a_real_process_prints_one_line(tmp_path, args, message):
    proc = subprocess.run([sys.executable, "-m", "tabdistill.cli", *args], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_odd_but_common_files_go_through(tmp_path, capsys):
    frame = good_frame()
    frame.loc[4, "y"] = "r"  # a class with a single row: dropped, with a note
    path = tmp_path / "semi.csv"
    frame.to_csv(path, sep=";", index=False)
    assert main(["distill", str(path), "--target", "y", *TINY, "--eval-inits", "0",
                 "--out", str(tmp_path / "out")]) == 0
    assert "note: dropped class 'r': 1 row" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["dataset"]["classes"] == ["p", "q"]
    assert manifest["dataset"]["n_train"] + manifest["dataset"]["n_test"] == 119
