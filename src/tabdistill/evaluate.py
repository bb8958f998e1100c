"""Training fresh models on distilled data and scoring them on the test part.

All restarts and all fresh initialisations train at once, in one compiled program
(:func:`.training.fit_schedule`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .distill import DistilledData
from .models import Architecture, parse_arch
from .stats import summarize
from .strategies import Strategy, parse_strategy
from .training import fit_schedule

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
    dtype = jnp.result_type(float)
    base = jax.random.fold_in(jax.random.PRNGKey(seed), EVAL_SALT)
    keys = jnp.stack([jax.random.split(jax.random.fold_in(base, r), inits)
                      for r in distilled.restart_ids])
    _, (acc, ll) = fit_schedule(
        arch, jnp.asarray(distilled.x, dtype), jnp.asarray(distilled.targets, dtype),
        jnp.asarray(batch_index, jnp.int32), jnp.asarray(lrs, dtype), keys,
        (jnp.asarray(X_test, dtype), jnp.asarray(y_test, jnp.int32)),
        init=init or distilled.config.init, every=every)
    acc, ll = np.asarray(acc), np.asarray(ll)
    n_points = acc.shape[-1]
    return Evaluation(
        arch=arch.name,
        strategy=strategy.kind,
        accuracy=acc[..., -1],
        logloss=ll[..., -1],
        curve_steps=np.minimum(np.arange(1, n_points + 1) * every, len(batch_index)),
        curve_accuracy=acc,
        curve_logloss=ll,
    )
