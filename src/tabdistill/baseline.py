"""Full-data training (the paper's section 4): fresh nets trained on the whole train part.

The authors' recipe (their code, github.com/dm-medvedev/dataset-distillation): Adam (lr
1e-3, betas (0.5, 0.999)), minibatches of 64, the lr halved every 40 epochs, 500 epochs, Xavier
inits. The whole training is one compiled
``lax.scan`` over epochs (each a scan over minibatches, shuffled on device), vmapped over
initialisations; test accuracy and log-loss are recorded after every epoch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from .data import Dataset
from .models import Architecture, loss_fn, one_hot_targets, parse_arch, predict_class

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


@dataclass(frozen=True, eq=False)
class Baseline:
    """Test metrics of nets trained on the full train part, one row per initialisation."""

    arch: str
    accuracy: np.ndarray  # [I] final test accuracy
    logloss: np.ndarray  # [I]
    curve_accuracy: np.ndarray  # [I, E] after each epoch
    curve_logloss: np.ndarray  # [I, E]
    params: tuple  # final weights, each leaf with a leading [I] axis


def schedule(config: BaselineConfig, steps_per_epoch: int) -> optax.Schedule:
    """The lr halved every ``halve_every`` epochs, stepped once per epoch as in torch."""
    return optax.exponential_decay(config.lr, config.halve_every * steps_per_epoch, 0.5,
                                   staircase=True)


def minibatches(key: jax.Array, n: int, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """One epoch's shuffled minibatch indices ``[B, b]`` and weights (0 for padding rows).

    The last minibatch is topped up with weight-0 rows so that every step has one shape; the
    weighted mean over it equals torch's mean over a short last batch.
    """
    n_batches = -(-n // batch_size)
    pad = n_batches * batch_size - n
    perm = jax.random.permutation(key, n)
    idx = jnp.concatenate([perm, perm[:pad]]).reshape(n_batches, batch_size)
    weights = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(n_batches, batch_size)
    return idx, weights


@partial(jax.jit, static_argnames=("arch", "config", "n_classes"))
def _train(arch: Architecture, config: BaselineConfig, X, T, X_test, y_test, keys, *,
           n_classes: int):
    n_batches = -(-X.shape[0] // config.batch_size)
    optimizer = optax.adam(schedule(config, n_batches), b1=config.beta1, b2=config.beta2)
    T_test = one_hot_targets(y_test, n_classes)

    def metrics(params):
        logits = arch.apply(params, X_test)
        return jnp.mean(predict_class(logits) == y_test), loss_fn(logits, T_test)

    def step(carry, batch):
        params, opt_state = carry
        idx, w = batch
        grads = jax.grad(lambda p: loss_fn(arch.apply(p, X[idx]), T[idx], w))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    def epoch(carry, key):
        carry, _ = lax.scan(step, carry, minibatches(key, X.shape[0], config.batch_size))
        return carry, metrics(carry[0])

    def one_init(key):
        k_init, k_epochs = jax.random.split(key)
        params = arch.init(k_init, X.shape[1], T.shape[1], config.init)
        (params, _), (acc, ll) = lax.scan(epoch, (params, optimizer.init(params)),
                                          jax.random.split(k_epochs, config.epochs))
        return params, acc, ll

    return jax.vmap(one_init)(keys)


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
    params, acc, ll = _train(
        arch, config,
        jnp.asarray(dataset.X_train, dtype),
        one_hot_targets(jnp.asarray(dataset.y_train), dataset.n_classes),
        jnp.asarray(dataset.X_test, dtype),
        jnp.asarray(dataset.y_test, jnp.int32),
        init_keys(config),
        n_classes=dataset.n_classes,
    )
    acc, ll = np.asarray(acc), np.asarray(ll)
    return Baseline(arch=arch.name, accuracy=acc[:, -1], logloss=ll[:, -1], curve_accuracy=acc,
                    curve_logloss=ll, params=jax.tree.map(np.asarray, params))
