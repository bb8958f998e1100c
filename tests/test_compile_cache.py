import jax
import pytest

from tabdistill import compile_cache


@pytest.mark.parametrize("value", ["off", "0", "", "none"])
def test_the_cache_can_be_turned_off(monkeypatch, value):
    monkeypatch.setenv(compile_cache.ENV, value)
    assert compile_cache.cache_dir() is None


def test_the_cache_lives_under_xdg_cache_home_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv(compile_cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache.cache_dir() == tmp_path / "tabdistill" / "xla"


def test_enable_points_jax_and_worker_processes_at_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "xla"))
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    before = jax.config.jax_compilation_cache_dir
    try:
        assert compile_cache.enable() == tmp_path / "xla"
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "xla")
        assert compile_cache.os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "xla")
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


def test_a_directory_given_to_jax_itself_wins(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "ours"))
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "theirs"))
    before = jax.config.jax_compilation_cache_dir
    try:
        assert compile_cache.enable() == tmp_path / "theirs"
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
