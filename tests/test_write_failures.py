"""Outputs that cannot be written: every command checks its output location before the work,
and an OSError while writing (a full disk) is one line naming the path, exit code 2, with
nothing half-written left behind."""

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import tabdistill
from tabdistill.cli import main

TINY = ["--outer-epochs", "1", "--steps", "2", "--epochs", "1", "--restarts", "1", "--quiet"]
NO_SPACE = os.strerror(errno.ENOSPC)


def run(args, capsys):
    try:
        rc = main(args)
    except SystemExit as stop:
        rc = stop.code
    return rc, capsys.readouterr().err


def no_work(*args, **kwargs):
    raise AssertionError("the work started before the output was checked")


def full_disk(path, *args, **kwargs):
    raise OSError(errno.ENOSPC, NO_SPACE, str(path))


def full_disk_method(self, path, *args, **kwargs):
    full_disk(path)


@pytest.fixture(scope="module")
def distilled_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("writes") / "d"
    assert main(["distill", "moons", *TINY, "--eval-inits", "0", "--out", str(out)]) == 0
    return out


def unwritable(tmp_path, case, name):
    """A path that cannot be written: under /proc, or under a regular file."""
    if case == "proc":
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc here")
        return Path("/proc") / name
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file" / name


@pytest.mark.parametrize("case", ["proc", "under a file"])
@pytest.mark.parametrize("command", ["distill", "compare --plot", "export", "reproduce"])
def test_an_unwritable_output_fails_before_the_work(tmp_path, capsys, monkeypatch,
                                                    distilled_dir, command, case):
    if command == "distill":
        monkeypatch.setattr("tabdistill.parallel.distill_restarts", no_work)
        target = unwritable(tmp_path, case, "x")
        args = ["distill", "moons", *TINY, "--out", str(target)]
    elif command == "compare --plot":
        monkeypatch.setattr("tabdistill.compare.compare", no_work)
        target = unwritable(tmp_path, case, "x.png")
        args = ["compare", "iris", *TINY, "--plot", str(target)]
    elif command == "export":
        monkeypatch.setattr("tabdistill.export.export", no_work)
        target = unwritable(tmp_path, case, "x.csv")
        args = ["export", str(distilled_dir), "--out", str(target)]
    else:
        monkeypatch.setattr("tabdistill.reproduce.run.reproduce", no_work)
        target = unwritable(tmp_path, case, "x")
        args = ["reproduce", "--quick", "--quiet", "--out", str(target)]
    rc, err = run(args, capsys)
    assert rc == 2, err
    assert err.startswith("tabdistill: error: cannot write") and err.count("\n") == 1, err
    assert str(target.parent) in err and "Traceback" not in err
    assert not target.exists()


def test_distill_out_that_is_a_file_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("tabdistill.parallel.distill_restarts", no_work)
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    rc, err = run(["distill", "moons", *TINY, "--out", str(target)], capsys)
    assert rc == 2 and f"{target} is a file; expected a directory" in err
    assert target.read_text() == "keep me"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_distill_on_a_full_disk(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(np, "savez_compressed", full_disk)
    out = tmp_path / "out"
    rc, err = run(["distill", "moons", *TINY, "--eval-inits", "0", "--out", str(out)], capsys)
    assert rc == 2 and err.count("\n") == 1, err
    assert f"cannot write {tmp_path}" in err and "distilled.npz" in err and NO_SPACE in err
    # No result, no temporary folder: only the finished checkpoint, to resume from once
    # there is room.
    assert leftovers(tmp_path) == [".out.partial"]
    monkeypatch.undo()
    assert main(["distill", "moons", *TINY, "--eval-inits", "0", "--out", str(out)]) == 0
    assert leftovers(tmp_path) == ["out"]


def test_export_on_a_full_disk(tmp_path, capsys, monkeypatch, distilled_dir):
    monkeypatch.setattr("pandas.DataFrame.to_csv", full_disk_method)
    out = tmp_path / "rows.csv"
    rc, err = run(["export", str(distilled_dir), "--out", str(out)], capsys)
    assert rc == 2 and err.count("\n") == 1 and NO_SPACE in err and str(tmp_path) in err, err
    assert leftovers(tmp_path) == []


def test_compare_plot_on_a_full_disk(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("matplotlib.figure.Figure.savefig", full_disk_method)
    out = tmp_path / "cmp.png"
    rc, err = run(["compare", "iris", *TINY, "--budget", "6", "--learners", "knn",
                   "--plot", str(out)], capsys)
    assert rc == 2 and err.count("\n") == 1 and NO_SPACE in err and str(tmp_path) in err, err
    assert leftovers(tmp_path) == []


def test_reproduce_on_a_full_disk(tmp_path, capsys, monkeypatch):
    def results_then_full(settings, out, **kwargs):  # the study's first write fails
        tabdistill.io.atomic_write_text(Path(out) / "results.json", "{}")

    monkeypatch.setattr("tabdistill.reproduce.run.reproduce", results_then_full)
    monkeypatch.setattr("tabdistill.io.os.replace", full_disk)
    out = tmp_path / "study"
    rc, err = run(["reproduce", "--quick", "--quiet", "--out", str(out)], capsys)
    assert rc == 2 and err.count("\n") == 1 and NO_SPACE in err and str(out) in err, err
    assert leftovers(out) == []
