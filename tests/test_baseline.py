"""The compiled full-data training equals a plain Python loop, and learns the moons."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tabdistill import load_dataset
from tabdistill.baseline import BaselineConfig, init_keys, train_full
from tabdistill.models import loss_fn, one_hot_targets, parse_arch, predict_class
from tabdistill.training import minibatches


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons")


def _loop(dataset, config):
    """The same training, one Python step at a time (the reference)."""
    arch = parse_arch(config.arch)
    X, y = jnp.asarray(dataset.X_train), jnp.asarray(dataset.y_train)
    T = one_hot_targets(y, dataset.n_classes)
    n_batches = -(-len(y) // config.batch_size)
    opt = optax.adam(config.recipe.learning_rate(n_batches), b1=config.beta1, b2=config.beta2)
    @jax.jit
    def step(params, state, rows):
        grads = jax.grad(lambda p: loss_fn(arch.apply(p, X[rows]), T[rows]))(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    accs = []
    for key in init_keys(config):
        k_init, k_epochs = jax.random.split(key)
        params = arch.init(k_init, 2, 1, config.init)
        state = opt.init(params)
        for k in jax.random.split(k_epochs, config.epochs):
            idx, w = minibatches(k, len(y), config.batch_size)
            for b in range(n_batches):
                rows = idx[b][w[b] > 0]  # the real rows of the batch, no padding
                params, state = step(params, state, rows)
        logits = arch.apply(params, jnp.asarray(dataset.X_test))
        accs.append(float(jnp.mean(predict_class(logits) == jnp.asarray(dataset.y_test))))
    return np.array(accs)


def test_compiled_equals_loop(moons):
    config = BaselineConfig(arch="mlp2", inits=2, epochs=2, halve_every=1)
    compiled = train_full(moons, config)
    np.testing.assert_allclose(compiled.accuracy, _loop(moons, config), atol=1e-6)
    assert compiled.curve_accuracy.shape == (2, 2)
    np.testing.assert_allclose(compiled.curve_accuracy[:, -1], compiled.accuracy)


def test_learns_moons(moons):
    result = train_full(moons, BaselineConfig(arch="mlp4", inits=2, epochs=40))
    assert result.accuracy.min() > 0.85
    assert result.curve_accuracy[:, -1].mean() > result.curve_accuracy[:, 0].mean()


def test_lr_halves_every_40_epochs():
    lr = BaselineConfig().recipe.learning_rate(batches_per_unit=16)
    assert float(lr(0)) == pytest.approx(1e-3)
    assert float(lr(40 * 16 - 1)) == pytest.approx(1e-3)
    assert float(lr(40 * 16)) == pytest.approx(5e-4)
    assert float(lr(80 * 16)) == pytest.approx(2.5e-4)
