"""The compiled inner loop equals a plain Python loop, in both memory modes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_trees_close

from tabdistill.inner import unroll
from tabdistill.models import loss_fn, parse_arch


def python_loop(arch, params, x, t, batch_index, lrs):
    for i, lr in zip(np.asarray(batch_index), np.asarray(lrs), strict=True):
        grads = jax.grad(lambda p, i=i: loss_fn(arch.apply(p, x[i]), t[i]))(params)
        params = jax.tree.map(lambda p, g, lr=lr: p - lr * g, params, grads)
    return params


@pytest.mark.parametrize("spec", ["linear", "mlp2", "mlp:5x3:tanh"])
@pytest.mark.parametrize("memory", ["store", "checkpoint"])
def test_compiled_loop_equals_python_loop(x64, spec, memory):
    arch = parse_arch(spec)
    key = jax.random.PRNGKey(0)
    k1, k2, k3 = jax.random.split(key, 3)
    n_classes = 3
    x = jax.random.normal(k1, (4, 6, 3))
    t = jax.nn.one_hot(jax.random.randint(k2, (4, 6), 0, n_classes), n_classes)
    params = arch.init(k3, 3, n_classes)
    batch_index = jnp.arange(11) % 4  # 11 steps: the checkpointed mode pads to 4 x 3
    lrs = jnp.linspace(0.05, 0.3, 11)
    compiled = jax.jit(lambda p: unroll(arch, p, x, t, batch_index, lrs, memory=memory))(params)
    assert_trees_close(compiled, python_loop(arch, params, x, t, batch_index, lrs),
                       rtol=1e-10, atol=1e-12)


def test_training_on_a_separable_batch_lowers_the_loss():
    arch = parse_arch("mlp2")
    x = jnp.array([[[-1.0, 0.0], [1.0, 0.0]]])
    t = jnp.array([[[0.0], [1.0]]])
    params = arch.init(jax.random.PRNGKey(0), 2, 1)
    trained = unroll(arch, params, x, t, jnp.zeros(50, jnp.int32), jnp.full(50, 0.5))
    before, after = (loss_fn(arch.apply(p, x[0]), t[0]) for p in (params, trained))
    assert after < 0.5 * before
