"""The inner loop: plain SGD on synthetic batches, unrolled so that it can be differentiated.

Step ``k`` takes synthetic batch ``batch_index[k]`` with learning rate ``lrs[k]`` (the paper's
equation 2, with ``batch_index[k] = k mod s`` during distillation). Two memory modes give the
same numbers:

* ``store`` keeps every inner state for the reverse pass (the paper's Algorithm 2);
* ``checkpoint`` keeps only the states at segment boundaries, about ``sqrt(n)`` of them, and
  recomputes each segment's states when the reverse pass reaches it (O(sqrt n) memory for one
  more forward pass).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

from .models import Architecture, loss_fn

MEMORY_MODES = ("store", "checkpoint")


def sgd_step(arch: Architecture, params, x: jax.Array, targets: jax.Array, lr: jax.Array):
    """One plain gradient step of one model on one batch."""
    grads = jax.grad(lambda p: loss_fn(arch.apply(p, x), targets))(params)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads)


def unroll(
    arch: Architecture,
    params,
    x_steps: jax.Array,
    t_steps: jax.Array,
    batch_index: jax.Array,
    lrs: jax.Array,
    *,
    memory: str = "store",
    segment: int | None = None,
):
    """Trains one model through ``len(lrs)`` steps and returns its final parameters.

    Args:
      arch: the architecture of ``params``.
      params: initial parameters.
      x_steps: synthetic objects, ``[s, P, d]`` (``s`` batches of ``P`` objects).
      t_steps: their targets, ``[s, P, K]``.
      batch_index: ``[n]`` integers, which batch each step takes.
      lrs: ``[n]`` learning rates.
      memory: ``store`` or ``checkpoint`` (see the module docstring).
      segment: steps per checkpointed segment; ``ceil(sqrt(n))`` by default.
    """

    def step(p, inputs):
        i, lr = inputs
        return sgd_step(arch, p, x_steps[i], t_steps[i], lr), None

    if memory == "store":
        params, _ = lax.scan(step, params, (batch_index, lrs))
        return params
    if memory != "checkpoint":
        raise ValueError(f"unknown memory mode {memory!r}; expected one of {MEMORY_MODES}")

    n = lrs.shape[0]
    length = segment or max(1, math.ceil(math.sqrt(n)))
    n_segments = -(-n // length)
    pad = n_segments * length - n
    # Padded steps have learning rate 0, so they leave the parameters exactly as they are.
    batch_index = jnp.concatenate([batch_index, jnp.zeros(pad, batch_index.dtype)])
    lrs = jnp.concatenate([lrs, jnp.zeros(pad, lrs.dtype)])
    segments = (batch_index.reshape(n_segments, length), lrs.reshape(n_segments, length))

    @jax.checkpoint
    def run_segment(p, seg):
        return lax.scan(step, p, seg)[0]

    params, _ = lax.scan(lambda p, seg: (run_segment(p, seg), None), params, segments)
    return params
