"""Training fresh models on distilled data and scoring them on the test part.

All restarts and all fresh initialisations train at once: one compiled program vmapped over
restarts (each with its own synthetic data and lrs) and over initialisations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .distill import DistilledData
from .inner import unroll
from .models import Architecture, loss_fn, one_hot_targets, parse_arch, predict_class
from .stats import summarize
from .strategies import Strategy, parse_strategy

EVAL_SALT = 0x5EED  # evaluation inits never reuse the keys of distillation


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Test metrics of fresh models trained on distilled data."""

    arch: str
    strategy: str
    accuracy: np.ndarray  # [R, K] final test accuracy per restart and init
    logloss: np.ndarray  # [R, K]
    curve_steps: np.ndarray  # [C] step count at each recorded point
    curve_accuracy: np.ndarray  # [R, K, C]
    curve_logloss: np.ndarray  # [R, K, C]

    def summary(self) -> dict:
        """Overall and per-restart summaries (see :func:`.stats.summarize`).

        The inits of a restart share its distilled set: ``accuracy_std`` is the std of the
        per-restart means, ``accuracy_std_init`` the spread of inits within a restart, and
        the 95% interval comes from the two-level bootstrap (restarts, then inits).
        """
        acc, ll = summarize(self.accuracy), summarize(self.logloss)
        return {
            "arch": self.arch,
            "strategy": self.strategy,
            "accuracy_mean": acc["mean"],
            "accuracy_std": acc["std"],
            "accuracy_std_init": acc["std_init"],
            "ci95": acc["ci95"],
            "n": acc["n"],
            "inits": acc["inits"],
            "logloss_mean": ll["mean"],
            "logloss_std": ll["std"],
            "logloss_std_init": ll["std_init"],
            "logloss_ci95": ll["ci95"],
            "per_restart": [summarize(a) for a in self.accuracy],
        }


@partial(jax.jit, static_argnames=("arch", "n_classes", "init", "every", "n_inits"))
def _train_and_score(arch, x, targets, batch_index, lrs, X_test, y_test, keys, *,
                     n_classes, init, every, n_inits):
    T_test = one_hot_targets(y_test, n_classes)
    n_out = T_test.shape[-1]

    def metrics(params):
        logits = arch.apply(params, X_test)
        return jnp.mean(predict_class(logits) == y_test), loss_fn(logits, T_test)

    def one_model(key, x, targets, lrs):
        params = arch.init(key, x.shape[-1], n_out, init)
        segments = (batch_index.reshape(-1, every), lrs.reshape(-1, every))

        def segment(p, seg):
            p = unroll(arch, p, x, targets, seg[0], seg[1])
            return p, metrics(p)

        _, (acc, ll) = lax.scan(segment, params, segments)
        return acc, ll

    def one_restart(key, x, targets, lrs):
        init_keys = jax.random.split(key, n_inits)
        return jax.vmap(one_model, in_axes=(0, None, None, None))(init_keys, x, targets, lrs)

    return jax.vmap(one_restart)(keys, x, targets, lrs)


def evaluate(
    distilled: DistilledData,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    arch: str | Architecture,
    strategy: str | Strategy = "raw",
    inits: int = 10,
    seed: int = 0,
    record_every: int | None = None,
    init: str | None = None,
) -> Evaluation:
    """Trains ``inits`` fresh models per restart on the distilled steps and scores them.

    Args:
      distilled: the distilled data (all its restarts are used).
      X_test, y_test: the test part (features prepared as for distillation; class indices).
      arch: the architecture to train (any, not only those used for distilling).
      strategy: ``raw`` or one of the paper's three strategies (see :mod:`.strategies`).
      inits: fresh initialisations per restart.
      seed: seed of the initialisations.
      record_every: record test metrics every this many steps (default: every internal epoch).
      init: the initialisation scheme (default: the one used for distilling).
    """
    arch = parse_arch(arch) if isinstance(arch, str) else arch
    strategy = parse_strategy(strategy)
    steps = distilled.config.steps
    batch_index, lrs = strategy.schedule(distilled.lrs, steps)
    every = record_every or steps
    pad = (-len(batch_index)) % every  # lr-0 steps change nothing; they only square the shape
    batch_index = np.concatenate([batch_index, np.zeros(pad, batch_index.dtype)])
    lrs = np.concatenate([lrs, np.zeros((*lrs.shape[:-1], pad))], axis=-1)
    dtype = jnp.result_type(float)
    base = jax.random.fold_in(jax.random.PRNGKey(seed), EVAL_SALT)
    keys = jnp.stack([jax.random.fold_in(base, r) for r in distilled.restart_ids])
    acc, ll = _train_and_score(
        arch,
        jnp.asarray(distilled.x, dtype),
        jnp.asarray(distilled.targets, dtype),
        jnp.asarray(batch_index, jnp.int32),
        jnp.asarray(lrs, dtype),
        jnp.asarray(X_test, dtype),
        jnp.asarray(y_test, jnp.int32),
        keys,
        n_classes=distilled.n_classes,
        init=init or distilled.config.init,
        every=every,
        n_inits=inits,
    )
    acc, ll = np.asarray(acc), np.asarray(ll)
    n_points = acc.shape[-1]
    return Evaluation(
        arch=arch.name,
        strategy=strategy.kind,
        accuracy=acc[..., -1],
        logloss=ll[..., -1],
        curve_steps=np.minimum(np.arange(1, n_points + 1) * every, len(batch_index) - pad),
        curve_accuracy=acc,
        curve_logloss=ll,
    )
