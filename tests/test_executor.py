import os
import time

import pytest

from tabdistill import runtime
from tabdistill.errors import TabdistillError
from tabdistill.executor import ProcessExecutor, SerialExecutor, get_executor


def worker_facts(seconds):
    time.sleep(seconds)  # long enough that every worker takes a task
    return os.getpid(), tuple(sorted(os.sched_getaffinity(0))), os.environ.get("XLA_FLAGS", "")


def square(x):
    return x * x


def die_on_three(x):
    if x == 3:
        os._exit(9)  # as a worker killed by the system
    return x


def test_results_come_back_in_task_order():
    tasks = list(range(7))
    assert ProcessExecutor(2).map(square, tasks) == SerialExecutor().map(square, tasks)
    assert [x * x for x in tasks] == SerialExecutor().map(square, tasks)


def test_a_worker_that_dies_is_one_error_that_says_so():
    with pytest.raises(TabdistillError, match="worker process died"):
        ProcessExecutor(2).map(die_on_three, range(6))
    with pytest.raises(TabdistillError, match="worker process died"):
        list(ProcessExecutor(2).imap_unordered(die_on_three, range(6)))


def test_get_executor_picks_serial_for_one_worker():
    assert isinstance(get_executor(1), SerialExecutor)
    assert get_executor(3).workers == 3


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs core affinity and at least two cores")
def test_each_worker_is_pinned_to_a_core_of_its_own_with_single_threaded_xla():
    facts = ProcessExecutor(2).map(worker_facts, [0.5] * 4)
    cores_by_worker = {pid: cores for pid, cores, _ in facts}
    assert len(cores_by_worker) == 2
    assert all(len(cores) == 1 for cores in cores_by_worker.values())
    assert len(set(cores_by_worker.values())) == 2
    assert set().union(*cores_by_worker.values()) <= os.sched_getaffinity(0)
    for _, _, flags in facts:
        assert all(flag in flags.split() for flag in runtime.fast_cpu_flags())
