"""The paper's figures, one function each, drawn from ``results.json`` alone (nothing is
recomputed).

Files are named after the paper's figure numbers and panels: ``fig2abc_...png`` holds figure 2's
panels a-c. :func:`draw_all` returns ``{file name: one-line caption}``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ..stats import summarize  # noqa: E402
from .settings import PAPER_NAMES  # noqa: E402

COLORS = {"linear": "tab:blue", "mlp2": "tab:orange", "mlp4": "tab:green"}
CLASS_COLORS = ("tab:red", "tab:blue")
STRATEGY_NAMES = {"raw": "raw steps", "1": "strategy 1", "2": "strategy 2", "3": "strategy 3"}
DPI = 110
SETTLED = 0.005  # a curve has settled once its mean stays this close to its final value


def _name(arch: str) -> str:
    return f"{PAPER_NAMES.get(arch, arch)} ({arch})"


def _short(arch: str) -> str:
    return PAPER_NAMES.get(arch, arch)


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def _label(ax, letter: str) -> None:
    ax.text(-0.12, 1.06, f"{letter})", transform=ax.transAxes, fontsize=12, fontweight="bold")


def _scatter_data(ax, X, y, *, alpha=0.5, size=8, label_prefix=""):
    X, y = np.asarray(X), np.asarray(y)
    for c in (0, 1):
        ax.scatter(X[y == c, 0], X[y == c, 1], s=size, alpha=alpha, color=CLASS_COLORS[c],
                   label=f"{label_prefix}class {c}", edgecolors="none")


def _band(ax, x, b: dict, color, label):
    ax.plot(x, b["mean"], color=color, label=label)
    ax.fill_between(x, b["low"], b["high"], color=color, alpha=0.25, linewidth=0)


def _archs(results: dict) -> list[str]:
    return list(results["settings"]["archs"])


# ---- figure 1 ------------------------------------------------------------------------------

def fig1a_data(results: dict, path: Path) -> str:
    d = results["dataset"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True, sharey=True)
    for ax, part in zip(axes, ("train", "test"), strict=True):
        X, y = d[f"X_{part}"], d[f"y_{part}"]
        _scatter_data(ax, X, y, alpha=0.7)
        ax.set_title(f"{d['name']}: {part} part ({len(y)} objects)")
        ax.set_xlabel("x1")
        ax.legend(loc="upper right", fontsize=8)
    axes[0].set_ylabel("x2")
    _label(axes[0], "a")
    _save(fig, path)
    n_tr, n_te = len(d["y_train"]), len(d["y_test"])
    return f"The two moons: {n_tr} train and {n_te} test objects, two interleaved classes."


def fig1bc_architectures(results: dict, path: Path) -> str:
    from ..models import parse_arch

    archs = _archs(results)
    fig, axes = plt.subplots(1, len(archs), figsize=(4.2 * len(archs), 3.8))
    for ax, arch, letter in zip(np.atleast_1d(axes), archs, "abcdef", strict=False):
        sizes = (2, *parse_arch(arch).hidden, 1)
        xs = np.arange(len(sizes))
        pos = [[(x, (i - (n - 1) / 2) * 0.5) for i in range(n)] for x, n in zip(xs, sizes,
                                                                                  strict=True)]
        for a, b in zip(pos[:-1], pos[1:], strict=True):
            for p in a:
                for q in b:
                    ax.plot([p[0], q[0]], [p[1], q[1]], color="0.7", lw=0.6, zorder=1)
        for layer, pts in enumerate(pos):
            color = "tab:blue" if layer == 0 else "tab:green" if layer == len(pos) - 1 \
                else "tab:orange"
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=120, color=color, zorder=2,
                       edgecolors="k", linewidths=0.5)
        act = parse_arch(arch).activation
        ax.set_xticks(xs, ["input\n2"] + [f"hidden\n{n} {act}" for n in sizes[1:-1]]
                      + ["output\n1 logit"], fontsize=8)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_xlim(-0.4, len(sizes) - 0.6)
        ax.set_ylim(-2.8, 2.8)
        ax.set_title(_name(arch))
        _label(ax, letter)
    _save(fig, path)
    return "The three fully connected nets; every one ends in one logit (binary cross-entropy)."


# ---- section 4: full data ------------------------------------------------------------------

def _bins(values) -> np.ndarray:
    lo, hi = float(np.min(values)), float(np.max(values))
    pad = max(0.005, (hi - lo) * 0.05)
    return np.linspace(lo - pad, hi + pad, 21)


def _hist_row(axes, series: list[tuple[str, list]], title_fmt: str, letters: str, *,
              shared: bool = True):
    """Histograms side by side; ``shared`` bins compare panels, own bins show each shape."""
    bins = _bins(np.concatenate([np.ravel(v) for _, v in series]))
    for ax, (arch, v), letter in zip(axes, series, letters, strict=False):
        v = np.ravel(v)  # every fresh net, restarts x inits
        bins = bins if shared else _bins(v)
        ax.hist(v, bins=bins, color=COLORS.get(arch, "tab:gray"), alpha=0.8, edgecolor="k",
                linewidth=0.4)
        ax.axvline(v.mean(), color="k", ls="--", lw=1, label=f"mean {v.mean():.3f}")
        ax.set_title(title_fmt.format(name=_name(arch)), fontsize=10)
        ax.set_xlabel("test accuracy")
        ax.legend(fontsize=8, loc="upper left")
        _label(ax, letter)
    axes[0].set_ylabel("count")


def fig2abc_full_accuracy(results: dict, path: Path) -> str:
    archs = [a for a in _archs(results) if a in results["full"]]
    fig, axes = plt.subplots(1, len(archs), figsize=(4.2 * len(archs), 3.4))
    axes = np.atleast_1d(axes)
    _hist_row(axes, [(a, results["full"][a]["accuracy"]) for a in archs],
              "{name}, full data", "abc", shared=False)
    _save(fig, path)
    means = ", ".join(f"{PAPER_NAMES[a]} {np.mean(results['full'][a]['accuracy']):.3f}"
                      for a in archs)
    n = len(results["full"][archs[0]]["accuracy"])
    return f"Test accuracy of {n} inits trained on the whole train part: mean {means}."


def fig2d_full_convergence(results: dict, path: Path) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    archs = [a for a in _archs(results) if a in results["full"]]
    for arch in archs:
        full = results["full"][arch]
        epochs = np.arange(1, len(full["curve_accuracy"]["mean"]) + 1)
        _band(axes[0], epochs, full["curve_accuracy"], COLORS[arch], _name(arch))
        _band(axes[1], epochs, full["curve_logloss"], COLORS[arch], _name(arch))
    axes[0].set_ylabel("test accuracy")
    axes[1].set_ylabel("test log-loss")
    axes[1].set_yscale("log")
    for ax, what in zip(axes, ("accuracy", "log-loss"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_title(f"Full data: convergence of test {what} (mean, 95% band)", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    _label(axes[0], "d")
    _save(fig, path)
    half = {a: settling_epoch(results["full"][a]["curve_accuracy"]["mean"]) for a in archs}
    text = ", ".join(f"{PAPER_NAMES[a]} by epoch {e}" for a, e in half.items())
    return f"Accuracy gets within {SETTLED} of its final value: {text}."


def settling_epoch(curve, tol: float = SETTLED) -> int:
    """The first epoch (from 1) from which ``curve`` stays within ``tol`` of its last value."""
    c = np.asarray(curve)
    ok = np.abs(c - c[-1]) <= tol
    bad = np.nonzero(~ok)[0]
    return int(bad[-1] + 2) if len(bad) else 1


def _boundary(ax, grid: dict, X, y):
    gx, gy, prob = np.asarray(grid["x"]), np.asarray(grid["y"]), np.asarray(grid["prob"])
    ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.35)
    ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
    _scatter_data(ax, X, y, alpha=0.5, size=5)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_xlabel("x1")


def _boundaries(results, path, grids: dict, title: str, letters: str) -> None:
    d = results["dataset"]
    archs = [a for a in _archs(results) if a in grids]
    fig, axes = plt.subplots(1, len(archs), figsize=(4.4 * len(archs), 3.6), squeeze=False)
    for ax, arch, letter in zip(axes[0], archs, letters, strict=False):
        _boundary(ax, grids[arch], d["X_test"], d["y_test"])
        ax.set_title(title.format(name=_short(arch)), fontsize=10)
        _label(ax, letter)
    axes[0][0].set_ylabel("x2")
    _save(fig, path)


def fig3ac_boundaries_full(results: dict, path: Path) -> str:
    grids = {a: r["grid"] for a, r in results["full"].items() if "grid" in r}
    _boundaries(results, path, grids, "{name}: median model, full data", "ace")
    return ("Decision boundaries (black line, P = 0.5) of the median-accuracy full-data models "
            "over the test part.")


def fig3bd_boundaries_distilled(results: dict, path: Path) -> str:
    grids = {a: results["distilled"][a]["grids"][a] for a in _archs(results)
             if a in results["distilled"] and a in results["distilled"][a]["grids"]}
    _boundaries(results, path, grids, "{name}: median model, distilled data", "bdf")
    return ("The same for the median model trained on the raw steps of the median restart's "
            "distilled data; compare the 2-layer net's boundary with figure 3 a, c.")


# ---- section 5.1: sweeps -------------------------------------------------------------------

SWEEP_TITLES = {"epochs": "internal epochs (1 model, 1 step)",
                "steps": "internal steps (1 model, 1 epoch)",
                "models": "internal models ({steps} steps, 1 epoch)"}


def fig4_sweeps(results: dict, path: Path) -> str:
    sweeps, s = results["sweeps"], results["settings"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    readings = []
    for ax, param, letter in zip(axes, ("epochs", "steps", "models"), "abc", strict=True):
        points = sweeps.get(param, {})
        xs = [int(v) for v in points]
        # [restarts, inits] per point: the two-level bootstrap's interval
        sums = [summarize(p["accuracy"]) for p in points.values()]
        means = np.array([m["mean"] for m in sums])
        yerr = np.abs(np.array([m["ci95"] for m in sums]).T.reshape(2, -1) - means)
        ax.errorbar(xs, means, yerr=yerr, marker="o", capsize=4, color=COLORS.get(
            s["sweep_arch"], "k"))
        ax.set_xscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.minorticks_off()
        ax.set_xlabel(SWEEP_TITLES[param].format(steps=s["sweep_models_steps"]))
        ax.set_title(f"test accuracy vs number of {param}", fontsize=10)
        ax.grid(alpha=0.3)
        _label(ax, letter)
        if len(xs):
            readings.append(f"{param} {xs[0]}->{xs[-1]}: {means[0]:.3f}->{means[-1]:.3f}")
    axes[0].set_ylabel(f"test accuracy of {s['sweep_arch']}\n(mean, 95% CI)")
    _save(fig, path)
    return ("Sweeps (" + s["sweep_arch"] + " distilled and tested; error bars: 95% interval "
            "of the mean, resampling restarts, then inits within them): " + "; ".join(readings)
            + ".")


# ---- section 5.2 ---------------------------------------------------------------------------

def fig5_distilled_accuracy(results: dict, path: Path) -> str:
    archs = [a for a in _archs(results) if a in results["distilled"]]
    fig, axes = plt.subplots(1, len(archs), figsize=(4.2 * len(archs), 3.4))
    axes = np.atleast_1d(axes)
    series = [(a, results["distilled"][a]["eval"]["raw"][a]["accuracy"]) for a in archs]
    _hist_row(axes, series, "{name}, distilled for it", "abc", shared=False)
    _save(fig, path)
    means = ", ".join(f"{PAPER_NAMES[a]} {np.mean(v):.3f}" for a, v in series)
    return f"Test accuracy of fresh nets trained on the raw distilled steps: mean {means}."


def _convergence(results, path, strategies, letters_acc, letters_ll) -> None:
    archs = [a for a in _archs(results) if a in results["distilled"]]
    cols = len(strategies)
    fig, axes = plt.subplots(2, cols, figsize=(4.4 * cols, 7), squeeze=False)
    for j, strategy in enumerate(strategies):
        for arch in archs:
            ev = results["distilled"][arch]["eval"][strategy][arch]
            _band(axes[0][j], ev["steps"], ev["curve_accuracy"], COLORS[arch], _name(arch))
            _band(axes[1][j], ev["steps"], ev["curve_logloss"], COLORS[arch], _name(arch))
        axes[0][j].set_title(f"test accuracy, {STRATEGY_NAMES[strategy]}", fontsize=10)
        axes[1][j].set_title(f"test log-loss, {STRATEGY_NAMES[strategy]}", fontsize=10)
        _label(axes[0][j], letters_acc[j])
        _label(axes[1][j], letters_ll[j])
        for ax in axes[:, j]:
            ax.set_xlabel("training step on distilled data")
            ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy")
    axes[1][0].set_ylabel("test log-loss")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(archs), fontsize=9,
               bbox_to_anchor=(0.5, 0.0))  # below the panels, clear of their labels
    fig.tight_layout()
    _save(fig, path)


def fig6ae_convergence_raw(results: dict, path: Path) -> str:
    _convergence(results, path, ["raw"], "a", "e")
    return ("Convergence on the raw distilled steps (each net on the data distilled for it, "
            "mean and 95% band of the mean, resampling restarts, then inits within them).")


def fig6bdfh_convergence_strategies(results: dict, path: Path) -> str:
    strategies = [s for s in ("1", "2", "3") if s in results["settings"]["strategies"]]
    _convergence(results, path, strategies, "bcd", "fgh")
    finals = []
    for s in strategies:
        acc = np.mean(results["distilled"]["mlp4"]["eval"][s]["mlp4"]["accuracy"]) \
            if "mlp4" in results["distilled"] else float("nan")
        finals.append(f"{s}: {acc:.3f}")
    return ("Training longer with strategies 1-3 (final 4-layer accuracy " + ", ".join(finals)
            + "); strategy 2 returns to the first, largest lrs at each pass.")


def _synthetic(results, path, kind: str, title: str) -> None:
    d = results["dataset"]
    kinds = [k for k in ([kind] if kind == "all" else _archs(results))
             if k in results["distilled"]]
    s = results["distilled"][kinds[0]]["config"]["steps"]
    picks = sorted(set(np.linspace(0, s - 1, 4).round().astype(int).tolist()))
    fig, axes = plt.subplots(len(kinds), len(picks), figsize=(3.6 * len(picks),
                             3.2 * len(kinds)), squeeze=False, sharex=True, sharey=True)
    X = np.concatenate([d["X_train"]])
    for i, k in enumerate(kinds):
        res = results["distilled"][k]
        x, labels = np.asarray(res["x"]), np.asarray(res["labels"])
        for j, step in enumerate(picks):
            ax = axes[i][j]
            _scatter_data(ax, X, d["y_train"], alpha=0.12, size=4)
            for c in (0, 1):
                pts = x[step][labels[step] == c]
                ax.scatter(pts[:, 0], pts[:, 1], s=70, marker="*", color=CLASS_COLORS[c],
                           edgecolors="k", linewidths=0.6, label=f"synthetic, class {c}")
            ax.set_title(f"{title.format(name=PAPER_NAMES.get(k, k))}: step {step + 1}",
                         fontsize=10)
            if i == len(kinds) - 1:
                ax.set_xlabel("x1")
        axes[i][0].set_ylabel("x2")
    # Handles drawn for the legend: the real dots are faint and tiny by design, and the
    # legend would copy that (markerscale does not undo the alpha).
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=6, alpha=1.0,
                      color=CLASS_COLORS[c], label=f"real, class {c}") for c in (0, 1)]
    handles += [Line2D([], [], linestyle="none", marker="*", markersize=12, alpha=1.0,
                       color=CLASS_COLORS[c], markeredgecolor="k", markeredgewidth=0.6,
                       label=f"synthetic, class {c}") for c in (0, 1)]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=9,
               bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout()
    _save(fig, path)
    return ", ".join(str(p + 1) for p in picks)


def fig7_synthetic_objects(results: dict, path: Path) -> str:
    picks = _synthetic(results, path, "single", "data for {name}")
    return (f"Synthetic objects (stars) of internal steps {picks} of the median restart, over "
            "the real train part (dots); rows: the net they were distilled for.")


# ---- section 5.3 ---------------------------------------------------------------------------

def fig8_learning_rates(results: dict, path: Path) -> str:
    from ..strategies import parse_strategy

    archs = [a for a in _archs(results) if a in results["distilled"]]
    fig, axes = plt.subplots(1, len(archs) + 1, figsize=(4.2 * (len(archs) + 1), 3.4))
    readings = []
    for ax, arch, letter in zip(axes, archs, "abc", strict=False):
        lrs = results["distilled"][arch]["lrs"]
        steps = np.arange(1, len(lrs["mean"]) + 1)
        _band(ax, steps, lrs, COLORS[arch], "mean over restarts, 95% band")
        ax.set_title(f"learned lrs, data for {PAPER_NAMES[arch]}", fontsize=10)
        ax.set_xlabel("inner step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        _label(ax, letter)
        readings.append(f"{PAPER_NAMES[arch]} {np.mean(lrs['mean']):.2f}")
    axes[0].set_ylabel("learning rate")
    s = results["settings"]
    config = results["distilled"][archs[0]]["config"]
    constants = {k: v for k, v in s["strategy"].items() if k != "kind"}
    strat = parse_strategy("1", **{**constants, "epochs": s["strategy_epochs"]})
    _, fixed = strat.schedule(np.zeros(config["steps"] * config["epochs"]), config["steps"])
    ax = axes[-1]
    ax.plot(np.arange(1, len(fixed) + 1), fixed, color="k")
    ax.set_title("strategy 1: fixed schedule", fontsize=10)
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)
    _label(ax, "d")
    _save(fig, path)
    return ("Learned lrs per inner step (mean lr " + ", ".join(readings) + "); strategy 1 "
            f"ignores them and follows its fixed schedule (d): {strat.base_lr}, x{strat.up} per "
            f"epoch for {strat.warmup_epochs} epochs, then x{strat.down}.")


def fig9_strategy_accuracy(results: dict, path: Path) -> str:
    archs = [a for a in _archs(results) if a in results["distilled"]]
    strategies = [s for s in ("1", "2", "3") if s in results["settings"]["strategies"]]
    fig, axes = plt.subplots(len(archs), len(strategies),
                             figsize=(4 * len(strategies), 2.9 * len(archs)), squeeze=False)
    letters = iter("abcdefghijkl")
    for i, arch in enumerate(archs):
        series = [(arch, results["distilled"][arch]["eval"][s][arch]["accuracy"])
                  for s in strategies]
        _hist_row(axes[i], series, "{name}", "".join(next(letters) for _ in strategies))
        for j, s in enumerate(strategies):
            axes[i][j].set_title(f"{_name(arch)}, {STRATEGY_NAMES[s]}", fontsize=9)
            if i < len(archs) - 1:
                axes[i][j].set_xlabel("")
    fig.tight_layout()
    _save(fig, path)
    best = []
    for arch in archs:
        m = {s: np.mean(results["distilled"][arch]["eval"][s][arch]["accuracy"])
             for s in strategies}
        b = max(m, key=m.get)
        best.append(f"{PAPER_NAMES[arch]}: strategy {b} ({m[b]:.3f})")
    return "Accuracy per strategy on each net's own data; best " + "; ".join(best) + "."


# ---- section 6 -----------------------------------------------------------------------------

def fig10_synthetic_all(results: dict, path: Path) -> str:
    picks = _synthetic(results, path, "all", "data for {name}")
    return (f"Synthetic objects distilled with all three nets as internal models (steps {picks} "
            "of the median restart), to compare with figure 7.")


# ---- section 3 -----------------------------------------------------------------------------

def figS3_complexity(results: dict, path: Path) -> str:
    c = results["complexity"]
    ns = np.asarray(c["ns"]).astype(int)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    styles = {"store": ("tab:red", "o"), "checkpoint": ("tab:purple", "s")}
    for mode in c["modes"]:
        color, marker = styles.get(mode, ("k", "o"))
        for ax, what, scale in ((axes[0], "seconds", 1e3), (axes[1], "temp_bytes", 2**-10)):
            slope = c[f"slope.{what}.{mode}"]
            ax.plot(ns, np.asarray(c[f"{what}.{mode}"]) * scale, marker=marker, color=color,
                    label=f"{mode}: grows as n^{slope:.2f}")
    axes[0].set_ylabel("time per outer step (ms)")
    axes[1].set_ylabel("compiled temporary memory (KiB)")
    for ax, what in zip(axes, ("time", "peak memory"), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_locator(ticker.NullLocator())
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_xlabel("n, inner steps")
        ax.set_title(f"one outer step ({c.get('arch', 'mlp2')}): {what} vs n", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    _save(fig, path)
    return (f"Time grows as n^{c['slope.seconds.store']:.2f} (store) and "
            f"n^{c['slope.seconds.checkpoint']:.2f} (checkpoint); memory as "
            f"n^{c['slope.temp_bytes.store']:.2f} and n^{c['slope.temp_bytes.checkpoint']:.2f}.")


FIGURES = (fig1a_data, fig1bc_architectures, fig2abc_full_accuracy, fig2d_full_convergence,
           fig3ac_boundaries_full, fig3bd_boundaries_distilled, fig4_sweeps,
           fig5_distilled_accuracy, fig6ae_convergence_raw, fig6bdfh_convergence_strategies,
           fig7_synthetic_objects, fig8_learning_rates, fig9_strategy_accuracy,
           fig10_synthetic_all, figS3_complexity)


def draw_all(results: dict, folder: str | Path) -> dict[str, str]:
    """Draws every figure into ``folder``; returns ``{file name: one-line reading}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    captions = {}
    for fn in FIGURES:
        name = f"{fn.__name__}.png"
        captions[name] = fn(results, folder / name)
    return captions
