"""Resuming an interrupted distillation gives exactly the numbers of an uninterrupted one."""

import contextlib
import dataclasses
import importlib
import shutil

import numpy as np
import pytest

import tabdistill.progress
from tabdistill import DistillConfig, distill, resume
from tabdistill.cli import main
from tabdistill.parallel import distill_restarts

CFG = DistillConfig(steps=2, epochs=1, per_class=2, models=1, outer_epochs=4, batch_size=40,
                    restarts=2)
DISTILL = importlib.import_module("tabdistill.distill")  # the module, not the function
ARRAYS = ("x", "targets", "lrs", "loss_history")


def stop_after(epoch):
    def progress(done, total, loss):
        if done == epoch:
            raise KeyboardInterrupt

    return progress


@pytest.fixture(scope="module")
def uninterrupted(tiny_moons):
    return distill(tiny_moons, CFG)


@pytest.fixture(scope="module")
def after_two(tiny_moons, tmp_path_factory):
    """A checkpoint directory left by a run interrupted after outer epoch 2 of 4."""
    directory = tmp_path_factory.mktemp("after_two")
    with pytest.raises(KeyboardInterrupt):
        distill(tiny_moons, CFG, checkpoint=directory, progress=stop_after(2))
    assert resume.epochs_done(directory) == 2
    return directory


@pytest.fixture
def checkpoint(after_two, tmp_path):
    return shutil.copytree(after_two, tmp_path / "ckpt")


def test_resumed_run_is_bit_identical(tiny_moons, uninterrupted, checkpoint):
    notes, seen = [], []
    resumed = distill(tiny_moons, CFG, checkpoint=checkpoint, note=notes.append,
                      progress=lambda done, total, loss: seen.append(done))
    assert notes == [f"resuming from epoch 2/4 ({checkpoint})"]
    assert seen == [2, 3, 4]
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(resumed, name), getattr(uninterrupted, name))
    assert resume.epochs_done(checkpoint) == 4  # the last epoch is always saved


def test_checkpoints_are_written_as_it_goes(tiny_moons, tmp_path, monkeypatch):
    written = []
    real_write = resume.write

    def write(path, key, state, epochs, history, seconds):
        written.append(epochs)
        real_write(path, key, state, epochs, history, seconds)

    monkeypatch.setattr(DISTILL, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(resume, "write", write)
    distill(tiny_moons, CFG.replace(restarts=1), checkpoint=tmp_path)
    assert written == [1, 2, 3, 4]


@pytest.mark.parametrize("change", ["config", "data"])
def test_a_checkpoint_for_something_else_is_ignored(tiny_moons, checkpoint, change):
    config, data = CFG, tiny_moons
    if change == "config":
        config = CFG.replace(outer_lr=0.02)
    else:
        data = dataclasses.replace(tiny_moons, X_train=tiny_moons.X_train + 1)
    notes, seen = [], []
    distill(data, config, checkpoint=checkpoint, note=notes.append,
            progress=lambda done, total, loss: seen.append(done))
    assert len(notes) == 1 and notes[0].startswith("ignoring the checkpoint")
    assert "starting afresh" in notes[0]
    assert seen == [1, 2, 3, 4]


class _SerialWorkers:
    """Two 'workers' run one after the other here: the slices without the process start-up."""

    workers = 2

    def map(self, fn, tasks):
        return [fn(t) for t in tasks]


def test_slices_resume_from_their_own_checkpoints(tiny_moons, uninterrupted, tmp_path,
                                                  monkeypatch):
    real_write = resume.write

    def write_then_stop(path, key, state, epochs, history, seconds):
        real_write(path, key, state, epochs, history, seconds)
        if path.name == "restarts-1-1.npz" and epochs == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(DISTILL, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(resume, "write", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        distill_restarts(tiny_moons, CFG, _SerialWorkers(), checkpoint=tmp_path)
    monkeypatch.setattr(resume, "write", real_write)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["restarts-0-0.npz", "restarts-1-1.npz"]
    assert resume.epochs_done(tmp_path) == 2
    notes = []
    resumed = distill_restarts(tiny_moons, CFG, _SerialWorkers(), checkpoint=tmp_path,
                               note=notes.append)
    assert notes == [f"resuming from epoch 4/4 ({tmp_path})",
                     f"resuming from epoch 2/4 ({tmp_path})"]
    for name in ARRAYS:  # slices match one vectorised run to rounding, as in test_distill
        np.testing.assert_allclose(getattr(resumed, name), getattr(uninterrupted, name),
                                   rtol=1e-5, atol=1e-6)


TINY_CLI = ["distill", "moons", "--steps", "2", "--epochs", "1", "--outer-epochs", "4",
            "--batch-size", "256", "--models", "1", "--per-class", "1", "--eval-inits", "0",
            "--quiet"]


def test_cli_interrupt_then_resume(tmp_path, monkeypatch, capsys):
    stop = {"at": None}

    @contextlib.contextmanager
    def bar(total, desc, *, disable=False):
        def update(done, _total, loss):
            if done == stop["at"]:
                raise KeyboardInterrupt

        yield update

    monkeypatch.setattr(tabdistill.progress, "progress_bar", bar)
    out = tmp_path / "moons"
    partial = tmp_path / ".moons.partial"

    def run(at, *extra):
        stop["at"] = at
        code = main([*TINY_CLI, "--out", str(out), *extra])
        return code, capsys.readouterr()

    code, io = run(2)
    assert code == 130 and "Traceback" not in io.err
    assert io.err.strip() == ("tabdistill: interrupted after epoch 2/4; run the same command "
                              "again to resume")
    assert not out.exists() and partial.is_dir()

    # --no-resume starts afresh: epoch 1 is reached again (a resumed run would start at 2).
    code, io = run(1, "--no-resume")
    assert code == 130 and "after epoch 1/4" in io.err and "resuming" not in io.out

    code, io = run(None)
    assert code == 0
    assert f"note: resuming from epoch 1/4 ({partial})" in io.out.splitlines()
    assert out.is_dir() and not partial.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moons"]


def test_sigterm_stops_a_running_command_like_ctrl_c(tmp_path):
    """A real process: once its first checkpoint is on disk, SIGTERM ends it with code 130, the
    checkpoint kept for a resume and no output directory."""
    import signal
    import subprocess
    import sys
    import time

    out, partial = tmp_path / "moons", tmp_path / ".moons.partial"
    endless = [*TINY_CLI, "--outer-epochs", "100000"]  # the later flag wins
    proc = subprocess.Popen([sys.executable, "-m", "tabdistill.cli", *endless, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any(partial.glob("*.npz")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "run the same command again to resume" in err
    assert not out.exists() and resume.epochs_done(partial) >= 1
