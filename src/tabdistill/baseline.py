"""Full-data training (the paper's section 4): fresh nets trained on the whole train part.

The authors' recipe (their code, github.com/dm-medvedev/dataset-distillation): Adam (lr
1e-3, betas (0.5, 0.999)), minibatches of 64, the lr halved every 40 epochs, 500 epochs, Xavier
inits. Trained by :func:`.training.fit_rows`, one compiled program vmapped over
initialisations; test accuracy and log-loss are recorded after every epoch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .data import Dataset
from .models import one_hot_targets, parse_arch
from .training import Recipe, fit_rows

BASELINE_SALT = 0xBA5E  # baseline inits never share keys with distillation or evaluation


@dataclass(frozen=True)
class BaselineConfig:
    """Settings of full-data training; the defaults are the authors' (see the module doc)."""

    arch: str = "mlp2"
    inits: int = 25
    epochs: int = 500
    batch_size: int = 64
    lr: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    halve_every: int = 40  # epochs between halvings of the lr (torch StepLR(40, 0.5))
    init: str = "xavier-normal"
    seed: int = 0

    def replace(self, **changes) -> BaselineConfig:
        return dataclasses.replace(self, **changes)

    @property
    def recipe(self) -> Recipe:
        """How each net is trained (a unit is an epoch)."""
        return Recipe(units=self.epochs, batch_size=self.batch_size, lr=self.lr,
                      beta1=self.beta1, beta2=self.beta2, halve_every=self.halve_every,
                      init=self.init)


@dataclass(frozen=True, eq=False)
class Baseline:
    """Test metrics of nets trained on the full train part, one row per initialisation."""

    arch: str
    accuracy: np.ndarray  # [I] final test accuracy
    logloss: np.ndarray  # [I]
    curve_accuracy: np.ndarray  # [I, E] after each epoch
    curve_logloss: np.ndarray  # [I, E]
    params: tuple  # final weights, each leaf with a leading [I] axis


def init_keys(config: BaselineConfig) -> jax.Array:
    """One key per initialisation; init ``i`` depends only on the seed and ``i``."""
    base = jax.random.fold_in(jax.random.PRNGKey(config.seed), BASELINE_SALT)
    return jnp.stack([jax.random.fold_in(base, i) for i in range(config.inits)])


def train_full(dataset: Dataset, config: BaselineConfig = BaselineConfig()) -> Baseline:
    """Trains ``config.inits`` fresh nets on the whole train part of ``dataset``.

    Example:
      >>> result = train_full(load_dataset("moons"), BaselineConfig(arch="mlp4"))
      >>> result.accuracy.mean()  # about 0.99
    """
    arch = parse_arch(config.arch)
    dtype = jnp.result_type(float)
    params, (acc, ll) = fit_rows(
        arch, config.recipe, jnp.asarray(dataset.X_train, dtype),
        one_hot_targets(jnp.asarray(dataset.y_train), dataset.n_classes), init_keys(config),
        (jnp.asarray(dataset.X_test, dtype), jnp.asarray(dataset.y_test, jnp.int32)))
    acc, ll = np.asarray(acc), np.asarray(ll)
    return Baseline(arch=arch.name, accuracy=acc[:, -1], logloss=ll[:, -1], curve_accuracy=acc,
                    curve_logloss=ll, params=jax.tree.map(np.asarray, params))
