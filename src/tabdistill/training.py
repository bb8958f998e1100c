"""Training fresh nets: the one loop behind every net this package trains from scratch.

:func:`fit_rows` runs Adam on minibatches of plain rows as a :class:`Recipe` says (full-data
baselines, nets on plain rows); :func:`fit_schedule` runs SGD through a distilled set's steps
(:func:`.inner.unroll`; evaluation, nets on distilled sets). Each is one compiled program per
shape, vmapped over the nets' keys; given a test part ``(X_test, y_test)``, both record its
accuracy and log-loss as training goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import optax
from jax import lax

from .inner import unroll
from .models import Architecture, loss_fn, one_hot_targets, predict_class
from .runtime import COMPILER_OPTIONS


@dataclass(frozen=True)
class Recipe:
    """Adam through ``units`` units: each an epoch (a fresh permutation of the rows in padded
    minibatches) or, with ``draw``, one minibatch drawn with replacement (all rows, in order,
    when ``batch_size`` is their number). Test metrics are recorded after each unit."""

    units: int
    batch_size: int
    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    halve_every: int | None = None  # units between halvings of the lr (None: constant)
    draw: bool = False
    init: str = "xavier-normal"

    def learning_rate(self, batches_per_unit: int) -> float | optax.Schedule:
        if self.halve_every is None:
            return self.lr
        return optax.exponential_decay(self.lr, self.halve_every * batches_per_unit, 0.5,
                                       staircase=True)


def minibatches(key: jax.Array, n: int, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """One epoch's shuffled row indices ``[B, batch_size]`` and weights ``[B, batch_size]``.

    The last minibatch is topped up with weight-0 rows so that every step has one shape; the
    weighted mean over it equals the mean over a short last batch.
    """
    n_batches = -(-n // batch_size)
    pad = n_batches * batch_size - n
    perm = jax.random.permutation(key, n)
    idx = perm[jnp.arange(n_batches * batch_size) % n].reshape(n_batches, batch_size)
    weights = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(n_batches, batch_size)
    return idx, weights


def _unit(recipe: Recipe, key, n: int):
    """One unit's row indices ``[B, b]`` and weights (``None``: every row counts)."""
    if not recipe.draw:
        return minibatches(key, n, recipe.batch_size)
    if recipe.batch_size == n:
        return jnp.arange(n)[None], None
    return jax.random.randint(key, (1, recipe.batch_size), 0, n), None


def _fresh(arch: Architecture, key, d: int, k: int, init: str, dtype):
    return jax.tree.map(lambda a: a.astype(dtype), arch.init(key, d, k, init))


def _metrics(arch: Architecture, params, test, n_out: int):
    """Accuracy and mean log-loss of one net on ``test = (X_test, y_test)``."""
    X_test, y_test = test
    logits = arch.apply(params, X_test)
    T_test = one_hot_targets(y_test, 2 if n_out == 1 else n_out)
    return jnp.mean(predict_class(logits) == y_test), loss_fn(logits, T_test)


# XLA:CPU rounds a vmapped product of one net differently from a plain one, so each function
# vmaps over an axis only when its arguments have it.


@partial(jax.jit, static_argnames=("arch", "recipe"),
         compiler_options=COMPILER_OPTIONS)
def fit_rows(arch: Architecture, recipe: Recipe, X, T, keys, test=None):
    """Trains fresh nets on the rows ``X [N, d]`` with targets ``T [N, K]``.

    ``keys`` is ``[2]`` for one net or ``[I, 2]`` for ``I``; a net draws its init and its
    minibatches from its key. Returns ``(params, curves)``: the final weights (each leaf with
    the leading axes of ``keys`` but the last) and ``(accuracy, logloss)`` on ``test`` after
    each unit, ``[..., units]`` (``None`` without ``test``).
    """
    n = X.shape[0]
    batches_per_unit = 1 if recipe.draw else -(-n // recipe.batch_size)
    optimizer = optax.adam(recipe.learning_rate(batches_per_unit), b1=recipe.beta1,
                           b2=recipe.beta2)

    def step(carry, batch):
        params, opt_state = carry
        idx, w = batch
        grads = jax.grad(lambda p: loss_fn(arch.apply(p, X[idx]), T[idx], w))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    def unit(carry, key):
        carry, _ = lax.scan(step, carry, _unit(recipe, key, n))
        return carry, None if test is None else _metrics(arch, carry[0], test, T.shape[-1])

    def one_net(key):
        k_init, k_units = jax.random.split(key)
        params = _fresh(arch, k_init, X.shape[1], T.shape[-1], recipe.init, X.dtype)
        (params, _), curves = lax.scan(unit, (params, optimizer.init(params)),
                                       jax.random.split(k_units, recipe.units))
        return params, curves

    return one_net(keys) if keys.ndim == 1 else jax.vmap(one_net)(keys)


@partial(jax.jit, static_argnames=("arch", "init", "every"),
         compiler_options=COMPILER_OPTIONS)
def fit_schedule(arch: Architecture, x, targets, batch_index, lrs, keys, test=None, *,
                 init: str, every: int | None = None):
    """Trains fresh nets by SGD: step ``k`` on synthetic batch ``batch_index[k]`` ``[n]``
    with lr ``lrs[k]``.

    ``x`` ``[s, P, d]``, ``targets`` ``[s, P, K]`` and ``lrs`` ``[n]`` may have a leading
    ``[R]`` axis of restarts; ``keys`` is ``[2]`` for one net, ``[I, 2]`` for ``I`` (per
    restart: ``[R, I, 2]``). Returns ``(params, curves)`` as :func:`fit_rows` does, with
    ``(accuracy, logloss)`` on ``test`` every ``every`` steps (default: at the end).
    """
    n = batch_index.shape[0]
    every = every or n
    pad = -n % every  # lr-0 steps change nothing; they only square the shape
    index = jnp.concatenate([batch_index, jnp.zeros(pad, batch_index.dtype)]).reshape(-1, every)
    lrs = jnp.concatenate([lrs, jnp.zeros((*lrs.shape[:-1], pad), lrs.dtype)], -1)
    lrs = lrs.reshape(*lrs.shape[:-1], -1, every)

    def one_net(key, x, targets, lrs):
        def segment(p, seg):
            p = unroll(arch, p, x, targets, *seg)
            return p, None if test is None else _metrics(arch, p, test, targets.shape[-1])

        params = _fresh(arch, key, x.shape[-1], targets.shape[-1], init, x.dtype)
        return lax.scan(segment, params, (index, lrs))

    def nets(keys, x, targets, lrs):
        if keys.ndim == 1:
            return one_net(keys, x, targets, lrs)
        return jax.vmap(one_net, in_axes=(0, None, None, None))(keys, x, targets, lrs)

    return nets(keys, x, targets, lrs) if x.ndim == 3 else jax.vmap(nets)(keys, x, targets, lrs)
