"""Summaries users read: a mean, its spread and a 95% bootstrap interval, and how to write them.

The one bootstrap of the package. Values come in two shapes:

- ``[N]``: independent values (one per restart, or the inits of a full-data baseline).
  The bootstrap resamples them.
- ``[R, K]``: ``K`` inits nested in each of ``R`` restarts. The inits of one restart share its
  distilled set, so they are not independent: the two-level bootstrap resamples restarts, then
  inits within each resampled restart. Its interval is wider than a flat one over ``R * K``
  values whenever restarts differ more than their inits do.

Resampling is vectorised: a resample is a vector of multiplicities (how often each value is
drawn), drawn as multinomial counts, and the resampled means are one matrix product. Drawing
a restart ``c`` times and then ``K`` inits for each copy draws ``c * K`` inits of that restart
with replacement, so the two levels need one multinomial each.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95


def resampled_means(values, *, nested: bool, resamples: int = RESAMPLES,
                    seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of the mean over the leading axis (two axes if ``nested``).

    Args:
      values: ``[N, ...]``, or ``[R, K, ...]`` with ``nested``; trailing axes (curve points,
        say) are kept: each is resampled with the same draws.
      nested: whether the leading two axes are restarts and the inits nested in them.
      resamples: bootstrap resamples.
      seed: seed of the resampling (the result is a function of it and ``values``).

    Returns:
      ``[resamples, ...]``: the mean of each resample.
    """
    v = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if not nested:
        n = v.shape[0]
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples)  # [B, N]
        return np.tensordot(counts / n, v, axes=1)
    r, k = v.shape[:2]
    restarts = rng.multinomial(r, np.full(r, 1.0 / r), size=resamples)  # [B, R]
    inits = rng.multinomial(restarts * k, np.full(k, 1.0 / k))  # [B, R, K]
    return np.tensordot(inits / (r * k), v, axes=2)


def interval(values, *, nested: bool, confidence: float = CONFIDENCE,
             resamples: int = RESAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap interval of the mean; ``(low, high)``, each shaped like one value.

    Where the values are all equal (per trailing position) the interval is that value.
    """
    v = np.asarray(values, dtype=np.float64)
    axes = (0, 1) if nested else (0,)
    mean = v.mean(axis=axes)
    means = resampled_means(v, nested=nested, resamples=resamples, seed=seed)
    tail = 50 * (1 - confidence)
    low, high = np.percentile(means, [tail, 100 - tail], axis=0)
    # All equal (to rounding): the interval is the point, not a resample's rounding error.
    constant = np.ptp(v, axis=axes) <= 8 * np.finfo(np.float64).eps * np.abs(v).max(axis=axes)
    return np.where(constant, mean, low), np.where(constant, mean, high)


def _std(v: np.ndarray, axis: int = 0) -> np.ndarray:
    """Sample std (ddof=1), 0 for a single value (no warning)."""
    return v.std(axis=axis, ddof=1) if v.shape[axis] > 1 else np.zeros(np.delete(v.shape, axis))


def summarize(values, *, confidence: float = CONFIDENCE, seed: int = 0) -> dict:
    """Mean, std and a bootstrap interval of the mean of ``values`` (``[N]`` or ``[R, K]``).

    For ``[N]``: ``std`` is the sample std of the values. For ``[R, K]`` (inits nested in
    restarts): ``std`` is the std of the per-restart means (the paper's std over restarts),
    ``std_init`` the spread of inits within a restart (the root mean within-restart variance),
    and the interval is the two-level bootstrap's. ``n`` is the number of independent units
    (values, or restarts), ``inits`` the values per unit.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim not in (1, 2) or v.size == 0:
        raise ValueError(f"values have shape {v.shape}; expected [N] or [restarts, inits]")
    nested = v.ndim == 2
    low, high = interval(v, nested=nested, confidence=confidence, seed=seed)
    out = {"mean": float(v.mean()), "std": float(_std(v.mean(1) if nested else v)),
           "ci95": [float(low), float(high)], "n": int(v.shape[0]),
           "inits": int(v.shape[1]) if nested else 1}
    if nested:
        within = _std(v, axis=1)
        out["std_init"] = float(np.sqrt(np.mean(within**2)))
    return out


def band(values, *, nested: bool, seed: int = 0) -> dict:
    """Mean and 95% bootstrap band of the mean per trailing position (a curve's points).

    ``values`` is ``[N, C]``, or ``[R, K, C]`` with ``nested``.
    """
    v = np.asarray(values, dtype=np.float64)
    low, high = interval(v, nested=nested, seed=seed)
    return {"mean": v.mean(axis=(0, 1) if nested else 0), "low": low, "high": high}


def paired_difference(a, b, *, tolerance: float = 0.0, confidence: float = CONFIDENCE,
                      seed: int = 0) -> dict:
    """The mean of ``a - b`` over paired values (the same seeds), its interval and a verdict.

    The verdict is ``win`` when the whole interval lies above ``tolerance``, ``loss`` when it
    lies below ``-tolerance``, and ``tie`` otherwise (too close, or too uncertain, to call).
    A single pair (``n`` 1) has no interval (``ci95`` is ``None``): its verdict is ``tie``.
    ``a`` and ``b`` are ``[N]``, or ``[R, K]`` (paired inits nested in restarts).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values have shapes {a.shape} and {b.shape}; expected equal")
    s = summarize(a - b, confidence=confidence, seed=seed)
    if s["n"] < 2:  # one difference says nothing of its spread
        return {"mean": s["mean"], "ci95": None, "n": s["n"], "verdict": "tie"}
    low, high = s["ci95"]
    verdict = "win" if low > tolerance else "loss" if high < -tolerance else "tie"
    return {"mean": s["mean"], "ci95": [low, high], "n": s["n"], "verdict": verdict}


def balanced_accuracy(y, hits) -> float:
    """Balanced accuracy from ``hits [..., rows]`` (1 where a prediction of row ``i`` is right;
    leading axes, several learners say, are averaged)."""
    y = np.asarray(y)
    h = np.asarray(hits, dtype=np.float64).reshape(-1, len(y)).mean(axis=0)
    return float(np.mean([h[y == c].mean() for c in np.unique(y)]))


def chance_bound(y, confidence: float = CONFIDENCE) -> float:
    """The balanced accuracy that a guess blind to the features (each row's class drawn
    uniformly at random) stays below with probability ``confidence`` on rows labelled ``y``:
    ``1 / C`` plus the normal quantile times its standard error. Each class's share of right
    guesses is a binomial proportion ``(1 / C, n_c)`` and balanced accuracy their mean, so the
    variance is ``sum_c (1 / C)(1 - 1 / C) / n_c / C^2``. (A constant prediction scores exactly
    ``1 / C``.)"""
    from statistics import NormalDist

    _, n = np.unique(np.asarray(y), return_counts=True)
    p = 1.0 / len(n)
    se = np.sqrt(np.sum(p * (1 - p) / n)) / len(n)
    return float(p + NormalDist().inv_cdf(confidence) * se)


def balanced_accuracy_difference_se(y, hits_a, hits_b) -> float:
    """Standard error of ``balanced_accuracy(y, hits_a) - balanced_accuracy(y, hits_b)``, two
    models scored on the same rows. Balanced accuracy is the mean over the C classes of each
    class's mean hit, so the difference's variance is the sum over classes of the variance of
    the per-row differences over the class's rows, divided by its rows and by C squared. It is
    small where the two models mostly agree, whatever the error of each score alone."""
    y = np.asarray(y)
    d = np.asarray(hits_a, dtype=np.float64) - np.asarray(hits_b, dtype=np.float64)
    d = d.reshape(-1, len(y)).mean(axis=0)
    classes = np.unique(y)
    var = sum(d[y == c].var(ddof=1) / np.sum(y == c) for c in classes if np.sum(y == c) > 1)
    return float(np.sqrt(var) / len(classes))


def format_estimate(mean: float, std: float, ci=None, *, std_init: float | None = None,
                    digits: int = 3) -> str:
    """``mean ± std (95% CI lo-hi)``: the one way the package writes a summary.

    ``std_init`` (the spread of inits within a restart) is written beside the std; ``ci``
    (low, high) is left out when not given.

    >>> format_estimate(0.8712, 0.0123, (0.86, 0.88), std_init=0.02)
    '0.871 ± 0.012 (inits ± 0.020; 95% CI 0.860-0.880)'
    """
    f = f"{{:.{digits}f}}"
    notes = []
    if std_init is not None:
        notes.append("inits ± " + f.format(std_init))
    if ci is not None:
        dash = " to " if min(ci) < 0 else "-"  # "-0.02-0.01" would read as a subtraction
        notes.append(f"95% CI {f.format(ci[0])}{dash}{f.format(ci[1])}")
    text = f"{f.format(mean)} ± {f.format(std)}"
    return text + (f" ({'; '.join(notes)})" if notes else "")


def format_summary(s: dict, *, digits: int = 3, ci: bool = True) -> str:
    """:func:`format_estimate` of a :func:`summarize` result."""
    return format_estimate(s["mean"], s["std"], s["ci95"] if ci else None,
                           std_init=s.get("std_init"), digits=digits)
