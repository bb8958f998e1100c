"""Random architecture spaces: parsing, reproducible draws, the exactness of a narrow draw
inside its wide branch, the hypergradient against finite differences, and a short run."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from tabdistill.archspace import DEFAULT_SPACE, ArchSpace, draws, parse_space
from tabdistill.cli import main
from tabdistill.config import DistillConfig
from tabdistill.distill import Distiller_, distill
from tabdistill.errors import TabdistillError
from tabdistill.inner import unroll
from tabdistill.models import Architecture, loss_fn, one_hot_targets, parse_arch


def test_the_default_space_and_a_spelt_out_one():
    space = parse_space("random")
    assert space == ArchSpace((8, 16, 32, 64), (0, 1, 2, 3, 4), ("relu", "tanh", "elu", "gelu"))
    assert parse_space(space.name) == space == parse_space(DEFAULT_SPACE)
    small = parse_space("random:4/12:2-3:tanh")
    assert small == ArchSpace((4, 12), (2, 3), ("tanh",))
    assert [b.name for b in small.branches] == ["mlp:12x2:tanh", "mlp:12x3:tanh"]
    assert parse_space("random::1").depths == (1,)  # empty fields take the default
    assert DistillConfig(arch="random").arch == (space.name,)  # the manifest spells it out


@pytest.mark.parametrize("spec, message", [
    ("random:0", "widths '0'"),
    ("random:8:3-1", "depths '3-1'"),
    ("random:8:1:sigmoid", "'sigmoid' in 'random:8:1:sigmoid' cannot be drawn (it is not 0 at 0)"),
    ("random:8:1:relu:9", "unknown random space"),
])
def test_bad_spaces_are_one_line_exit_2(tmp_path, capsys, spec, message):
    with pytest.raises(TabdistillError, match="expected"):
        parse_space(spec)
    out = tmp_path / "out"
    rc = main(["distill", "moons", "--arch", spec, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.parametrize("arch, extra, message", [
    ("random,mlp2", [], "cannot be listed with other architectures"),
    ("random", ["--fixed-init"], "cannot be combined with random architectures"),
])
def test_impossible_combinations_are_one_line_exit_2(tmp_path, capsys, arch, extra, message):
    rc = main(["distill", "moons", "--arch", arch, *extra, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err


def test_a_space_is_not_a_net_to_train():
    with pytest.raises(TabdistillError, match="space of architectures, not one net"):
        parse_arch("random")


def test_draws_are_reproducible_and_cover_the_space():
    space = parse_space("random")
    a = draws(space, seed=1, epoch=3, steps=50, models=3)
    assert a.shape == (50, 3, 2)
    np.testing.assert_array_equal(a, draws(space, seed=1, epoch=3, steps=50, models=3))
    assert not np.array_equal(a, draws(space, seed=2, epoch=3, steps=50, models=3))
    assert not np.array_equal(a, draws(space, seed=1, epoch=4, steps=50, models=3))
    assert set(a[..., 0].ravel()) == set(range(len(space.branches)))
    assert set(a[..., 1].ravel()) == set(space.widths)
    nets = {space.net(d).name for d in a.reshape(-1, 2)}
    assert "linear" in nets and any(n.startswith("mlp:8x") for n in nets)


@pytest.mark.parametrize("net", [
    "mlp:3x2:gelu",
    pytest.param("mlp:2x2:tanh", marks=pytest.mark.slow),
    pytest.param("mlp:3x1:relu", marks=pytest.mark.slow),
    pytest.param("mlp:4x3:elu", marks=pytest.mark.slow),
])
def test_a_narrow_draw_trains_and_differentiates_like_the_narrow_net(x64, net):
    """The wide branch with ``live`` units equals the narrow net, weights and hypergradient."""
    narrow = parse_arch(net)
    width, depth = narrow.hidden[0], len(narrow.hidden)
    wide = Architecture("wide", (5,) * depth, narrow.activation)
    params = wide.init(jax.random.PRNGKey(0), 2, 1, live=jnp.asarray(width))

    def live_part(params):
        return tuple((w[: w.shape[0] if i == 0 else width, : 1 if i == depth else width],
                      b[: 1 if i == depth else width]) for i, (w, b) in enumerate(params))

    cut = live_part(params)
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    x = jax.random.normal(keys[0], (3, 4, 2))
    t = jax.random.uniform(keys[1], (3, 4, 1))
    lrs = 0.3 + 0.1 * jax.random.uniform(keys[2], (6,))
    index = jnp.arange(6) % 3
    xb = jax.random.normal(keys[2], (9, 2))
    tb = one_hot_targets(jnp.arange(9) % 2, 2)

    def loss(arch, p, x, t, lrs):
        return loss_fn(arch.apply(unroll(arch, p, x, t, index, lrs), xb), tb)

    trained = unroll(wide, params, x, t, index, lrs)
    for i, (w, b) in enumerate(trained[:-1]):  # dead units are still exactly zero
        assert not np.any(np.asarray(w[:, width:])) and not np.any(np.asarray(b[width:]))
        assert not np.any(np.asarray(trained[i + 1][0][width:]))
    np.testing.assert_allclose(*(np.concatenate([np.ravel(a) for a in jax.tree.leaves(p)])
                                 for p in (live_part(trained),
                                           unroll(narrow, cut, x, t, index, lrs))),
                               rtol=1e-12, atol=1e-14)
    g_wide = jax.grad(loss, argnums=(2, 3, 4))(wide, params, x, t, lrs)
    g_narrow = jax.grad(loss, argnums=(2, 3, 4))(narrow, cut, x, t, lrs)
    for a, b in zip(g_wide, g_narrow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        assert np.abs(a).sum() > 0


@pytest.mark.parametrize("memory", ["store", pytest.param("checkpoint", marks=pytest.mark.slow)])
def test_drawn_hypergradient_matches_finite_differences(x64, memory):
    config = DistillConfig(arch="random:2/3:0-2:tanh/elu", steps=3, epochs=2,
                           per_class=2, models=4, memory=memory, learn_labels=True)
    engine = Distiller_(config, n_features=2, n_classes=2)
    learned = dict(engine.init_state(seed=3, restart=0).learned)
    key = jax.random.PRNGKey(3)
    learned["raw_lr"] = learned["raw_lr"] + 0.3 * jax.random.normal(key, learned["raw_lr"].shape)
    # linear, a narrow tanh net, a wide two-layer elu net, a narrow two-layer tanh net
    names = {b.name: i for i, b in enumerate(engine.space.branches)}
    drawn = jnp.array([[names["linear"], 2], [names["mlp:3x1:tanh"], 2],
                       [names["mlp:3x2:elu"], 3], [names["mlp:3x2:tanh"], 2]], jnp.int32)
    models = (jax.random.split(jax.random.PRNGKey(4), 4), drawn)
    xb = jax.random.normal(jax.random.PRNGKey(5), (16, 2))
    tb = one_hot_targets(jax.random.randint(jax.random.PRNGKey(6), (16,), 0, 2), 2)
    wb = jnp.ones(16).at[-3:].set(0.0)

    @jax.jit
    def loss(x, raw_lr, targets):
        return engine.outer_loss({"x": x, "raw_lr": raw_lr, "targets": targets}, models, xb,
                                 tb, wb)

    check_grads(loss, (learned["x"], learned["raw_lr"], learned["targets"]), order=1,
                modes=["rev"], eps=1e-5, atol=1e-6, rtol=1e-5)


@pytest.mark.slow  # two compiles; the command-line test below runs a short one too
def test_a_short_random_distillation_is_finite_and_reproducible(tiny_moons):
    config = DistillConfig(arch="random:4/8:0-2:tanh/relu", steps=3, epochs=1, per_class=2,
                           models=2, outer_epochs=2, batch_size=40, restarts=2, seed=5)
    both = distill(tiny_moons, config)
    assert np.isfinite(both.x).all() and np.isfinite(both.lrs).all()
    assert np.isfinite(both.loss_history).all() and both.loss_history.shape == (2, 6)
    assert not np.allclose(both.x[0], both.x[1])
    alone = distill(tiny_moons, config, restart_ids=(1,))
    np.testing.assert_allclose(alone.x[0], both.x[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(alone.loss_history[0], both.loss_history[1], rtol=1e-5)


def test_the_guarded_step_is_the_plain_gradient_and_drops_blown_up_models(x64):
    config = DistillConfig(arch="random:3:0-1:tanh", steps=2, epochs=1, per_class=2, models=3)
    engine = Distiller_(config, n_features=2, n_classes=2)
    learned = dict(engine.init_state(seed=0, restart=0).learned)
    models = (jax.random.split(jax.random.PRNGKey(1), 3), jnp.array([[0, 3], [1, 2], [1, 3]]))
    xb = jax.random.normal(jax.random.PRNGKey(2), (8, 2))
    tb = one_hot_targets(jnp.arange(8) % 2, 2)
    wb = jnp.ones(8)
    loss, grads = engine._drawn_value_and_grad(learned, *models, xb, tb, wb)
    plain_loss, plain = jax.value_and_grad(engine.outer_loss)(learned, models, xb, tb, wb)
    np.testing.assert_allclose(loss, plain_loss, rtol=1e-12)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    # An object at inf blows up every model that sees it: the loss says so (the run stops as
    # diverged), but the gradient stays finite instead of turning the state into NaN.
    learned["x"] = learned["x"].at[0, 0, 0].set(jnp.inf)
    loss, grads = engine._drawn_value_and_grad(learned, *models, xb, tb, wb)
    assert np.isnan(loss)
    assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))


def test_the_command_line_records_the_space_and_evaluates_named_nets(tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["distill", "moons", "--arch", "random:4:0-1:tanh", "--steps", "2",
                 "--epochs", "1", "--outer-epochs", "1", "--batch-size", "256", "--quiet",
                 "--eval-inits", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert all(f"{net} trained on it" in printed for net in ("linear", "mlp2", "mlp4"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(np.isfinite(v).all() for v in np.load(out / "distilled.npz").values())
    assert manifest["config"]["arch"] == ["random:4:0/1:tanh"]
    assert main(["evaluate", str(out), "--strategy", "fixed", "--inits", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["arch"] == "mlp2" and 0 <= summary["accuracy_mean"] <= 1
