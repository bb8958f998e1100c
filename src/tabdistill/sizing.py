"""Size of a distilled set: the paper's ``--per-class`` knob, or a total ``--budget`` of rows.

A distilled set has ``steps`` batches of ``per_class`` objects of each of ``C`` classes:
``steps * per_class * C`` synthetic rows. A budget of ``N`` rows keeps the configured number
of steps if it can (``per_class = N // (steps * C)``) and otherwise trades steps for size
(``steps = N // C`` batches of one object per class), so the set never exceeds ``N`` rows.
"""

from __future__ import annotations

from .config import DistillConfig
from .errors import TabdistillError


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
