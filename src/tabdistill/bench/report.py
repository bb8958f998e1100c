"""The benchmark's summary as Markdown and self-contained HTML, with its figures: every number
and sentence is computed from the summary (itself computed from ``results.csv``)."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..io import atomic_file
from .summary import MIN_GAP, TOLERANCE, means

if TYPE_CHECKING:
    import pandas as pd


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _grid(records: list[dict], rpc: int, methods, learners, value, fmt) -> list[list[str]]:
    """Rows (one per method) x columns (learners) of one budget's ``value``."""
    lookup = {(r["method"], r["learner"]): r for r in records if r["rows_per_class"] == rpc}
    rows = []
    for m in methods:
        cells = [fmt(lookup[(m, lr)]) if (m, lr) in lookup else "" for lr in learners]
        if any(cells):
            rows.append([m, *cells])
    return rows


def verdict(summary: dict) -> list[str]:
    """Plain-words sentences, one per distillation method and budget, from the summary."""
    lines = []
    ranks, regrets = summary["mean_rank"], summary["relative_regret"]
    for rpc in summary["rows_per_class"]:
        for method in dict.fromkeys(r["method"] for r in summary["against_coresets"]):
            rows = [r for r in summary["against_coresets"]
                    if r["method"] == method and r["rows_per_class"] == rpc]
            if not rows:
                continue
            parts = [f"{r['learner']} {r['at_least']}/{r['tables']}" for r in rows]
            best = [lr for lr in summary["learners"] if _best_rank(ranks, rpc, lr) == method]
            lower = [lr for lr in summary["learners"]
                     if _regret(regrets, rpc, lr, method) is not None
                     and _regret(regrets, rpc, lr, "kmeans") is not None
                     and _regret(regrets, rpc, lr, method) < _regret(regrets, rpc, lr, "kmeans")]
            wins = sum(r["wins"] for r in rows)
            losses = sum(r["losses"] for r in rows)
            lines.append(
                f"At {_budget(rpc)}, `{method}` is at least the better of random and "
                f"k-means on {', '.join(parts)} tables; over all learners it wins {wins} and "
                f"loses {losses} of {sum(r['tables'] for r in rows)} paired comparisons. "
                f"It has the best mean rank for {_names(best)}, and a lower mean relative regret "
                f"than k-means for {_names(lower)}.")
    return lines


def _budget(rows_per_class: int) -> str:
    return f"{rows_per_class} row{'s' if rows_per_class != 1 else ''} per class"


def _names(items: list[str]) -> str:
    return ", ".join(items) if items else "no learner"


def _best_rank(ranks, rpc, learner):
    rows = [r for r in ranks if r["rows_per_class"] == rpc and r["learner"] == learner]
    return min(rows, key=lambda r: r["mean_rank"])["method"] if rows else None


def _regret(regrets, rpc, learner, method):
    for r in regrets:
        if (r["rows_per_class"], r["learner"], r["method"]) == (rpc, learner, method):
            return r["mean_regret"]
    return None


def provenance(s: dict) -> str:
    """Where the run's cells came from: how many the invocations writing to its output
    directory computed, in what wall time, and how many were copied in from elsewhere."""
    total, here = s["cells_total"], s["cells_computed_here"]
    text = (f"Its output directory holds {total} cells; {s['runs_computing']} invocation(s) "
            f"writing to it computed {here} in {s['wall_seconds_computing']:.0f} s of wall time"
            if here else f"Its output directory holds {total} cells; none was computed by an "
            "invocation writing to it")
    return text + ("; the others were copied in from earlier runs." if here < total else ".")


def render_markdown(summary: dict, figures: list[tuple[str, str]], *, command: str = "",
                    figure_dir: str = "figures") -> str:
    """``summary.md``: ``figures`` are ``(file name, caption)`` pairs under ``figure_dir``."""
    s = summary
    methods = s["methods"]
    learners = s["learners"]
    ranked = [m for m in methods if m != "full"]
    out = [f"# Benchmark: {len(s['tables'])} tables, {', '.join(map(str, s['rows_per_class']))} "
           f"rows per class, {s['restarts']} restart(s)", ""]
    if command:
        out += ["Made by:", "", "```bash", command, "```", ""]
    took = f" {provenance(s)}" if "cells_total" in s else ""
    out += [f"Tables: {', '.join(s['tables'])}. Methods: {', '.join(methods)}. Learners: "
            f"{', '.join(learners)}. Headline: balanced accuracy on each table's test part; "
            f"every figure below is computed from this run's `results.csv`.{took}", ""]
    out += ["## Verdict", ""] + [f"- {line}" for line in verdict(s)] + [""]
    for rpc in s["rows_per_class"]:
        out += [f"## {_budget(rpc)}", ""]
        out += ["Mean rank across tables (1 = best of the methods of this size; lower is "
                "better):", ""]
        out += _table(["method", *learners], _grid(s["mean_rank"], rpc, ranked, learners,
                                                   "mean_rank",
                                                   lambda r: f"{r['mean_rank']:.2f}")) + [""]
        out += [f"Mean relative regret, (full - method) / (full - random) (0 = as good as the "
                f"full train part, 1 = as good as a random subset; tables where random is within "
                f"{MIN_GAP} of full are left out, tables used in brackets):", ""]
        out += _table(["method", *learners], _grid(
            s["relative_regret"], rpc, ranked, learners, "mean_regret",
            lambda r: f"{r['mean_regret']:.2f} ({r['tables']})")) + [""]
        rows = [r for r in s["against_coresets"] if r["rows_per_class"] == rpc]
        if rows:
            out += [f"Against the better of random and k-means on each table, paired over "
                    f"restarts: wins / ties / losses (a win is a difference whose 95% "
                    f"interval lies above {TOLERANCE}, a loss one below -{TOLERANCE}), tables "
                    f"where the method is at "
                    f"least as good (>=) and better by more than {TOLERANCE} (>), mean "
                    "difference in balanced accuracy:", ""]
            out += _table(["method", "learner", "W / T / L", ">=", ">", "mean difference"], [
                [r["method"], r["learner"], f"{r['wins']} / {r['ties']} / {r['losses']}",
                 f"{r['at_least']}/{r['tables']}", f"{r['better']}/{r['tables']}",
                 f"{r['mean_difference']:+.3f}"] for r in rows]) + [""]
        noise = [c for c in s.get("near_chance", []) if c["rows_per_class"] == rpc]
        if noise:
            out += ["Learners and tables where no method, `full` included, beats random "
                    "guessing (a mean balanced accuracy at most the 95% bound of uniform guesses "
                    "on the table's test part), so that the comparisons above compare noise "
                    "there: " +
                    "; ".join(f"{c['learner']}: {', '.join(c['tables'])}" for c in noise)
                    + ".", ""]
        picks = [c for c in s.get("auto_choices", []) if c["rows_per_class"] == rpc]
        if picks:
            out += ["What `auto` chose (models trained on its sets, tables x restarts):", ""]
            names = sorted({c["chosen"] for c in picks})
            out += _table(["learner", *names], [
                [learner, *(str(sum(c["count"] for c in picks if c["learner"] == learner
                                    and c["chosen"] == n)) for n in names)]
                for learner in learners if any(c["learner"] == learner for c in picks)]) + [""]
    spent = s["time_spent"]
    out += ["## Time", "", f"Computing every cell took {spent['total']:.0f} s of CPU-bound "
            "work (one core each), spent as follows (seconds):", ""]
    out += _table(["work", "seconds", "share"],
                  [[f"making sets: {name}", f"{v:.0f}", f"{v / spent['total']:.0%}"]
                   for name, v in spent["make"].items()] +
                  [[f"training and predicting: {name}", f"{v:.0f}",
                    f"{v / spent['total']:.0%}"] for name, v in spent["fit"].items()])
    out += ["", "Mean seconds to make one restart's set, and to train one learner on it and "
            "predict the test part:", ""]
    out += _table(["method", "rows per class", "make (s)", "fit + predict (s)"],
                  [[t["method"], "all" if t["method"] == "full" else str(t["rows_per_class"]),
                    f"{t['seconds_make']:.2f}", f"{t['seconds_fit']:.2f}"]
                   for t in s["timing"]]) + [""]
    out += ["## Figures", ""]
    out += [f"![{cap}]({figure_dir}/{name})" + "\n\n" + f"*{cap}*\n" for name, cap in figures]
    if s["notes"]:
        out += ["## Notes", ""] + [f"- {n}" for n in s["notes"]] + [""]
    return "\n".join(out)


def render_html(markdown: str, figures_dir: Path, figure_dir: str = "figures") -> str:
    """A self-contained page of the Markdown summary (figures embedded)."""
    body, in_table, in_code = [], False, False
    for line in markdown.splitlines():
        if line.startswith("```"):
            body.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            body.append(html.escape(line))
            continue
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-"):
                continue
            tag = "th" if not in_table else "td"
            body.append(("<table>" if not in_table else "") + "<tr>" +
                        "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
            in_table = True
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("!["):
            name = line.rsplit("](", 1)[1].removesuffix(")").removeprefix(f"{figure_dir}/")
            data = base64.b64encode((figures_dir / name).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            body.append(f"<p>&bull; {html.escape(line[2:])}</p>")
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:2px 8px;text-align:right}img{max-width:100%}pre{background:#f4f4f4;"
             "padding:.5em}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>tabdistill benchmark"
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>")


def draw_figures(results: pd.DataFrame, summary: dict, folder: Path) -> list[tuple[str, str]]:
    """Balanced accuracy against rows per class (a panel per table, a line per method) for each
    learner, and a heat map of mean ranks; returns ``(file name, caption)`` pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    figures = []
    per_restart = results.groupby(["dataset", "rows_per_class", "method", "learner"])[
        "balanced_accuracy"]
    m = means(results).set_index(["dataset", "rows_per_class", "method", "learner"])
    spread = per_restart.std(ddof=1).fillna(0.0)
    tables, methods = summary["tables"], summary["methods"]
    colors = {meth: plt.cm.tab10(i) for i, meth in enumerate(methods)}
    # The methods side by side around each budget (a small factor on the log axis), so that
    # their error bars do not hide one another.
    dodge = {meth: 1.06 ** (i - (len(methods) - 1) / 2) for i, meth in enumerate(methods)}
    for learner in summary["learners"]:
        cols = min(4, len(tables))
        rows = int(np.ceil(len(tables) / cols))
        fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.7 * rows + 0.8),
                                 squeeze=False)
        for ax, table in zip(axes.flat, tables, strict=False):
            values = m.xs((table, learner), level=("dataset", "learner"))["balanced_accuracy"]
            ax.set_ylim(values.min() - 0.03, values.max() + 0.03)  # never a zero-height range
            for meth in methods:
                try:
                    part = m.xs((table, meth, learner), level=("dataset", "method", "learner"))
                    err = spread.xs((table, meth, learner),
                                    level=("dataset", "method", "learner"))
                except KeyError:
                    continue
                x = part.index.to_numpy() * dodge[meth]
                style = dict(ls="--", marker=None) if meth == "full" else dict(marker="o", ms=3)
                ax.errorbar(x, part["balanced_accuracy"], yerr=err.reindex(part.index), capsize=2,
                            color=colors[meth], label=meth, lw=1.2, **style)
            ax.set_xscale("log")
            ax.set_xticks(summary["rows_per_class"], [str(b) for b in summary["rows_per_class"]])
            ax.minorticks_off()
            ax.set_title(table, fontsize=9)
            ax.tick_params(labelsize=7)
        for ax in axes.flat[len(tables):]:
            ax.axis("off")
        for ax in axes[-1]:
            ax.set_xlabel("rows per class (log scale)", fontsize=8)
        for ax in axes[:, 0]:
            ax.set_ylabel("balanced accuracy", fontsize=8)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(methods), fontsize=8,
                   frameon=False)
        fig.suptitle(f"{learner}: test balanced accuracy against budget (mean +- std over "
                     f"{summary['restarts']} restarts; full train part dashed)", fontsize=10)
        fig.tight_layout(rect=(0, 0.05, 1, 0.97))
        name = f"accuracy_{learner.replace(':', '_')}.png"
        _save(fig, folder / name)
        plt.close(fig)
        figures.append((name, f"{learner}: balanced accuracy against rows per class, a panel "
                              "per table"))
    ranked = [meth for meth in methods if meth != "full"]
    if not ranked:  # nothing of the budget's size to rank
        return figures
    budgets = summary["rows_per_class"]
    fig, axes = plt.subplots(1, len(budgets), figsize=(0.7 * len(summary["learners"]) *
                                                       len(budgets) + 3, 0.45 * len(ranked) + 2),
                             squeeze=False, layout="constrained")
    for ax, rpc in zip(axes[0], budgets, strict=True):
        grid = np.full((len(ranked), len(summary["learners"])), np.nan)
        for r in summary["mean_rank"]:
            if r["rows_per_class"] == rpc and r["method"] in ranked:
                grid[ranked.index(r["method"]), summary["learners"].index(r["learner"])] = (
                    r["mean_rank"])
        image = ax.imshow(grid, cmap="RdYlGn_r", vmin=1, vmax=len(ranked), aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(summary["learners"])), summary["learners"], rotation=45,
                      fontsize=8)
        ax.set_yticks(range(len(ranked)), ranked, fontsize=8)
        ax.set_xlabel("learner", fontsize=8)
        ax.set_title(_budget(rpc), fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), label="mean rank across tables (1 = best)")
    fig.suptitle("Mean rank of each method (balanced accuracy), per learner and budget",
                 fontsize=10)
    _save(fig, folder / "ranks.png")
    plt.close(fig)
    figures.append(("ranks.png", "mean rank of each method across tables, per learner and "
                                 "budget (lower is better)"))
    return figures


def _save(fig, path: Path) -> None:
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
