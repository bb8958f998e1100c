"""Where synthetic rows may lie, as a parameterisation: the data's domain.

A row is not stored but made from unconstrained parameters ``u`` (:func:`rows`), so no row
ever leaves the domain and nothing is clipped afterwards: a numeric feature is
``lo + (hi - lo) * sigmoid(u)`` with ``[lo, hi]`` its observed train range (in the model's
standardised space); a categorical column's one-hot block is ``softmax(u_block)``, a point of
the simplex (its values sum to 1). Gradients reach ``u`` through the map, so any method that
moves rows by gradient (``kip``, ``wang --in-domain``) moves them inside the domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .runtime import SAFE_PRODUCTS

EPS = 1e-3  # how near a bound (or zero, in a block) a start may lie: logits stay finite


@dataclass(frozen=True, eq=False)
class Domain:
    """Where rows may lie: numeric features in ``[lo, hi]``, one-hot blocks on the simplex.

    ``block`` is the block id of each feature (-1: numeric)."""

    lo: np.ndarray  # [d] float32
    hi: np.ndarray  # [d] float32
    block: np.ndarray  # [d] int32

    @classmethod
    def of(cls, X: np.ndarray, onehot_blocks=()) -> Domain:
        """The observed domain of rows ``X`` [N, d], with one-hot blocks ``(start, stop)``."""
        block = np.full(X.shape[1], -1, np.int32)
        for b, (start, stop) in enumerate(onehot_blocks):
            block[start:stop] = b
        return cls(X.min(0).astype(np.float32), X.max(0).astype(np.float32), block)

    def params(self, X: np.ndarray) -> np.ndarray:
        """The parameters ``u`` [n, d] whose rows are ``X`` (clamped just inside the domain)."""
        span = np.maximum(self.hi - self.lo, 1e-12)
        p = np.clip((X - self.lo) / span, EPS, 1 - EPS)
        u = np.where(self.block < 0, np.log(p) - np.log1p(-p),
                     np.log(np.clip(X, EPS, None)))
        return u.astype(np.float32)

    def arrays(self):
        """``(lo, span, same)`` for :func:`rows`: ``same[i, j]`` is 1 where features ``i`` and
        ``j`` are in one block."""
        same = (self.block[:, None] == self.block[None, :]) & (self.block[:, None] >= 0)
        return (jnp.asarray(self.lo), jnp.asarray(self.hi - self.lo),
                jnp.asarray(same, jnp.float32))


def rows(u, lo, span, same):
    """Rows ``[..., d]`` of parameters ``u`` [..., d]: a sigmoid onto each numeric range, a
    softmax over each one-hot block."""
    onehot = same.sum(0) > 0  # [d]
    numeric = lo + span * jax.nn.sigmoid(u)
    # The row's largest logit over all blocks keeps exp in range; a block's share is unchanged.
    top = lax.stop_gradient(jnp.max(jnp.where(onehot, u, -jnp.inf), axis=-1, keepdims=True))
    e = jnp.where(onehot, jnp.exp(u - jnp.where(jnp.isfinite(top), top, 0.0)), 0.0)
    total = e @ same  # [n, d]: each feature's block sum
    return jnp.where(onehot, e / jnp.where(onehot, total, 1.0), numeric)


# :func:`rows` for calls outside a compiled program (kip's and a distillation's last rows),
# compiled on its own: its product by ``same`` is one that XLA can fail to compile under this
# package's flags (runtime.SAFE_PRODUCTS).
compiled_rows = jax.jit(rows, compiler_options=SAFE_PRODUCTS)
