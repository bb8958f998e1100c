"""The paper's experiments, one top-level (picklable) function each, cached on disk.

Each experiment takes a *spec*, a JSON-able dict of exactly the settings it depends on, and
returns a flat dict: numpy arrays (saved to ``result.npz``) and plain values (``meta.json``).
:func:`run_task` wraps an experiment with the cache: the entry's directory is named by a hash of
the experiment's name and spec, and written atomically, so a changed setting never reuses stale
numbers and an interrupted run keeps every experiment that finished.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import native
from ..baseline import BaselineConfig, train_full
from ..config import DistillConfig
from ..data import Dataset, load_dataset
from ..distill import DistilledData, distill, trained_loss
from ..evaluate import EVAL_SALT, evaluate
from ..inner import MEMORY_MODES
from ..io import atomic_dir, versions
from ..models import one_hot_targets, parse_arch
from ..progress import progress_bar
from ..strategies import parse_strategy
from ..training import fit_schedule
from .settings import Settings

CACHE_VERSION = 1  # bump when an experiment's output changes meaning


# ---- specs: what each experiment depends on ------------------------------------------------

def _data_spec(s: Settings) -> dict:
    return {"name": s.dataset, "test_size": s.test_size, "split_seed": s.split_seed}


def _config(config) -> dict:
    return json.loads(json.dumps(config.__dict__, default=list))


def plan(s: Settings) -> list[tuple[str, str, dict]]:
    """The experiments that need nothing but the data, as ``(part, name, spec)``, longest first.

    The evaluations of distilled data come second (:func:`plan_evaluations`): they need the
    distilled sets, and grouping them by test net lets each worker compile each program once.
    """
    data = _data_spec(s)
    tasks = [(_part(kind), "distillation", distillation_spec(s, kind))
             for kind in ("all", *reversed(s.archs))]  # the multi-arch and deep nets: longest
    sweeps = [("epochs", v, dict(epochs=v, steps=1, models=1)) for v in s.sweep_epochs]
    sweeps += [("steps", v, dict(epochs=1, steps=v, models=1)) for v in s.sweep_steps]
    sweeps += [("models", v, dict(epochs=1, steps=s.sweep_models_steps, models=v))
               for v in s.sweep_models]
    sweeps.sort(key=lambda t: -t[2]["epochs"] * t[2]["steps"] * t[2]["models"])
    for param, value, change in sweeps:
        config = s.distill.replace(arch=(s.sweep_arch,), restarts=s.sweep_restarts,
                                   outer_epochs=s.sweep_outer_epochs, **change)
        tasks.append(("section 5.1", "sweep_point", {
            "data": data, "label": {"param": param, "value": value}, "distill": _config(config),
            "inits": s.eval_inits}))
    tasks.append(("section 3", "complexity", {
        "data": data, "arch": s.complexity_arch, "ns": list(s.complexity_ns),
        "repeats": s.complexity_repeats, "distill": _config(s.distill)}))
    for arch in s.archs:
        tasks.append(("section 4", "full_data", {
            "data": data, "baseline": _config(s.baseline.replace(arch=arch)), "grid": s.grid}))
    return tasks


def _part(kind: str) -> str:
    return "section 6" if kind == "all" else "section 5.2-5.3"


def distillation_spec(s: Settings, kind: str) -> dict:
    archs = tuple(s.archs) if kind == "all" else (kind,)
    config = s.distill.replace(arch=archs, models=max(s.distill.models, len(archs)))
    return {"data": _data_spec(s), "kind": kind, "distill": _config(config)}


def plan_evaluations(s: Settings) -> list[tuple[str, str, dict]]:
    """Fresh nets of each test arch trained on every distilled set: one task per test arch and
    per schedule length (the raw steps, or the longer strategies)."""
    tasks = []
    groups = [[x for x in s.strategies if x == "raw"], [x for x in s.strategies if x != "raw"]]
    for group in (g for g in reversed(groups) if g):
        for arch in reversed(s.archs):
            tasks.append(("evaluations (5.2-6)", "evaluation", {
                "data": _data_spec(s), "arch": arch, "strategies": group,
                "distilled": {k: distillation_spec(s, k) for k in ("all", *s.archs)},
                "inits": s.eval_inits, "strategy_epochs": s.strategy_epochs,
                "strategy": strategy_constants(s.strategy),
                "grid": s.grid}))
    return tasks


def cache_key(name: str, spec: dict) -> str:
    """The cache entry of an experiment: a hash of everything but its ``label`` (sweep points
    with equal settings, such as 1 epoch and 1 step, share one entry)."""
    spec = {k: v for k, v in spec.items() if k != "label"}
    text = json.dumps({"experiment": name, "version": CACHE_VERSION, "spec": spec},
                      sort_keys=True)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


# ---- the cache -----------------------------------------------------------------------------

def load_entry(path: Path) -> dict | None:
    """A finished cache entry, or ``None`` if there is none or it is unreadable or foreign
    (then it is recomputed). Only JSON and ``np.load(allow_pickle=False)``: no code runs."""
    try:
        meta = json.loads((path / "meta.json").read_bytes())
        with open(path / "result.npz", "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError, TypeError, EOFError, RecursionError,
            zipfile.BadZipFile):  # TypeError: a bare .npy, which is no context manager
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("result"), dict):
        return None
    return {**meta["result"], **arrays}


def save_entry(path: Path, name: str, spec: dict, result: dict) -> None:
    arrays = {k: v for k, v in result.items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in result.items() if not isinstance(v, np.ndarray)}
    meta = {"experiment": name, "spec": spec, "versions": versions(), "result": plain}
    with atomic_dir(path) as tmp:
        np.savez_compressed(tmp / "result.npz", **arrays)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))


_bars = True  # this worker's current task shows progress bars (set by run_task)


def run_task(task: tuple) -> dict:
    """Runs one experiment unless the cache has it.

    ``task = (name, spec, cache_dir, force, inputs, fast_compile, bars)``: ``inputs`` are
    results of earlier experiments it needs (determined by its spec); ``fast_compile`` trades
    run time for compile time, for programs that run for less time than XLA takes to optimise
    them (the same numbers up to float rounding, so it is not part of the cache key); ``bars``
    shows the experiment's progress bars (off for ``--quiet``). Returns the result with
    ``seconds`` (compute time when it was made) and ``cached``.
    """
    global _bars
    name, spec, cache_dir, force, inputs, fast_compile, _bars = task
    path = Path(cache_dir) / cache_key(name, spec)
    if not force:
        hit = load_entry(path)
        if hit is not None:
            return {**hit, "cached": True}
    saved = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", bool(fast_compile))
    start = time.perf_counter()
    try:
        result = EXPERIMENTS[name](spec, inputs)
    finally:
        jax.config.update("jax_disable_most_optimizations", saved)
    result["seconds"] = round(time.perf_counter() - start, 2)
    save_entry(path, name, spec, result)
    return {**result, "cached": False}


# ---- helpers -------------------------------------------------------------------------------

def _dataset(spec: dict) -> Dataset:
    d = spec["data"]
    return load_dataset(d["name"], test_size=d["test_size"], seed=d["split_seed"])


def grid_axes(dataset: Dataset, size: int, margin: float = 0.4):
    """The raster of the decision-boundary figures: the real data's box with a margin."""
    X = np.concatenate([dataset.X_train, dataset.X_test])
    lo, hi = X.min(0) - margin, X.max(0) + margin
    return np.linspace(lo[0], hi[0], size), np.linspace(lo[1], hi[1], size)


def _grid_probability(arch, params, dataset: Dataset, size: int) -> dict:
    """P(class 1) of one binary 2-d model on the raster (empty for other problems)."""
    if dataset.n_features != 2 or dataset.n_classes != 2:
        return {}
    gx, gy = grid_axes(dataset, size)
    points = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2).astype(np.float32)
    prob = jax.nn.sigmoid(arch.apply(params, jnp.asarray(points))[:, 0])
    return {"grid_x": gx, "grid_y": gy, "grid_prob": np.asarray(prob).reshape(size, size)}


def median_index(values: np.ndarray) -> int:
    """Index of the (lower) median of ``values``."""
    return int(np.argsort(values, kind="stable")[(len(values) - 1) // 2])


def strategy_constants(strategy) -> dict:
    """The constants an evaluation reads (lengths come from ``strategy_epochs`` instead)."""
    lengths = ("kind", "epochs", "times", "extra")
    return {k: v for k, v in dataclasses.asdict(strategy).items() if k not in lengths}


def _strategy(name: str, config: DistillConfig, ev: dict):
    """Strategy ``name`` stretched to ``strategy_epochs`` epochs of ``config.steps`` steps."""
    total = ev["strategy_epochs"]
    return parse_strategy(name, epochs=total, times=max(1, total // config.epochs),
                          extra=max(0, total - config.epochs), **ev["strategy"])


# ---- section 4: full-data baselines --------------------------------------------------------

def full_data(spec: dict, inputs=None) -> dict:
    """Fresh nets on the whole train part: accuracy, convergence, the median model's boundary."""
    dataset = _dataset(spec)
    config = BaselineConfig(**spec["baseline"])
    result = train_full(dataset, config)
    m = median_index(result.accuracy)
    median_params = jax.tree.map(lambda leaf: leaf[m], result.params)
    return {
        "accuracy": result.accuracy, "logloss": result.logloss,
        "curve_accuracy": result.curve_accuracy, "curve_logloss": result.curve_logloss,
        "median": m,
        **_grid_probability(parse_arch(config.arch), median_params, dataset, spec["grid"]),
    }


# ---- sections 5.2, 5.3 and 6: distillation and every evaluation of its data ----------------

def distillation(spec: dict, inputs=None) -> dict:
    """Distils for ``kind`` (one arch, or ``all`` of them as internal models)."""
    dataset = _dataset(spec)
    config = DistillConfig(**{**spec["distill"], "arch": tuple(spec["distill"]["arch"])})
    with progress_bar(config.outer_epochs, f"distilling for {spec['kind']}",
                      disable=not _bars) as bar:
        distilled = distill(dataset, config, progress=bar)
    return {"x": distilled.x, "targets": distilled.targets, "labels": distilled.labels,
            "lrs": distilled.lrs, "loss_history": distilled.loss_history,
            "restart_ids": np.asarray(distilled.restart_ids),
            "distill_seconds": distilled.seconds}


def evaluation(spec: dict, inputs: dict) -> dict:
    """Trains fresh ``arch`` nets on every distilled set (``inputs``: kind -> distillation
    result) with each strategy of the group; for the net's own data, also draws the median
    model's decision boundary (figure 3 b, d)."""
    dataset = _dataset(spec)
    arch, out = spec["arch"], {}
    for kind, dspec in spec["distilled"].items():
        distilled = _distilled(dspec, inputs[kind], dataset)
        config = distilled.config
        for name in spec["strategies"]:
            strategy = _strategy(name, config, spec)
            every = max(1, config.steps // 4) if strategy.kind == "raw" else config.steps
            e = evaluate(distilled, dataset.X_test, dataset.y_test, arch=arch,
                         strategy=strategy, inits=spec["inits"], record_every=every)
            key = f"{kind}.{name}"
            out[f"accuracy.{key}"] = e.accuracy
            out[f"logloss.{key}"] = e.logloss
            out[f"curve_steps.{key}"] = e.curve_steps
            out[f"curve_accuracy.{key}"] = e.curve_accuracy
            out[f"curve_logloss.{key}"] = e.curve_logloss
        if kind == arch and "raw" in spec["strategies"]:
            r = median_index(out[f"accuracy.{kind}.raw"].mean(1))
            params = _median_model(arch, distilled, r, dataset, spec["inits"])
            out.update(_grid_probability(parse_arch(arch), params, dataset, spec["grid"]))
            out["median_restart"] = r
    return out


def _distilled(spec: dict, res: dict, dataset: Dataset) -> DistilledData:
    config = DistillConfig(**{**spec["distill"], "arch": tuple(spec["distill"]["arch"])})
    return DistilledData(x=res["x"], targets=res["targets"], labels=res["labels"],
                         lrs=res["lrs"], loss_history=res["loss_history"],
                         n_classes=dataset.n_classes, config=config,
                         restart_ids=tuple(int(r) for r in res["restart_ids"]))


def _median_model(arch: str, distilled, r: int, dataset: Dataset, inits: int):
    """Trains ``inits`` fresh nets on restart ``r``'s raw steps; returns the median one."""
    net = parse_arch(arch)
    lrs = jnp.asarray(distilled.lrs[r])
    key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(0), EVAL_SALT + 1), r)
    params, (acc, _) = fit_schedule(
        net, jnp.asarray(distilled.x[r]), jnp.asarray(distilled.targets[r]),
        jnp.arange(lrs.shape[0]) % distilled.config.steps, lrs, jax.random.split(key, inits),
        (jnp.asarray(dataset.X_test), jnp.asarray(dataset.y_test)), init=distilled.config.init)
    m = median_index(np.asarray(acc[:, -1]))
    return jax.tree.map(lambda leaf: leaf[m], params)


# ---- section 5.1: one point of a hyper-parameter sweep -------------------------------------

def sweep_point(spec: dict, inputs=None) -> dict:
    """Distils with one swept setting changed; scores the swept arch on the raw steps."""
    dataset = _dataset(spec)
    config = DistillConfig(**{**spec["distill"], "arch": tuple(spec["distill"]["arch"])})
    label = f"sweep {spec['label']['param']}={spec['label']['value']}"
    with progress_bar(config.outer_epochs, label, disable=not _bars) as bar:
        distilled = distill(dataset, config, progress=bar)
    e = evaluate(distilled, dataset.X_test, dataset.y_test, arch=config.arch[0],
                 inits=spec["inits"])
    return {"accuracy": e.accuracy, "logloss": e.logloss, "distill_seconds": distilled.seconds}


# ---- section 3, measured: time and memory of one outer step against n ----------------------

def complexity(spec: dict, inputs=None) -> dict:
    """Seconds per outer step and compiled temporary memory against n, per memory mode.

    The step is the paper's: m fresh nets trained through n unrolled inner steps, their mean
    loss on a real minibatch, its gradient with respect to the synthetic data and the lrs. It
    runs the JAX loop: the memory measured is that of XLA's compiled program, which does not
    see what the C loop (:mod:`tabdistill.native`) allocates for itself.
    """
    with native.turned_off():
        return _complexity(spec)


def _complexity(spec: dict) -> dict:
    dataset = _dataset(spec)
    config = DistillConfig(**{**spec["distill"], "arch": tuple(spec["distill"]["arch"])})
    net = parse_arch(spec["arch"])
    X = jnp.asarray(dataset.X_train[: config.batch_size])
    T = one_hot_targets(jnp.asarray(dataset.y_train[: config.batch_size]), dataset.n_classes)
    per_batch = config.per_class * dataset.n_classes
    k_x, k_models = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(k_x, (config.steps, per_batch, dataset.n_features))
    labels = jnp.tile(jnp.repeat(jnp.arange(dataset.n_classes), config.per_class), config.steps)
    t = one_hot_targets(labels, dataset.n_classes).reshape(config.steps, per_batch, -1)
    out = {"ns": np.asarray(spec["ns"]), "modes": list(MEMORY_MODES)}
    for memory in MEMORY_MODES:
        seconds, temp = [], []
        for n in spec["ns"]:
            step = _outer_step(net, config, memory, n, x.shape[-1], t.shape[-1])
            raw = jnp.full((n,), math.log(math.expm1(config.init_lr)))
            compiled = jax.jit(step).lower(x, t, raw, X, T, k_models).compile()
            temp.append(compiled.memory_analysis().temp_size_in_bytes)
            jax.block_until_ready(compiled(x, t, raw, X, T, k_models))  # warm
            times = []
            for _ in range(spec["repeats"]):
                start = time.perf_counter()
                jax.block_until_ready(compiled(x, t, raw, X, T, k_models))
                times.append(time.perf_counter() - start)
            seconds.append(float(np.median(times)))
        out[f"seconds.{memory}"] = np.asarray(seconds)
        out[f"temp_bytes.{memory}"] = np.asarray(temp, dtype=np.float64)
        for what in ("seconds", "temp_bytes"):
            out[f"slope.{what}.{memory}"] = growth_rate(spec["ns"], out[f"{what}.{memory}"])
    return out


def _outer_step(net, config: DistillConfig, memory: str, n: int, d: int, k: int):
    """The engine's outer step without the Adam update, for one arch and ``n`` inner steps.

    Not ``Distiller_.outer_loss`` itself: the engine draws the models outside the
    differentiated function, per architecture group, and takes a real batch's row weights;
    that program compiles to 0.1-1.6% more or less temporary memory than this one, which
    would change the published section 3 numbers. Each model's loss is the engine's.
    """
    batch_index = jnp.arange(n) % config.steps

    def outer_loss(x, raw, t, X, T, key):
        lrs = jax.nn.softplus(raw)

        def one_model(model_key):
            p = net.init(model_key, d, k, config.init)
            return trained_loss(net, p, x, t, batch_index, lrs, X, T, memory=memory)

        return jnp.mean(jax.vmap(one_model)(jax.random.split(key, config.models)))

    def step(x, t, raw, X, T, key):
        return jax.value_and_grad(outer_loss, argnums=(0, 1))(x, raw, t, X, T, key)

    return step


def growth_rate(ns, values) -> float:
    """The exponent ``a`` of ``value ~ n^a``: the log-log least-squares slope."""
    v = np.maximum(np.asarray(values, dtype=np.float64), 1e-12)
    return float(np.polyfit(np.log(np.asarray(ns, dtype=np.float64)), np.log(v), 1)[0])


EXPERIMENTS = {f.__name__: f for f in (full_data, distillation, sweep_point, complexity,
                                        evaluation)}
