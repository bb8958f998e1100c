"""Training schedules for fresh models on distilled data: the raw steps and the paper's three
strategies for training longer (section 5.3 of Medvedev & D'yakonov; the parameters are the
paper's and those of the authors' code, github.com/dm-medvedev/dataset-distillation).

A schedule is two arrays: ``batch_index[T]``, which synthetic batch each step takes, and
``lrs[..., T]``, the learning rate of each step (per restart, as the learned lrs differ).
Strategies are values made by factories; :func:`parse_strategy` reads their names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import TabdistillError


@dataclass(frozen=True)
class Strategy:
    """How to train on ``s`` distilled batches whose ``n`` learned lrs are given.

    ``kind`` is ``raw``, ``fixed`` (1), ``repeat`` (2) or ``repeat-last`` (3); the other fields
    are the constants of every strategy (each reads its own), so that one value can carry a
    whole set of them and ``dataclasses.replace(s, kind=...)`` pick the strategy.
    """

    kind: str = "raw"
    epochs: int = 50  # fixed: epochs of s steps
    base_lr: float = 0.3  # fixed: the lr before the first epoch's change
    warmup_epochs: int = 10  # fixed: epochs whose start multiplies the lr by ``up``
    up: float = 1.1
    down: float = 0.95  # fixed: factor at the start of every later epoch
    times: int = 10  # repeat: how many passes over all distilled epochs
    extra: int = 45  # repeat-last: extra passes over the last distilled epoch
    gamma2: float = 0.98  # repeat: lr decay per pass (the paper's text; the authors' code 0.9)
    gamma3: float = 0.98  # repeat-last: lr decay per extra pass (the paper's text)

    def schedule(self, lrs: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns ``(batch_index[T], lrs[..., T])`` for learned ``lrs[..., n]`` over ``steps``."""
        lrs = np.asarray(lrs, dtype=np.float64)
        n = lrs.shape[-1]
        cycle = np.arange(n) % steps
        if self.kind == "raw":
            return cycle, lrs
        if self.kind == "fixed":
            index = np.tile(np.arange(steps), self.epochs)
            epoch = np.arange(self.epochs) + 1  # the change happens at the start of each epoch
            per_epoch = (self.base_lr * self.up ** np.minimum(epoch, self.warmup_epochs)
                         * self.down ** np.maximum(epoch - self.warmup_epochs, 0))
            fixed = np.repeat(per_epoch, steps)
            return index, np.broadcast_to(fixed, (*lrs.shape[:-1], fixed.size)).copy()
        if self.kind == "repeat":
            scale = np.repeat(self.gamma2 ** np.arange(self.times), n)
            return np.tile(cycle, self.times), np.tile(lrs, self.times) * scale
        if self.kind == "repeat-last":
            last = lrs[..., n - steps:]
            scale = np.repeat(self.gamma3 ** np.arange(1, self.extra + 1), steps)
            index = np.concatenate([cycle, np.tile(cycle[n - steps:], self.extra)])
            return index, np.concatenate([lrs, np.tile(last, self.extra) * scale], axis=-1)
        raise TabdistillError(f"unknown strategy {self.kind!r}")


STRATEGY_NAMES = {"raw": "raw", "0": "raw", "fixed": "fixed", "1": "fixed",
                  "repeat": "repeat", "2": "repeat", "repeat-last": "repeat-last",
                  "3": "repeat-last"}


def parse_strategy(name: str | Strategy, **params) -> Strategy:
    """Reads ``raw``, ``fixed`` / ``1``, ``repeat`` / ``2`` or ``repeat-last`` / ``3``."""
    if isinstance(name, Strategy):
        return name
    kind = STRATEGY_NAMES.get(str(name).strip().lower())
    if kind is None:
        raise TabdistillError(
            f"unknown strategy {name!r}; expected raw, fixed (1), repeat (2) or repeat-last (3)"
        )
    return Strategy(kind, **params)
