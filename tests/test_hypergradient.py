"""The hypergradient (of the outer loss w.r.t. synthetic objects, learning rates and learned
labels) equals central finite differences in float64, for every architecture, a
multi-architecture set, both memory modes, every activation and every init."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from tabdistill.config import DistillConfig
from tabdistill.distill import Distiller_
from tabdistill.models import one_hot_targets

CASES = {
    "linear": ("linear",),
    "mlp2": ("mlp2",),
    "mlp4": ("mlp4",),
    "multi": ("linear", "mlp2", "mlp4"),
    "tanh-3class": ("mlp:6x2:tanh",),
}


def _problem(arch, memory, learn_labels, n_classes=2):
    config = DistillConfig(arch=arch, steps=3, epochs=2, per_class=2, models=len(arch) + 1,
                           memory=memory, learn_labels=learn_labels)
    engine = Distiller_(config, n_features=2, n_classes=n_classes)
    key = jax.random.PRNGKey(3)
    state = engine.init_state(seed=3, restart=0)
    # Move the lrs off their common start so that every step's lr matters differently.
    learned = dict(state.learned)
    learned["raw_lr"] = learned["raw_lr"] + 0.3 * jax.random.normal(key, learned["raw_lr"].shape)
    if learn_labels:
        learned["targets"] = learned["targets"] + 0.1 * jax.random.normal(
            key, learned["targets"].shape)
    theta0 = engine._draw_models(jax.random.PRNGKey(4))
    xb = jax.random.normal(jax.random.PRNGKey(5), (16, 2))
    yb = jax.random.randint(jax.random.PRNGKey(6), (16,), 0, n_classes)
    wb = jnp.ones(16).at[-3:].set(0.0)  # a padded tail, as in the last minibatch of an epoch
    return engine, learned, theta0, xb, one_hot_targets(yb, n_classes), wb


@pytest.mark.parametrize("memory", ["store", "checkpoint"])
@pytest.mark.parametrize("case", list(CASES))
def test_hypergradient_matches_finite_differences(x64, case, memory):
    n_classes = 3 if case == "tanh-3class" else 2
    engine, learned, theta0, xb, tb, wb = _problem(CASES[case], memory, True, n_classes)
    assert learned["x"].dtype == jnp.float64

    @jax.jit
    def loss(x, raw_lr, targets):
        learned = {"x": x, "raw_lr": raw_lr, "targets": targets}
        return engine.outer_loss(jax.tree.map(jnp.asarray, learned), theta0, xb, tb, wb)

    check_grads(loss, (learned["x"], learned["raw_lr"], learned["targets"]), order=1,
                modes=["rev"], eps=1e-5, atol=1e-6, rtol=1e-5)


def test_checkpoint_gradient_equals_store_gradient(x64):
    grads = {}
    for memory in ("store", "checkpoint"):
        engine, learned, theta0, xb, tb, wb = _problem(("mlp2", "mlp4"), memory, False)
        grads[memory] = jax.grad(engine.outer_loss)(learned, theta0, xb, tb, wb)
    for a, b in zip(jax.tree.leaves(grads["store"]), jax.tree.leaves(grads["checkpoint"]),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_fixed_labels_get_no_gradient(x64):
    engine, learned, theta0, xb, tb, wb = _problem(("mlp2",), "store", False)
    assert "targets" not in learned
    grads = jax.grad(engine.outer_loss)(learned, theta0, xb, tb, wb)
    assert set(grads) == {"x", "raw_lr"}
    assert np.abs(grads["x"]).sum() > 0 and np.abs(grads["raw_lr"]).sum() > 0


# Every activation (the hand-written reverse pass takes each one's slope and curvature from its
# own formula or from forward-mode AD) and every init (each draws weights of its own scale).
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "gelu", "elu", "identity")


def _small_loss(arch, init="xavier-normal", n_classes=3):
    """The outer loss of one small net (width 4, 2 hidden layers), as a jitted function of the
    synthetic objects, raw lrs and soft labels, and the point to check it at."""
    config = DistillConfig(arch=(arch,), steps=2, epochs=2, per_class=1, models=1,
                           learn_labels=True, init=init)
    engine = Distiller_(config, n_features=2, n_classes=n_classes)
    state = engine.init_state(seed=1, restart=0)
    key = jax.random.PRNGKey(7)
    learned = dict(state.learned)
    learned["raw_lr"] = learned["raw_lr"] + jax.random.normal(key, learned["raw_lr"].shape)
    learned["targets"] = learned["targets"] + 0.1 * jax.random.normal(key,
                                                                      learned["targets"].shape)
    theta0 = engine._draw_models(jax.random.PRNGKey(8))
    xb = jax.random.normal(jax.random.PRNGKey(9), (8, 2))
    tb = one_hot_targets(jax.random.randint(jax.random.PRNGKey(10), (8,), 0, n_classes),
                         n_classes)

    @jax.jit
    def loss(x, raw_lr, targets):
        return engine.outer_loss({"x": x, "raw_lr": raw_lr, "targets": targets}, theta0, xb, tb,
                                 jnp.ones(8))

    return loss, (learned["x"], learned["raw_lr"], learned["targets"])


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_every_activation_matches_finite_differences(x64, activation):
    loss, point = _small_loss(f"mlp:4x2:{activation}")
    check_grads(loss, point, order=1, modes=["rev"], eps=1e-5, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("init", ["xavier-normal", "xavier-uniform", "kaiming-normal",
                                  "kaiming-uniform"])
def test_every_init_matches_finite_differences(x64, init):
    loss, point = _small_loss("mlp:4x2:tanh", init=init, n_classes=2)
    check_grads(loss, point, order=1, modes=["rev"], eps=1e-5, atol=1e-6, rtol=1e-5)


def test_hypergradient_through_the_domain_matches_finite_differences(x64):
    """Rows made from parameters inside a domain (a numeric feature and a one-hot block): the
    gradient with respect to the parameters."""
    from tabdistill.domain import Domain

    domain = Domain(np.array([-1.0, 0.0, 0.0], np.float32), np.array([2.0, 1.0, 1.0], np.float32),
                    np.array([-1, 0, 0], np.int32))
    config = DistillConfig(arch=("mlp2",), steps=3, epochs=2, per_class=2, models=2,
                           in_domain=True)
    engine = Distiller_(config, n_features=3, n_classes=2, domain=domain)
    learned = dict(engine.init_state(seed=2, restart=0).learned)
    theta0 = engine._draw_models(jax.random.PRNGKey(4))
    xb = jax.random.normal(jax.random.PRNGKey(5), (16, 3))
    tb = one_hot_targets(jax.random.randint(jax.random.PRNGKey(6), (16,), 0, 2), 2)
    wb = jnp.ones(16)

    @jax.jit
    def loss(u):
        return engine.outer_loss({**learned, "x": u}, theta0, xb, tb, wb)

    check_grads(loss, (learned["x"],), order=1, modes=["rev"], eps=1e-5, atol=1e-6, rtol=1e-5)
    rows = np.asarray(engine.rows(learned["x"])).reshape(-1, 3)
    assert np.all(rows[:, 0] >= -1) and np.all(rows[:, 0] <= 2)
    np.testing.assert_allclose(rows[:, 1:].sum(1), 1.0)
