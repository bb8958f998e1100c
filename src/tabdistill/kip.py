"""Synthetic rows moved by a kernel objective, inside the data's domain.

The synthetic rows ``S`` keep their classes; real train rows ``X_b`` are drawn in
class-balanced batches; ``K`` is an RBF kernel ``exp(-gamma ||x - s||^2)`` with ``1 / gamma``
the median squared distance between real rows times ``width``. Two objectives (``head``):

* ``krr``, kernel inducing points (KIP; Nguyen, Chen & Lee, ICLR 2021): ``S`` is the support
  of a kernel ridge regression that must predict the real rows' centred one-hot classes,
  ``loss(S) = mean_b || Y_b - K(X_b, S) (K(S, S) + reg I)^-1 Y_S ||^2``; the solve is a few
  conjugate-gradient steps. A wide kernel: smooth boundaries, as nets and linear models draw.
* ``vote``, prototypes for a soft nearest-neighbour classifier (learning vector quantisation
  with a softmax): ``p(c | x)`` is class ``c``'s share of ``K(x, S)``, and the loss is the
  real rows' cross-entropy. A narrow kernel: the nearest rows decide, as in 1-NN. With
  ``neighbours = k > 1`` the vote is k-NN's, smoothed: each row of ``S`` weighs
  ``sigmoid(gamma (r - ||x - s||^2))``, where ``r`` lies halfway between the k-th and the
  (k+1)-th nearest squared distance, i.e. about 1 for the k nearest rows and 0 for the others.

The rows start at per-class k-means centroids, so the objective starts where k-means leaves
it, and move by Adam on the gradient ``jax.grad`` gives; the whole loop is one ``lax.scan`` in
one compiled call per shape.

**Domain constraints are the parameterisation** (:mod:`.domain`), so no row ever leaves the
data's domain and nothing is clipped afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from .domain import Domain, compiled_rows, rows
from .runtime import SAFE_PRODUCTS

CG_STEPS = 30  # conjugate-gradient steps per solve: an inexact solve is enough to move the rows


@dataclass(frozen=True)
class KipConfig:
    """Settings of :func:`kip_rows` (chosen on validation halves of the development tables)."""

    steps: int = 300
    lr: float = 0.03  # Adam's, on the unconstrained parameters
    batch: int = 512  # real rows per step
    reg: float = 1e-2  # ridge, relative to the kernel's diagonal (1 for RBF)
    width: float = 1.0  # kernel width, a multiple of the median squared distance
    head: str = "krr"  # "krr": kernel ridge regression; "vote": kernel-weighted class vote
    neighbours: int = 1  # "vote": the k of the k-NN vote it smooths


def sqdist(a, b):
    """``||a_i - b_j||^2`` [n, m] for rows ``a`` [n, d] and ``b`` [m, d]."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return jnp.maximum(sq, 0.0)


def rbf(a, b, gamma):
    """``exp(-gamma ||a_i - b_j||^2)`` [n, m] for rows ``a`` [n, d] and ``b`` [m, d]."""
    return jnp.exp(-gamma * sqdist(a, b))


def kip_loss(s, y_s, x_b, y_b, gamma, reg):
    """KRR from support ``s`` [n, d] (targets ``y_s`` [n, C]) to real rows ``x_b`` [B, d]:
    mean squared error against ``y_b`` [B, C]."""
    k_ss = rbf(s, s, gamma) + reg * jnp.eye(s.shape[0], dtype=s.dtype)
    # Conjugate gradients, not a factorisation: XLA:CPU's one runs 10-50x slower here; the
    # gradient is implicit (CG on the transposed system).
    alpha, _ = jax.scipy.sparse.linalg.cg(k_ss, y_s, tol=1e-4, maxiter=CG_STEPS)  # [n, C]
    pred = rbf(x_b, s, gamma) @ alpha  # [B, C]
    return jnp.mean(jnp.sum((pred - y_b) ** 2, axis=1))


def vote_loss(s, y_s, x_b, y_b, gamma, reg, neighbours: int = 1):
    """Cross-entropy of a kernel-weighted vote of the support's classes (a soft nearest
    neighbour, or a soft vote of the ``neighbours`` nearest) at real rows ``x_b`` [B, d];
    ``y_s``, ``y_b`` are one-hot."""
    del reg  # A vote solves nothing.
    sq = sqdist(x_b, s)  # [B, n]
    k = min(neighbours, s.shape[0] - 1)
    if k > 1:
        nearest = -lax.top_k(-sq, k + 1)[0]  # [B, k + 1], ascending
        edge = lax.stop_gradient((nearest[:, k - 1] + nearest[:, k]) / 2)
        weights = jax.nn.sigmoid(gamma * (edge[:, None] - sq))  # about 1 for the k nearest
    else:
        logits = -gamma * sq
        top = lax.stop_gradient(logits.max(1, keepdims=True))
        weights = jnp.exp(logits - top)  # [B, n], the nearest row's is 1
    # p(c | x): the class's share of the weights; a class too far to count gets no gradient.
    log_p = jnp.log(jnp.maximum(weights @ y_s, 1e-30)) - jnp.log(weights.sum(1, keepdims=True))
    return -jnp.mean(jnp.sum(y_b * log_p, axis=1))


def centred_targets(y, n_classes: int):
    """One-hot targets minus ``1 / n_classes``: far from every row, KRR predicts no class."""
    return jax.nn.one_hot(y, n_classes) - 1.0 / n_classes


@partial(jax.jit, static_argnames=("n_classes", "steps", "batch", "lr", "head", "neighbours"),
         compiler_options=SAFE_PRODUCTS)
def _optimise(u0, y_s, X, y, probs, domain, key, gamma, reg, *, n_classes, steps, batch, lr,
              head, neighbours):
    """Adam on ``u`` for ``steps`` batches; returns the final ``u`` and the loss per step."""
    if head == "krr":
        objective, targets = kip_loss, partial(centred_targets, n_classes=n_classes)
    else:
        objective = partial(vote_loss, neighbours=neighbours)
        targets = partial(jax.nn.one_hot, num_classes=n_classes)
    y_s, Y = targets(y_s), targets(y)
    opt = optax.adam(lr)

    def loss(u, idx):
        return objective(rows(u, *domain), y_s, X[idx], Y[idx], gamma, reg)

    def step(carry, k):
        u, state = carry
        idx = jax.random.choice(k, X.shape[0], (batch,), p=probs)
        value, grad = jax.value_and_grad(loss)(u, idx)
        updates, state = opt.update(grad, state, u)
        return (optax.apply_updates(u, updates), state), value

    (u, _), losses = lax.scan(step, (u0, opt.init(u0)), jax.random.split(key, steps))
    return u, losses


def median_gamma(X: np.ndarray, seed: int, sample: int = 1000) -> float:
    """``1 / median squared distance`` between (up to ``sample``) rows of ``X``."""
    rng = np.random.default_rng(seed)
    a = X[rng.permutation(len(X))[:sample]].astype(np.float64)
    norms = (a * a).sum(1)
    sq = (norms[:, None] + norms[None, :] - 2 * a @ a.T)[np.triu_indices(len(a), 1)]
    return 1.0 / max(float(np.median(sq)), 1e-12)


def kip_rows(X, y, start_X, start_y, n_classes: int, domain: Domain, seed: int,
             config: KipConfig = KipConfig()):
    """Rows moved by KIP from ``start_X`` [n, d] (classes ``start_y``), within ``domain``.

    Returns ``(rows [n, d] float32, loss per step [steps])``; the rows keep their classes."""
    counts = np.bincount(y, minlength=n_classes)
    probs = 1.0 / (counts[y] * np.count_nonzero(counts))  # each class drawn equally often
    gamma = median_gamma(X, seed) / config.width
    arrays = domain.arrays()
    u, losses = _optimise(
        jnp.asarray(domain.params(start_X)), jnp.asarray(start_y, jnp.int32),
        jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.int32), jnp.asarray(probs, jnp.float32),
        arrays, jax.random.PRNGKey(seed), jnp.float32(gamma), jnp.float32(config.reg),
        n_classes=n_classes, steps=config.steps, batch=min(config.batch, len(y)), lr=config.lr,
        head=config.head, neighbours=config.neighbours)
    return np.asarray(compiled_rows(u, *arrays), np.float32), np.asarray(losses)
