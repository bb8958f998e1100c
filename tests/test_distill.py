"""The distillation loop: restarts vectorised equal restarts run alone, seeds reproduce,
options do what they say, and the outer loss goes down."""

import sys

import jax
import numpy as np
import pytest

from tabdistill import resume
from tabdistill.config import DistillConfig
from tabdistill.distill import Distiller_, distill
from tabdistill.errors import DivergedError, TabdistillError
from tabdistill.executor import ProcessExecutor
from tabdistill.parallel import distill_restarts

SMALL = DistillConfig(arch=("mlp2",), steps=4, epochs=2, per_class=2, models=2, outer_epochs=2,
                      batch_size=32, restarts=3)


@pytest.fixture(scope="module")
def three_restarts(tiny_moons):
    return distill(tiny_moons, SMALL)


def test_shapes(three_restarts):
    d = three_restarts
    assert d.x.shape == (3, 4, 4, 2) and d.targets.shape == (3, 4, 4, 1)
    assert d.lrs.shape == (3, 8) and d.loss_history.shape == (3, 2 * 4)
    assert list(d.labels[0]) == [0, 0, 1, 1]
    assert np.all(d.lrs > 0)


def test_vectorised_restarts_equal_separate_runs(tiny_moons, three_restarts):
    alone = distill(tiny_moons, SMALL, restart_ids=[2])
    np.testing.assert_allclose(alone.x[0], three_restarts.x[2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(alone.lrs[0], three_restarts.lrs[2], rtol=1e-4, atol=1e-6)


def test_same_seed_same_numbers(tiny_moons, three_restarts):
    again = distill(tiny_moons, SMALL)
    np.testing.assert_array_equal(again.x, three_restarts.x)
    np.testing.assert_array_equal(again.lrs, three_restarts.lrs)
    other = distill(tiny_moons, SMALL.replace(seed=1))
    assert not np.allclose(other.x, three_restarts.x)


def test_restarts_differ(three_restarts):
    assert not np.allclose(three_restarts.x[0], three_restarts.x[1])


def test_outer_loss_goes_down(tiny_moons):
    d = distill(tiny_moons, SMALL.replace(outer_epochs=12, restarts=2, outer_lr=0.05))
    first, last = d.loss_history[:, :4].mean(), d.loss_history[:, -4:].mean()
    assert last < 0.8 * first


def test_learned_labels_move_from_one_hot(tiny_moons):
    d = distill(tiny_moons, SMALL.replace(learn_labels=True, restarts=1))
    one_hot = d.labels[..., None].astype(np.float32)
    assert not np.allclose(d.targets[0], one_hot)
    fixed = distill(tiny_moons, SMALL.replace(restarts=1))
    np.testing.assert_array_equal(fixed.targets[0], one_hot)


def test_fixed_init_changes_the_result(tiny_moons, three_restarts):
    d = distill(tiny_moons, SMALL.replace(fixed_init=True))
    assert d.x.shape == three_restarts.x.shape
    assert not np.allclose(d.x, three_restarts.x)


def test_checkpoint_mode_gives_the_same_numbers(tiny_moons, three_restarts):
    d = distill(tiny_moons, SMALL.replace(memory="checkpoint"))
    np.testing.assert_allclose(d.x, three_restarts.x, rtol=1e-4, atol=1e-5)


def test_multi_architecture_spreads_the_models(tiny_moons):
    three = SMALL.replace(arch=("linear", "mlp2", "mlp4"), models=3, restarts=1)
    # Model j is arch[j % 3]: 5 models are 2 linear, 2 mlp2, 1 mlp4.
    assert [(g.arch.name, g.count) for g in Distiller_(three.replace(models=5), 2, 2).groups] \
        == [("linear", 2), ("mlp2", 2), ("mlp4", 1)]
    # The outer loss is the mean over the models of each one's own architecture's loss.
    engine = Distiller_(three, 2, 2)
    learned = engine.init_state(0, 0).learned
    theta0 = engine._draw_models(jax.random.PRNGKey(1))
    xb, tb = tiny_moons.X_train[:16], tiny_moons.y_train[:16, None].astype(np.float32)
    wb = np.ones(16, np.float32)
    alone = [Distiller_(SMALL.replace(arch=(a,), models=1), 2, 2).outer_loss(
        learned, (params,), xb, tb, wb) for a, params in zip(three.arch, theta0, strict=True)]
    np.testing.assert_allclose(engine.outer_loss(learned, theta0, xb, tb, wb), np.mean(alone),
                               rtol=1e-6)
    assert len(set(np.round(np.asarray(alone), 6))) == 3  # the three nets do differ
    d = distill(tiny_moons, three)
    assert np.isfinite(d.loss_history).all()
    with pytest.raises(TabdistillError, match="cannot cover"):
        SMALL.replace(arch=("linear", "mlp2", "mlp4"), models=2).validate()


def test_restarts_split_over_processes_equal_one_run(tiny_moons, three_restarts):
    d = distill_restarts(tiny_moons, SMALL, ProcessExecutor(2))
    assert d.restart_ids == (0, 1, 2)
    np.testing.assert_allclose(d.x, three_restarts.x, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("change,message", [
    ({"steps": 0}, "steps is 0"),
    ({"per_class": -1}, "per-class is -1"),
    ({"memory": "disk"}, "unknown memory mode"),
    ({"arch": ("resnet",)}, "unknown architecture"),
    ({"init": "zeros"}, "unknown init"),
])
def test_impossible_settings(change, message):
    with pytest.raises(TabdistillError, match=message):
        SMALL.replace(**change).validate()


def test_divergence_stops_the_run_and_names_the_epoch(tiny_moons):
    with pytest.raises(DivergedError, match=r"diverged in outer epoch 1/2 \(restart\(s\) 0:"):
        distill(tiny_moons, SMALL.replace(outer_lr=1e6, init_lr=50, restarts=2))


def test_divergence_keeps_the_last_finite_checkpoint(tiny_moons, tmp_path, monkeypatch):
    module = sys.modules["tabdistill.distill"]  # the package's ``distill`` is the function

    class NanAtEpoch3(Distiller_):  # the state becomes NaN in the third outer epoch
        def __init__(self, *args):
            super().__init__(*args)
            run, calls = self.run_epoch, []

            def run_epoch(state, X, T, *draws):
                calls.append(1)
                state, losses = run(state, X, T, *draws)
                if len(calls) == 3:
                    state = state._replace(learned={**state.learned,
                                                    "x": state.learned["x"].at[1].set(np.nan)})
                return state, losses

            self.run_epoch = run_epoch

    monkeypatch.setattr(module, "Distiller_", NanAtEpoch3)
    monkeypatch.setattr(module, "CHECKPOINT_EVERY_S", 1e9)  # only the handler saves
    config = SMALL.replace(outer_epochs=5, restarts=2)
    with pytest.raises(DivergedError) as err:
        distill(tiny_moons, config, checkpoint=tmp_path / "ck")
    message = str(err.value)
    assert "outer epoch 3/5 (restart(s) 1:" in message and "--outer-lr (now 0.01)" in message
    assert f"the last finite state (epoch 2) is kept for inspection in {tmp_path / 'ck'}" in message
    assert "\n" not in message
    assert resume.epochs_done(tmp_path / "ck") == 2
    monkeypatch.setattr(module, "Distiller_", Distiller_)  # resuming it gives the clean run
    np.testing.assert_array_equal(distill(tiny_moons, config, checkpoint=tmp_path / "ck").x,
                                  distill(tiny_moons, config).x)


def test_synthetic_rows_start_at_noise_real_rows_or_centroids(tiny_moons):
    X, y = tiny_moons.X_train, tiny_moons.y_train
    config = SMALL.replace(restarts=2)
    noise = Distiller_(config, 2, 2).init_states(0, [0, 1], X, y).learned["x"]
    # Noise is the default and ignores the rows: the same start as without them.
    np.testing.assert_array_equal(noise, Distiller_(config, 2, 2).init_states(0, [0, 1])
                                  .learned["x"])
    for start in ("real", "kmeans"):
        engine = Distiller_(config.replace(init_rows=start), 2, 2)
        x = np.asarray(engine.init_states(0, [0, 1], X, y).learned["x"])
        alone = np.asarray(engine.init_states(0, [1], X, y).learned["x"])
        np.testing.assert_array_equal(x[1], alone[0])  # a restart's start is its own
        for row, c in zip(x[0].reshape(-1, 2), engine.labels.reshape(-1), strict=True):
            own = X[y == c]
            near = np.min(np.linalg.norm(own - row, axis=1))
            if start == "real":  # a train row of its own class
                assert near < 1e-6
            else:  # a centroid (a mean of several rows) inside its class's box
                assert near > 1e-6 and np.all(row >= own.min(0)) and np.all(row <= own.max(0))
        assert not np.allclose(x[0], x[1])
    with pytest.raises(TabdistillError, match="unknown init-rows 'zeros'"):
        SMALL.replace(init_rows="zeros").validate()
