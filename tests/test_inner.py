"""The compiled inner loop equals a plain Python loop, in both memory modes, and the loop
compiled from C equals the JAX one, gradients included."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_trees_close

from tabdistill import native
from tabdistill.inner import unroll
from tabdistill.models import loss_fn, parse_arch


def python_loop(arch, params, x, t, batch_index, lrs):
    for i, lr in zip(np.asarray(batch_index), np.asarray(lrs), strict=True):
        grads = jax.grad(lambda p, i=i: loss_fn(arch.apply(p, x[i]), t[i]))(params)
        params = jax.tree.map(lambda p, g, lr=lr: p - lr * g, params, grads)
    return params


@pytest.fixture(params=["c", "jax"])
def loop(request, monkeypatch):
    """Runs a test with the loop compiled from C (tabdistill.native), then with JAX's."""
    if request.param == "c" and not native.available():
        pytest.skip("no C compiler here: only the JAX loop runs")
    monkeypatch.setenv(native.ENV, "on" if request.param == "c" else "off")
    return request.param


@pytest.mark.parametrize("spec", ["linear", "mlp2", "mlp:5x3:tanh"])
@pytest.mark.parametrize("memory", ["store", "checkpoint"])
def test_compiled_loop_equals_python_loop(x64, loop, spec, memory):
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


# ---- the loop compiled from C (tabdistill.native) against the JAX one ----------------------


def _trained_loss_and_grads(arch, memory, dtype, n_classes, steps=11):
    """The loss of 3 nets (vmapped, as in distillation) after the loop, and its gradient with
    respect to the initial weights, the rows, the targets and the lrs."""
    d, s, P = 3, 4, 5
    k = n_classes if n_classes > 2 else 1
    rng = np.random.default_rng(1)
    params = jax.vmap(lambda key: arch.init(key, d, k))(jax.random.split(jax.random.PRNGKey(0), 3))
    params = jax.tree.map(lambda a: a.astype(dtype), params)
    x, t = (jnp.asarray(rng.normal(size=(s, P, d)), dtype),
            jnp.asarray(rng.uniform(size=(s, P, k)), dtype))  # soft targets, as learned labels
    lrs = jnp.asarray(rng.uniform(0.05, 0.3, size=steps), dtype)
    xb = jnp.asarray(rng.normal(size=(7, d)), dtype)
    index = jnp.arange(steps, dtype=jnp.int32) % s

    def loss(params, x, t, lrs):
        trained = jax.vmap(lambda p: unroll(arch, p, x, t, index, lrs, memory=memory))(params)
        return jnp.sum(jnp.sin(jax.vmap(lambda p: arch.apply(p, xb))(trained)))

    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))(params, x, t, lrs)


def _both_loops(monkeypatch, *args):
    if not native.available():
        pytest.skip("no C compiler here: only the JAX loop runs")
    out = {}
    for setting in ("off", "on"):
        monkeypatch.setenv(native.ENV, setting)
        out[setting] = _trained_loss_and_grads(*args)
    return out["on"], out["off"]


@pytest.mark.parametrize("spec,n_classes,memory", [
    ("mlp2", 2, "checkpoint"),  # 11 steps in segments of 4: the last one short
    ("mlp4", 3, "store"),
    ("mlp:16x2:identity", 4, "store"),
    ("mlp:3x1", 2, "checkpoint"),
])
def test_the_c_loop_equals_the_jax_loop_with_its_gradients(x64, monkeypatch, spec, n_classes,
                                                           memory):
    c_loop, jax_loop = _both_loops(monkeypatch, parse_arch(spec), memory, jnp.float64, n_classes)
    assert_trees_close(c_loop, jax_loop, rtol=1e-11, atol=1e-13)


def test_the_c_loop_equals_the_jax_loop_in_float32(monkeypatch):
    c_loop, jax_loop = _both_loops(monkeypatch, parse_arch("mlp4"), "store", jnp.float32, 2, 60)
    assert c_loop[0].dtype == jnp.float32
    assert_trees_close(c_loop, jax_loop, rtol=2e-4, atol=2e-5)


def test_without_a_c_compiler_the_jax_loop_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "false")  # a compiler that always fails
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing built there yet
    monkeypatch.delenv(native.ENV, raising=False)
    native._library.cache_clear()
    try:
        assert not native.enabled()
        arch = parse_arch("mlp2")
        params = arch.init(jax.random.PRNGKey(0), 2, 1)
        x, t = jnp.ones((1, 2, 2)), jnp.ones((1, 2, 1))
        program = jax.make_jaxpr(lambda p: unroll(arch, p, x, t, jnp.zeros(3, jnp.int32),
                                                  jnp.full(3, 0.1)))(params)
        assert "ffi_call" not in str(program) and "scan" in str(program)
    finally:
        native._library.cache_clear()  # the next test finds the real library again


@pytest.mark.parametrize("spec,features", [("linear", 2), ("mlp:4x2:tanh", 2), ("mlp:17x2", 2),
                                           ("mlp2", 17)])
def test_nets_the_c_loop_does_not_run_take_the_jax_loop(monkeypatch, spec, features):
    monkeypatch.setenv(native.ENV, "on")
    arch = parse_arch(spec)
    params = arch.init(jax.random.PRNGKey(0), features, 1)
    x, t = jnp.ones((1, 2, features)), jnp.ones((1, 2, 1))
    program = str(jax.make_jaxpr(lambda p: unroll(arch, p, x, t, jnp.zeros(3, jnp.int32),
                                                  jnp.full(3, 0.1)))(params))
    assert not native.runs(arch, features) and "ffi_call" not in program


def test_the_c_loop_refuses_a_batch_index_out_of_range(monkeypatch):
    if not native.available():
        pytest.skip("no C compiler here: only the JAX loop runs")
    monkeypatch.setenv(native.ENV, "on")
    arch = parse_arch("mlp2")
    params = arch.init(jax.random.PRNGKey(0), 2, 1)
    x, t = jnp.ones((2, 3, 2)), jnp.ones((2, 3, 1))  # two batches: index 5 reads past them
    with pytest.raises(Exception, match="batch index is out of range"):
        jax.block_until_ready(unroll(arch, params, x, t, jnp.array([0, 5], jnp.int32),
                                     jnp.full(2, 0.1)))
