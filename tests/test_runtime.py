import os

import pytest

from tabdistill import runtime


@pytest.fixture
def env(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv(runtime.ENV, raising=False)
    return monkeypatch


def test_the_flags_are_added_when_absent(env):
    runtime.use_fast_cpu_flags()
    assert os.environ["XLA_FLAGS"].split() == list(runtime.fast_cpu_flags())


@pytest.mark.parametrize("version,ynnpack", [("0.10.2", True), ("0.11.0", True),
                                             ("0.9.1", False), ("0.12.0", False),
                                             ("1.0.0", False)])
def test_the_experimental_flag_only_where_jaxlib_is_known_to_have_it(env, version, ynnpack):
    # XLA aborts on a flag it does not know.
    env.setattr(runtime.metadata, "version", lambda name: version)
    assert (runtime.NO_YNNPACK in runtime.fast_cpu_flags()) is ynnpack
    assert (runtime.LOOP_EMITTERS in runtime.fast_cpu_flags()) is ynnpack
    assert runtime.SINGLE_THREAD in runtime.fast_cpu_flags()


def test_a_users_own_flags_are_kept_and_win(env):
    env.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true --xla_dump_to=/tmp/x")
    runtime.use_fast_cpu_flags()
    flags = os.environ["XLA_FLAGS"].split()
    assert flags[:2] == ["--xla_cpu_multi_thread_eigen=true", "--xla_dump_to=/tmp/x"]
    assert "--xla_cpu_multi_thread_eigen=false" not in flags
    assert "--xla_cpu_experimental_ynn_fusion_type=" in flags


def test_applying_twice_adds_nothing(env):
    runtime.use_fast_cpu_flags()
    once = os.environ["XLA_FLAGS"]
    runtime.use_fast_cpu_flags()
    assert os.environ["XLA_FLAGS"] == once


@pytest.mark.parametrize("value", ["off", "0", "False"])
def test_they_can_be_turned_off(env, value):
    env.setenv(runtime.ENV, value)
    runtime.use_fast_cpu_flags()
    assert "XLA_FLAGS" not in os.environ
