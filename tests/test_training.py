"""Both ways of training a fresh net equal hand-written numpy loops on a linear model (float64):
Adam on minibatches (:func:`fit_rows`) and SGD through a schedule (:func:`fit_schedule`)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tabdistill.models import parse_arch
from tabdistill.training import Recipe, fit_rows, fit_schedule, minibatches

LINEAR = parse_arch("linear")


def _grads(W, b, X, t, w):
    """Gradient of the weighted mean binary cross-entropy of ``X @ W + b`` against ``t``."""
    dz = (1 / (1 + np.exp(-(X @ W + b))) - t) * (w / w.sum())[:, None]  # [N, 1]
    return X.T @ dz, dz.sum(0)


def _score(W, b, X_test, y_test):
    z = (X_test @ W + b)[:, 0]
    logloss = np.mean(np.logaddexp(0, z) - y_test * z)
    return np.mean((z > 0) == y_test), logloss


def _assert_curves(acc, ll, curve):
    """Recorded (accuracy, log-loss) against the reference's; accuracy is a float32 mean."""
    np.testing.assert_allclose(acc, [a for a, _ in curve], rtol=1e-6)
    np.testing.assert_allclose(ll, [v for _, v in curve], rtol=1e-10)


def _problem(n=13, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.int32)
    return X, y


def _init(key, d):
    ((W, b),) = LINEAR.init(key, d, 1)
    return np.asarray(W), np.asarray(b)


def test_minibatches_cover_every_row_once_and_pad_with_weight_zero():
    idx, w = minibatches(jax.random.PRNGKey(3), 10, 4)
    assert idx.shape == w.shape == (3, 4)
    np.testing.assert_array_equal(np.sort(np.asarray(idx)[np.asarray(w) > 0]), np.arange(10))
    assert np.asarray(w).sum() == 10 and np.all(np.asarray(w)[-1, 2:] == 0)


@pytest.mark.parametrize("draw", [False, True])
def test_recipe_is_adam_on_the_minibatches(x64, draw):
    X, y = _problem()
    X_test, y_test = _problem(7, seed=1)
    recipe = Recipe(units=3, batch_size=len(y) if draw else 5, lr=0.1, beta1=0.5,
                    halve_every=2, draw=draw, init="xavier-normal")
    key = jax.random.PRNGKey(7)
    params, (acc, ll) = fit_rows(LINEAR, recipe, jnp.asarray(X), jnp.asarray(y[:, None], float),
                                 key[None], (jnp.asarray(X_test), jnp.asarray(y_test)))

    k_init, k_units = jax.random.split(key)
    W, b = _init(k_init, X.shape[1])
    state = [np.zeros_like(W), np.zeros_like(b), np.zeros_like(W), np.zeros_like(b)]
    count, curve = 0, []
    for k in jax.random.split(k_units, recipe.units):
        if draw:  # a minibatch as large as the table is the whole table, in order
            batches = [np.arange(len(y))]
        else:  # one permutation cut into minibatches, the last one short
            perm = np.asarray(jax.random.permutation(k, len(y)))
            batches = [perm[i : i + recipe.batch_size]
                       for i in range(0, len(y), recipe.batch_size)]
        per_unit = len(batches)
        for idx in batches:
            # optax's schedules give float32 lrs, even in float64
            lr = float(np.float32(recipe.lr * 0.5 ** (count // (recipe.halve_every * per_unit))))
            count += 1
            grads, new = _grads(W, b, X[idx], y[idx, None], np.ones(len(idx))), []
            for p, g, m, v in zip((W, b), grads, state[:2], state[2:], strict=True):
                m = recipe.beta1 * m + (1 - recipe.beta1) * g
                v = recipe.beta2 * v + (1 - recipe.beta2) * g * g
                m_hat, v_hat = m / (1 - recipe.beta1**count), v / (1 - recipe.beta2**count)
                new.append((p - lr * m_hat / (np.sqrt(v_hat) + 1e-8), m, v))
            (W, mW, vW), (b, mb, vb) = new
            state = [mW, mb, vW, vb]
        curve.append(_score(W, b, X_test, y_test))

    ((W_fit, b_fit),) = params
    np.testing.assert_allclose(W_fit[0], W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b_fit[0], b, rtol=1e-10, atol=1e-12)
    _assert_curves(acc[0], ll[0], curve)


def test_schedule_is_sgd_through_the_steps(x64):
    rng = np.random.default_rng(2)
    R, s, P, d, n, every = 2, 3, 4, 3, 8, 3  # 8 steps recorded at 3, 6 and 8
    x = rng.normal(size=(R, s, P, d))
    t = rng.integers(0, 2, size=(R, s, P, 1)).astype(float)
    batch_index = np.arange(n) % s
    lrs = rng.uniform(0.05, 0.5, size=(R, n))
    X_test, y_test = _problem(9, d, seed=3)
    keys = jax.random.split(jax.random.PRNGKey(4), R * 2).reshape(R, 2, 2)
    params, (acc, ll) = fit_schedule(LINEAR, jnp.asarray(x), jnp.asarray(t),
                                     jnp.asarray(batch_index), jnp.asarray(lrs), keys,
                                     (jnp.asarray(X_test), jnp.asarray(y_test)),
                                     init="xavier-normal", every=every)
    assert acc.shape == ll.shape == (R, 2, 3)
    ((W_fit, b_fit),) = params
    for r in range(R):
        for i in range(2):
            W, b = _init(keys[r, i], d)
            curve = []
            for k in range(n):
                gW, gb = _grads(W, b, x[r, batch_index[k]], t[r, batch_index[k]], np.ones(P))
                W, b = W - lrs[r, k] * gW, b - lrs[r, k] * gb
                if (k + 1) % every == 0 or k + 1 == n:
                    curve.append(_score(W, b, X_test, y_test))
            np.testing.assert_allclose(W_fit[r, i], W, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(b_fit[r, i], b, rtol=1e-10, atol=1e-12)
            _assert_curves(acc[r, i], ll[r, i], curve)


def test_one_key_trains_one_net_like_the_vmapped_ones(x64):
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=(2, 4, 3)), rng.integers(0, 2, size=(2, 4, 1)).astype(float)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    args = (jnp.asarray(x), jnp.asarray(t), jnp.arange(5) % 2, jnp.full(5, 0.3))
    mlp = parse_arch("mlp2")
    many, _ = fit_schedule(mlp, *args, keys, init="xavier-normal")
    one, _ = fit_schedule(mlp, *args, keys[1], init="xavier-normal")
    for a, b in zip(jax.tree.leaves(many), jax.tree.leaves(one), strict=True):
        assert a.shape == (3, *b.shape)
        np.testing.assert_allclose(a[1], b, rtol=1e-12)
