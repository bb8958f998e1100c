"""The whole study in one call: plan the experiments, run the missing ones over an executor,
gather what the report needs into ``results.json``, then draw the figures and write the report.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import stats
from ..data import load_dataset
from ..executor import Executor, get_executor
from ..io import atomic_write_text, versions
from .experiments import cache_key, load_entry, plan, plan_evaluations, run_task
from .settings import Settings

PARTS = ("section 4", "section 5.1", "section 5.2-5.3", "section 6", "evaluations (5.2-6)",
         "section 3")


def reproduce(settings: Settings, out: str | Path, *, executor: Executor | None = None,
              force: bool = False, progress: bool = True) -> dict:
    """Runs (or reuses from ``out/cache``) every experiment over ``executor`` (default: a local
    process per core); writes results, figures, report.

    Returns the results dict that was written to ``out/results.json``.
    """
    out = Path(out)
    cache = out / "cache"
    start = time.perf_counter()
    executor = executor or get_executor(None)
    first = run_all(settings, plan(settings), cache, executor, force, progress, {})
    distilled = {spec["kind"]: res for _, name, spec, res, _ in first if name == "distillation"}
    second = run_all(settings, plan_evaluations(settings), cache, executor, force, progress,
                     distilled)
    results = gather(settings, first + second, time.perf_counter() - start)
    text = json.dumps(results, separators=(",", ":"))
    atomic_write_text(out / "results.json", text)
    results = json.loads(text)  # the report is drawn from what results.json holds, only that
    render(results, out)
    return results


def run_all(settings, tasks, cache: Path, executor, force, progress, distilled) -> list:
    """Runs the tasks not in the cache over ``executor``; returns
    ``(part, name, spec, result, cached)`` for every task, in order."""
    keyed = [(part, name, spec, cache_key(name, spec)) for part, name, spec in tasks]
    done = {} if force else {key: hit for *_, key in keyed
                             if (hit := load_entry(cache / key)) is not None}
    todo, seen = [], set(done)
    for t in keyed:  # equal specs (see cache_key) run once
        if t[3] not in seen:
            seen.add(t[3])
            todo.append(t)
    inputs = {k: {a: v[a] for a in ARRAYS} for k, v in distilled.items()}
    jobs = [(name, spec, str(cache), force, inputs if name == "evaluation" else None,
             fast_compile(settings, name, spec), progress) for _, name, spec, _ in todo]
    with _watch(cache, [t[3] for t in todo], len(done), len(keyed), progress):
        fresh = executor.map(run_task, jobs)
    done.update({t[3]: r for t, r in zip(todo, fresh, strict=True)})
    new = {id(t) for t in todo}  # a repeated spec counts as computed once, then cached
    return [(t[0], t[1], t[2], done[t[3]], id(t) not in new) for t in keyed]


ARRAYS = ("x", "targets", "labels", "lrs", "loss_history", "restart_ids")


def fast_compile(settings: Settings, name: str, spec: dict) -> bool:
    """Whether the experiment's programs run for less time than XLA takes to optimise them."""
    if settings.quick:
        return True
    if name == "evaluation":
        return spec["strategies"] == ["raw"]
    if name == "sweep_point":
        d = spec["distill"]
        return d["steps"] * d["epochs"] * d["models"] <= 40
    return False


def render(results: dict, out: str | Path) -> None:
    """Draws every figure and writes the tables and the report from ``results`` alone."""
    from .figures import draw_all
    from .report import write_report, write_tables

    out = Path(out)
    start = time.perf_counter()
    figures = draw_all(results, out / "figures")
    tables = write_tables(results, out / "tables")
    results["timing"]["report_seconds"] = round(time.perf_counter() - start, 1)
    write_report(results, figures, tables, out)


class _watch:
    """A tqdm bar of finished experiments, fed by polling the cache (works with any executor,
    since workers write their entries there as they finish)."""

    def __init__(self, cache: Path, keys: list[str], done: int, total: int, enabled: bool):
        self.cache, self.keys, self.done, self.total = cache, keys, done, total
        self.enabled = enabled and bool(keys)
        self.stop = threading.Event()
        self.start = time.time()  # entries older than this are stale ones being recomputed

    def __enter__(self):
        if self.enabled:
            self.bar = tqdm(total=self.total, initial=self.done, desc="experiments",
                            unit="exp", file=sys.stderr)
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()
        return self

    def _poll(self):
        while not self.stop.wait(1.0):
            finished = sum(_mtime(self.cache / k / "meta.json") >= self.start
                           for k in self.keys)
            self.bar.update(self.done + finished - self.bar.n)

    def __exit__(self, *exc):
        if self.enabled:
            self.stop.set()
            self.thread.join()
            self.bar.update(self.total - self.bar.n if exc[0] is None else 0)
            self.bar.close()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("-inf")


# ---- gathering: from cache entries to the JSON the report is drawn from --------------------

def band(values, *, nested: bool = False) -> dict:
    """Mean and 95% bootstrap band of the mean per column of ``values`` (see
    :func:`..stats.band`), rounded for ``results.json``."""
    b = stats.band(values, nested=nested)
    return {k: _r(v) for k, v in b.items()}


def _r(a, digits: int = 5):
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def gather(settings: Settings, entries: list, wall: float) -> dict:
    """Everything the figures and the report need, as plain JSON-able values."""
    s = settings
    ds = load_dataset(s.dataset, test_size=s.test_size, seed=s.split_seed)
    timing = {p: {"seconds": 0.0, "experiments": 0, "cached": 0} for p in PARTS}
    results = {
        "settings": s.as_dict(), "quick": s.quick, "versions": versions(),
        "dataset": {"name": ds.name, "X_train": _r(ds.X_train, 4), "y_train": ds.y_train.tolist(),
                    "X_test": _r(ds.X_test, 4), "y_test": ds.y_test.tolist()},
        "full": {}, "distilled": {}, "sweeps": {}, "complexity": {}, "rows": [],
        "timing": {"parts": timing, "compute_wall_seconds": round(wall, 1)},
    }
    evaluations = []
    for part, name, spec, res, cached in entries:
        t = timing[part]
        t["seconds"] += float(res["seconds"])
        t["experiments"] += 1
        t["cached"] += int(cached)
        if name == "full_data":
            results["full"][spec["baseline"]["arch"]] = _full(res)
        elif name == "distillation":
            results["distilled"][spec["kind"]] = _distilled(spec, res)
        elif name == "evaluation":
            evaluations.append((spec, res))
        elif name == "sweep_point":
            sweep = results["sweeps"].setdefault(spec["label"]["param"], {})
            sweep[str(spec["label"]["value"])] = {"accuracy": _r(res["accuracy"]),  # [R, K]
                                         "seconds": float(res["seconds"])}
        elif name == "complexity":
            results["complexity"] = {k: (_r(v, 9) if isinstance(v, np.ndarray) else v)
                                     for k, v in res.items() if k != "cached"}
    for spec, res in evaluations:
        _add_evaluation(results["distilled"], spec, res)
    for kind, d in results["distilled"].items():
        _median_restart(kind, d, settings)
    for p in timing.values():
        p["seconds"] = round(p["seconds"], 1)
    for param, points in results["sweeps"].items():  # in swept order
        results["sweeps"][param] = dict(sorted(points.items(), key=lambda kv: int(kv[0])))
    results["rows"] = accuracy_rows(results)
    return results


def _full(res: dict) -> dict:
    out = {"accuracy": _r(res["accuracy"]), "logloss": _r(res["logloss"]),
           "curve_accuracy": band(res["curve_accuracy"]),
           "curve_logloss": band(res["curve_logloss"]),
           "seconds": float(res["seconds"])}
    if "grid_prob" in res:
        out["grid"] = {"x": _r(res["grid_x"], 4), "y": _r(res["grid_y"], 4),
                       "prob": _r(res["grid_prob"], 3)}
    return out


def _distilled(spec: dict, res: dict) -> dict:
    return {"x_all": res["x"], "labels": res["labels"].tolist(),
            "lrs": band(res["lrs"]), "lrs_per_restart": _r(res["lrs"]),
            "loss": band(res["loss_history"]), "config": spec["distill"], "eval": {},
            "grids": {}, "seconds": float(res["seconds"]),
            "distill_seconds": float(res["distill_seconds"])}


def _add_evaluation(distilled: dict, spec: dict, res: dict) -> None:
    arch = spec["arch"]
    for kind in spec["distilled"]:
        for strategy in spec["strategies"]:
            key = f"{kind}.{strategy}"
            distilled[kind]["eval"].setdefault(strategy, {})[arch] = {
                "accuracy": _r(res[f"accuracy.{key}"]),  # [restarts, inits]
                "per_restart": _r(res[f"accuracy.{key}"].mean(1)),
                "logloss": _r(res[f"logloss.{key}"]),
                "steps": res[f"curve_steps.{key}"].tolist(),
                "curve_accuracy": band(res[f"curve_accuracy.{key}"], nested=True),
                "curve_logloss": band(res[f"curve_logloss.{key}"], nested=True),
            }
    if "grid_prob" in res:
        distilled[arch]["grids"][arch] = {"x": _r(res["grid_x"], 4), "y": _r(res["grid_y"], 4),
                                          "prob": _r(res["grid_prob"], 3),
                                          "restart": int(res["median_restart"])}


def _median_restart(kind: str, d: dict, settings: Settings) -> None:
    """The restart of median quality (raw steps, own nets): its synthetic data is drawn."""
    from .experiments import median_index

    own = list(settings.archs) if kind == "all" else [kind]
    raw = d["eval"].get("raw", {})
    if all(a in raw for a in own):
        quality = np.mean([raw[a]["per_restart"] for a in own], axis=0)
        r = median_index(quality)
    else:
        r = 0
    d["median_restart"] = r
    d["x"] = _r(d.pop("x_all")[r], 4)


def accuracy_rows(results: dict) -> list[dict]:
    """The tidy table: one row per (data, strategy, test architecture).

    Full-data rows summarise independent inits (``n`` of them). Distilled rows summarise
    ``inits`` fresh nets nested in each of ``n`` restarts: ``std`` is the std of the
    per-restart means (the paper's std over restarts), ``std_init`` the spread of inits
    within a restart, and the interval is the two-level bootstrap's.
    """
    rows = []

    def add(data, strategy, arch, values):
        s = stats.summarize(values)
        std_init = round(s["std_init"], 4) if "std_init" in s else None
        rows.append({"data": data, "strategy": strategy, "test_arch": arch,
                     "mean": round(s["mean"], 4), "std": round(s["std"], 4),
                     "std_init": std_init,
                     "ci_low": round(s["ci95"][0], 4), "ci_high": round(s["ci95"][1], 4),
                     "n": s["n"], "inits": s["inits"]})

    for arch, res in results["full"].items():
        add("full", "full", arch, res["accuracy"])
    for kind, res in results["distilled"].items():
        for strategy, per_arch in res["eval"].items():
            for arch, ev in per_arch.items():
                add(kind, strategy, arch, ev["accuracy"])
    return rows
