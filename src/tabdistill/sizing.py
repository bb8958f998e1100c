"""Size of a distilled set: the paper's ``--per-class`` knob, or a total ``--budget`` of rows.

A distilled set has ``steps`` batches of ``per_class`` objects of each of ``C`` classes:
``steps * per_class * C`` synthetic rows. A budget of ``N`` rows keeps the configured number
of steps if it can (``per_class = N // (steps * C)``) and otherwise trades steps for size
(``steps = N // C`` batches of one object per class), so the set never exceeds ``N`` rows.

:func:`size_config` is the one place where a configuration is fitted to a table: the budget,
a minibatch no larger than the train part, and (when asked) enough outer epochs for about
``TARGET_OUTER_STEPS`` outer steps. ``distill``, ``compare``, ``bench`` and the estimator use it.
"""

from __future__ import annotations

import math

from .config import DistillConfig
from .errors import TabdistillError

TARGET_OUTER_STEPS = 600
MAX_AUTO_OUTER_EPOCHS = 500


def size_config(config: DistillConfig, n_train: int, n_classes: int, *,
                budget: int | None = None, auto_outer_epochs: bool = False) -> DistillConfig:
    """``config`` fitted to a train part of ``n_train`` rows of ``n_classes`` classes.

    Args:
      config: the settings asked for.
      n_train: rows of the train part; ``batch_size`` is clamped to it (a minibatch cannot
        exceed the data).
      n_classes: classes of the table, for ``budget``.
      budget: synthetic rows in total (:func:`fit_budget`), or None to keep ``per_class``.
      auto_outer_epochs: replace ``outer_epochs`` by enough epochs for about
        ``TARGET_OUTER_STEPS`` outer steps of ``config.batch_size`` rows (1 to 500 epochs).
    """
    if budget is not None:
        config = fit_budget(config, budget, n_classes)
    if auto_outer_epochs:
        per_epoch = math.ceil(n_train / config.batch_size)
        epochs = min(max(round(TARGET_OUTER_STEPS / per_epoch), 1), MAX_AUTO_OUTER_EPOCHS)
        config = config.replace(outer_epochs=int(epochs))
    return config.replace(batch_size=min(config.batch_size, int(n_train)))


def default_config(dataset, **overrides) -> DistillConfig:
    """Quick settings for ``dataset`` (``compare``, ``bench``'s wang): 10 batches of one row
    per class, 3 internal epochs, about ``TARGET_OUTER_STEPS`` outer steps unless
    ``outer_epochs`` is given, synthetic rows started at k-means centroids of their class
    (better than the paper's noise for every learner on the development tables,
    ``benchmarks/wang_variants.py``); ``overrides`` that are None are ignored."""
    base = DistillConfig(steps=10, epochs=3, per_class=1, init_rows="kmeans")
    given = {k: v for k, v in overrides.items() if v is not None}
    return size_config(base.replace(**given), dataset.X_train.shape[0], dataset.n_classes,
                       auto_outer_epochs="outer_epochs" not in given)


def fit_budget(config: DistillConfig, budget: int, n_classes: int) -> DistillConfig:
    """``config`` with ``steps`` / ``per_class`` set so that it makes at most ``budget`` rows."""
    if not isinstance(budget, int) or budget < n_classes:
        raise TabdistillError(
            f"budget {budget} is too small for {n_classes} classes; expected at least "
            f"{n_classes} synthetic rows (one per class)"
        )
    steps = min(config.steps, budget // n_classes)
    per_class = max(1, budget // (steps * n_classes))
    return config.replace(steps=steps, per_class=per_class)


def n_synthetic(config: DistillConfig, n_classes: int) -> int:
    """Synthetic rows in one restart's distilled set."""
    return config.steps * config.per_class * n_classes


def size_manifest(config: DistillConfig, n_classes: int, n_train: int,
                  budget: int | None = None) -> dict:
    """What a manifest says about the size: rows, train rows and the compression ratio."""
    rows = n_synthetic(config, n_classes)
    return {
        "n_synthetic_rows": rows,
        "n_train_rows": int(n_train),
        "compression_ratio": round(n_train / rows, 3),  # train rows per synthetic row
        "budget": budget,
        "per_class": config.per_class,
        "steps": config.steps,
    }
