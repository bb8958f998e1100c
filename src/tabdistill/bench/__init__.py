"""``tabdistill bench``: every method, budget and learner on a suite of tables, in one command.

:func:`run_bench` plans the grid (:mod:`.grid`), runs the cells not yet cached over an
executor, and writes ``results.csv`` (one row per trained model), ``summary.json``,
``summary.md``, ``summary.html`` and ``figures/`` (:mod:`.summary`, :mod:`.report`).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from ..executor import Executor, SerialExecutor
from ..io import atomic_write_text, ensure_writable
from .grid import Grid, plan, results_frame, run_task
from .report import draw_figures, render_html, render_markdown
from .suite import Table, load_suite, tables_from_args
from .summary import summarize_results

__all__ = ["Grid", "Table", "load_suite", "run_bench", "tables_from_args"]


def run_bench(grid: Grid, out: str | Path, executor: Executor | None = None, *,
              progress=None, command: str = "", publish: str | Path | None = None) -> dict:
    """Runs the grid's missing cells (cached in ``out/cells``) and writes the outputs.

    Args:
      grid: what to measure.
      out: the output directory; rerunning with the same ``out`` reuses finished cells.
      executor: where cells run (default: here, one after another).
      progress: a ``(done, total)`` callback, called as cells finish.
      command: the command line, recorded in the summary.
      publish: also write the Markdown summary here, its figures beside it in a folder named
        after the file (``docs/benchmark.md`` -> ``docs/benchmark/``).

    Returns the summary (what ``summary.json`` holds).
    """
    out = ensure_writable(out)
    if publish is not None:
        ensure_writable(Path(publish).parent)
    start = time.perf_counter()
    todo = plan(grid, out / "cells")
    cells, done = list(todo.cached), len(todo.cached)
    if progress is not None:
        progress(done, todo.total)
    earlier = _read_runs(out)

    def log_run() -> list[dict]:
        # Rewritten as cells finish, so that a killed invocation's time is counted too.
        run = {"seconds": round(time.perf_counter() - start, 1),
               "cells_computed": done - len(todo.cached), "cells_reused": len(todo.cached),
               "command": command}
        atomic_write_text(out / "runs.json", json.dumps([*earlier, run], indent=1))
        return [*earlier, run]

    for finished in (executor or SerialExecutor()).imap_unordered(run_task, todo.tasks):
        cells += finished
        done += len(finished)
        log_run()
        if progress is not None:
            progress(done, todo.total)
    results = results_frame(cells, todo.budgets)
    atomic_write_text(out / "results.csv", results.to_csv(index=False))
    summary = summarize_results(results, notes=todo.notes, learners=grid.learners,
                                seconds=time.perf_counter() - start, chance=todo.chance)
    runs = log_run()
    computing = [r for r in runs if r["cells_computed"] > 0]
    # Cells copied into the folder from another run count in cells_total, not cells_computed.
    summary.update(cells_reused=len(todo.cached), cells_computed=done - len(todo.cached),
                   command=command, runs_computing=len(computing), cells_total=len(cells),
                   cells_computed_here=sum(r["cells_computed"] for r in runs),
                   wall_seconds_computing=round(sum(r["seconds"] for r in computing), 1))
    figures = draw_figures(results, summary, out / "figures")
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    markdown = render_markdown(summary, figures, command=command)
    atomic_write_text(out / "summary.md", markdown)
    atomic_write_text(out / "summary.html", render_html(markdown, out / "figures"))
    if publish is not None:
        publish = Path(publish)
        folder = publish.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        for name, _ in figures:
            shutil.copyfile(out / "figures" / name, folder / name)
        atomic_write_text(publish, render_markdown(summary, figures, command=command,
                                                   figure_dir=folder.name))
    return summary


def _read_runs(out: Path) -> list[dict]:
    """The invocations recorded in ``out/runs.json`` (wall time, cells computed)."""
    try:
        runs = json.loads((out / "runs.json").read_text())
        return [r for r in runs if isinstance(r, dict) and {"seconds", "cells_computed"} <= set(r)]
    except (OSError, ValueError, TypeError):
        return []
