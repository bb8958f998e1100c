"""Summaries users read: mean, standard deviation and a 95% bootstrap interval."""

from __future__ import annotations

import numpy as np
from scipy import stats


def summarize(values, *, confidence: float = 0.95, seed: int = 0) -> dict:
    """Mean, sample std (ddof=1) and a percentile-bootstrap interval of the mean of ``values``."""
    v = np.asarray(values, dtype=np.float64).ravel()
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    if v.size < 2 or np.ptp(v) == 0:
        low = high = mean
    else:
        ci = stats.bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=2000,
                             method="percentile", random_state=seed).confidence_interval
        low, high = float(ci.low), float(ci.high)
    return {"mean": mean, "std": std, "ci95": [low, high], "n": int(v.size)}
