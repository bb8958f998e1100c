"""--executor ray against a real local Ray, started once for the module: the same numbers as
the local executor, a killed worker's task run again, stopped tasks cancelled, and one-line
errors for a missing cluster or a missing Ray."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

from tabdistill.cli import main
from tabdistill.errors import TabdistillError

ray = pytest.importorskip("ray")

from tabdistill.ray_executor import RayExecutor, import_ray, ray_executor  # noqa: E402


@pytest.fixture(scope="module")
def executor():
    """A local Ray for the module; the commands run in it join it."""
    jax.numpy.zeros(1).block_until_ready()  # JAX running when Ray starts, as in a whole suite
    with ray_executor(None) as ex:
        yield ex


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_no_cluster_at_the_address_is_one_line_and_exit_2(tmp_path, capsys):
    address = f"127.0.0.1:{unused_port()}"
    assert main(["bench", "iris", "--methods", "random", "--learners", "logreg",
                 "--executor", "ray", "--ray-address", address, "--out", str(tmp_path / "o"),
                 "--quiet"]) == 2
    err = one_line_error(capsys)
    assert f"no Ray cluster at {address}" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, expected", [
    (["--ray-address", "127.0.0.1:6379"], "--ray-address needs --executor ray"),
    (["--executor", "ray", "--ray-address", "nowhere"], "is not HOST:PORT"),
])
def test_bad_executor_options_are_one_line(argv, expected, tmp_path, capsys):
    assert main(["bench", "iris", "--methods", "random", "--learners", "logreg",
                 "--out", str(tmp_path / "o"), "--quiet", *argv]) == 2
    assert expected in one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_missing_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(TabdistillError, match=r"pip install 'tabdistill\[ray\]'"):
        import_ray()


def test_a_killed_worker_is_retried_and_map_loses_nothing(executor, tmp_path):
    marker = tmp_path / "killed once"

    def square_but_die_once(x):  # defined here: Ray ships it to the workers by value
        if x == 3 and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return x * x

    assert executor.map(square_but_die_once, range(6)) == [x * x for x in range(6)]
    assert marker.exists()  # the worker really died once


@pytest.mark.slow  # a worker started and killed 4 times: about 10 s
def test_a_task_whose_worker_always_dies_fails_in_one_line(executor):
    def die(x):
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(TabdistillError, match="a task failed on Ray after 3 retries"):
        executor.map(die, [0])


def test_an_error_in_a_task_is_raised_as_itself(executor):
    def fail(x):
        raise TabdistillError(f"task {x} failed")

    with pytest.raises(TabdistillError, match=r"^task \d failed$"):
        executor.map(fail, range(2))


def test_stopping_the_results_kills_the_tasks_in_flight(executor, tmp_path):
    def run(seconds):
        (tmp_path / f"pid-{seconds}").write_text(str(os.getpid()))
        time.sleep(seconds)
        return seconds

    results = RayExecutor(workers=2).imap_unordered(run, [0, 60])
    assert next(results) == 0
    pid_file = tmp_path / "pid-60"
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    results.close()  # as an error or Ctrl-C in the loop over the results does
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_bench_on_ray_gives_the_serial_numbers(executor, tmp_path):
    args = ["bench", "iris", "--rows-per-class", "2,5", "--methods", "random,kmeans",
            "--learners", "logreg,knn", "--restarts", "2", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "serial")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--executor", "ray"]) == 0
    cols = ["dataset", "rows_per_class", "method", "learner", "restart", "accuracy",
            "balanced_accuracy", "n_rows"]
    serial = pd.read_csv(tmp_path / "serial" / "results.csv")[cols]
    on_ray = pd.read_csv(tmp_path / "ray" / "results.csv")[cols]
    assert len(serial) == 2 * 2 * 2 * 2
    pd.testing.assert_frame_equal(serial, on_ray)


@pytest.mark.slow  # two distillations, each compiled afresh: about 20 s
def test_distilled_restarts_on_ray_are_the_local_ones(executor, tmp_path):
    args = ["distill", "moons", "--steps", "2", "--epochs", "1", "--outer-epochs", "1",
            "--batch-size", "200", "--restarts", "2", "--eval-inits", "0", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--executor", "ray"]) == 0
    local = np.load(tmp_path / "local" / "distilled.npz")
    on_ray = np.load(tmp_path / "ray" / "distilled.npz")
    assert sorted(local.files) == sorted(on_ray.files)
    for name in local.files:
        np.testing.assert_array_equal(local[name], on_ray[name], err_msg=name)


@pytest.mark.slow  # a Ray of its own and a distillation: about 40 s
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads processes from /proc")
def test_sigterm_stops_the_ray_task_in_flight(tmp_path):
    """SIGTERM to a bench --executor ray run while its task runs: exit 130 (not Ray's own exit
    or crash report), the task stopped before it saved anything, its worker gone."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tabdistill.cli", "bench", "digits", "--rows-per-class", "2",
         "--methods", "wang", "--learners", "logreg", "--restarts", "2", "--executor", "ray",
         "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    workers = []
    while time.monotonic() < deadline and not workers and proc.poll() is None:
        workers = [pid for pid in _descendants(proc.pid) if _title(pid) == "ray::run_task"]
        time.sleep(0.1)
    assert workers, "no Ray worker ran the task"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "SIGTERM received" not in err
    assert not list(out.glob("cells/digits/*/*.json"))  # stopped, not left to finish
    assert not any(_alive(pid) for pid in workers)


def _descendants(root: int) -> list[int]:
    parents = {}
    for stat in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{stat}/stat").read_text().rsplit(")", 1)[1].split()
            parents[int(stat)] = int(fields[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")[0].strip()
    except OSError:
        return ""
