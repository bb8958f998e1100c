"""``tabdistill reproduce --quick`` end to end: every output present and sane, the cache reused
by a second run and not by a run with a changed setting."""

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabdistill.cli import main
from tabdistill.reproduce.figures import FIGURES, SETTLED
from tabdistill.reproduce.report import PAPER, UNKNOWN_SPREAD, explain
from tabdistill.reproduce.run import render

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    start = time.perf_counter()
    assert main(["reproduce", "--quick", "--out", str(out), "--quiet"]) == 0
    return out, time.perf_counter() - start


def test_outputs_exist(run):
    out, _ = run
    for name in ("report.md", "report.html", "results.json", "tables/accuracy.csv",
                 "tables/table1.md", "tables/table1.tex", "tables/table2.md", "tables/table2.tex"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name


def test_every_figure_is_a_png(run):
    out, _ = run
    for fn in FIGURES:
        path = out / "figures" / f"{fn.__name__}.png"
        data = path.read_bytes()
        assert data.startswith(PNG), path
        assert len(data) > 5000, path  # something was drawn


def test_accuracy_table_is_complete_and_sane(run):
    out, _ = run
    df = pd.read_csv(out / "tables" / "accuracy.csv")
    assert list(df.columns) == ["data", "strategy", "test_arch", "mean", "std", "std_init",
                                "ci_low", "ci_high", "n", "inits"]
    archs = ["linear", "mlp2", "mlp4"]
    cells = {(d, s, a) for d, s, a in zip(df.data, df.strategy.astype(str), df.test_arch,
                                           strict=True)}
    expected = {("full", "full", a) for a in archs}
    expected |= {(d, s, a) for d in [*archs, "all"] for s in ("raw", "1", "2", "3")
                 for a in archs}
    assert cells == expected
    assert len(df) == len(expected)  # one row per cell
    for col in ("mean", "ci_low", "ci_high"):
        assert df[col].between(0, 1).all(), col
    assert (df.ci_low <= df["mean"] + 1e-9).all() and (df["mean"] <= df.ci_high + 1e-9).all()
    assert (df["std"] >= 0).all() and (df.n >= 2).all()
    # full data: independent inits; distilled: inits nested in restarts, std over restarts
    full, distilled = df[df.data == "full"], df[df.data != "full"]
    assert full.std_init.isna().all() and (full.inits == 1).all() and (full.n == 6).all()
    assert (distilled.n == 2).all() and (distilled.inits == 4).all()
    assert (distilled.std_init >= 0).all()
    assert set(PAPER) <= cells  # every reported value has a cell to compare with


def test_tables_have_every_cell(run):
    out, _ = run
    table1 = (out / "tables" / "table1.md").read_text()
    table2 = (out / "tables" / "table2.md").read_text()
    assert table1.count("\n") == 2 + 3 * 4 + 1  # header, rule, full data, 3 nets x 4
    assert table2.count("\n") == 2 + 4
    assert " - " not in table1 + table2 and "nan" not in table1 + table2
    assert r"\begin{tabular}" in (out / "tables" / "table1.tex").read_text()


def test_report_says_quick_and_embeds_figures(run):
    out, _ = run
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    assert "quick run" in md
    for fn in FIGURES:
        assert f"figures/{fn.__name__}.png" in md
    assert page.count("data:image/png;base64,") == len(FIGURES)
    assert "src=\"figures/" not in page  # self-contained
    for section in ("Section 4", "Section 5.1", "Section 5.2", "Section 5.3", "Section 6",
                    "Section 3"):
        assert section in md


def test_results_json_holds_every_part(run):
    # reproduce draws the figures and the report from the parsed results.json, so a report
    # that exists proves the JSON is enough to redraw it
    out, _ = run
    results = json.loads((out / "results.json").read_text())
    assert results["quick"] is True
    assert set(results["full"]) == set(results["distilled"]) - {"all"} == {"linear", "mlp2",
                                                                             "mlp4"}
    assert set(results["sweeps"]) == {"epochs", "steps", "models"}
    assert {"ns", "seconds.store", "temp_bytes.checkpoint"} <= set(results["complexity"])


def test_second_run_reuses_the_cache(run):
    out, first_seconds = run
    before = (out / "tables" / "accuracy.csv").read_text()
    start = time.perf_counter()
    assert main(["reproduce", "--quick", "--out", str(out), "--quiet", "--workers", "1"]) == 0
    assert time.perf_counter() - start < max(60, first_seconds / 2)
    assert (out / "tables" / "accuracy.csv").read_text() == before
    timing = json.loads((out / "results.json").read_text())["timing"]["parts"]
    assert all(p["cached"] == p["experiments"] for p in timing.values())


def test_changed_setting_is_not_served_from_cache(run):
    out, _ = run
    assert main(["reproduce", "--quick", "--out", str(out), "--quiet", "--workers", "1",
                 "--baseline-epochs", "7"]) == 0
    results = json.loads((out / "results.json").read_text())
    timing = results["timing"]["parts"]
    assert timing["section 4"]["cached"] == 0  # the baselines were recomputed
    assert timing["section 6"]["cached"] == timing["section 6"]["experiments"]  # not these
    assert len(results["full"]["mlp2"]["curve_accuracy"]["mean"]) == 7
    assert np.isfinite(results["full"]["mlp2"]["accuracy"]).all()


# A decimal number in text; a version such as 0.4.30 is not one.
NUMBER = re.compile(r"(?<![\d.])\d+\.\d+(?!\d|\.\d)")


def prose(report: str) -> list[str]:
    """The report's paragraphs and captions: no headings, tables, settings or versions."""
    text = re.sub(r"```.*?```", "", report, flags=re.S)
    return [p for p in text.split("\n\n") if p.strip()
            and not p.lstrip().startswith(("|", "#")) and not p.startswith("Versions:")]


def constants(results: dict) -> set[float]:
    """Numbers the report may state without measuring them: settings, the paper's values and
    the authors' gamma (0.9), the report's own thresholds, and P = 0.5 on a boundary."""
    out = {0.5, 0.9, UNKNOWN_SPREAD, SETTLED}
    out |= {v for pair in PAPER.values() for v in pair if v is not None}

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list | tuple):
            for v in x:
                walk(v)
        elif isinstance(x, float):
            out.add(x)

    walk(results["settings"])
    return out


def measured(results: dict) -> list[float]:
    """Every measured value in results.json and every mean and std of its lists of them."""
    out = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k not in ("dataset", "settings", "grids", "grid", "x", "x_all", "versions"):
                    walk(v)
        elif isinstance(x, list) and x and isinstance(x[0], int | float | list):
            flat = np.ravel(np.asarray(x, dtype=float))
            out.extend([flat.mean(), flat.std(), flat.std(ddof=1) if flat.size > 1 else 0.0])
            if isinstance(x[0], list):
                for v in x:
                    walk(v)
        elif isinstance(x, int | float) and not isinstance(x, bool):
            out.append(float(x))

    walk(results)
    return out


def test_every_number_in_the_prose_is_measured_or_a_setting(run):
    out, _ = run
    results = json.loads((out / "results.json").read_text())
    allowed = np.array(sorted(constants(results) | set(measured(results))))
    table = pd.read_csv(out / "tables" / "accuracy.csv")
    allowed = np.concatenate([allowed, table.select_dtypes("number").to_numpy().ravel()])
    report = (out / "report.md").read_text()
    checked = 0
    for paragraph in prose(report):
        for number in NUMBER.findall(paragraph):
            decimals = len(number.split(".")[1])
            if decimals < 2:
                continue  # seconds, minutes, a setting's short form
            gap = np.nanmin(np.abs(allowed - float(number)))
            assert gap <= 0.6 * 10**-decimals, f"{number} in: {paragraph[:160]}"
            checked += 1
    assert checked > 20


def _move(x: float) -> float:
    return 0.9 * x + 0.0371


def _perturbed(x):
    """Every measured float moved (affinely, so that orderings and signs hold)."""
    if isinstance(x, dict):
        return {k: (v if k in ("settings", "versions", "dataset", "timing", "quick")
                    else _perturbed(v)) for k, v in x.items()}
    if isinstance(x, list):
        return [_perturbed(v) for v in x]
    if isinstance(x, float):
        return _move(x)
    return x


def test_no_fixed_numbers_in_the_report(run, tmp_path):
    # The report drawn from results with every measured value moved must move every decimal
    # number in its prose and captions that is not a setting or the paper's: a number that
    # stays put was written into the code, not read from the run.
    out, _ = run
    results = json.loads((out / "results.json").read_text())
    fixed = constants(results)
    moved = _perturbed(results)
    render(moved, tmp_path)
    before = prose((out / "report.md").read_text())
    after = prose((tmp_path / "report.md").read_text())
    assert len(before) == len(after)
    stuck = []
    for a, b in zip(before, after, strict=True):
        na, nb = NUMBER.findall(a), NUMBER.findall(b)
        assert len(na) == len(nb), (a, b)
        # (a number near the move's fixed point, 0.371, may round to itself: not evidence)
        stuck += [(x, a[:120]) for x, y in zip(na, nb, strict=True)
                  if x == y and float(x) not in fixed
                  and abs(_move(float(x)) - float(x)) >= 10.0 ** -len(x.split(".")[1])]
    assert not stuck
    # "about 0.87", "by epoch ~250": the marks of a number written by hand
    estimate = re.compile(r"(about|~)\s*\d")
    assert not [p for p in before if estimate.search(p)]
    # the explanations of flagged cells (a full run's; a quick run leaves them out)
    rows = {(r["data"], r["strategy"], r["test_arch"]): r for r in results["rows"]}
    moved_rows = {(r["data"], r["strategy"], r["test_arch"]): r for r in moved["rows"]}
    compared = 0
    for key, (mean, _) in PAPER.items():
        a = explain(key, rows[key]["mean"] - mean, rows[key], results)
        b = explain(key, moved_rows[key]["mean"] - mean, moved_rows[key], moved)
        assert not estimate.search(a), (key, a)
        na, nb = NUMBER.findall(a), NUMBER.findall(b)
        if len(na) != len(nb):  # a clause that depends on the values came or went
            continue
        compared += 1
        assert all(x != y or float(x) in fixed for x, y in zip(na, nb, strict=True)), (key, a)
    assert compared >= len(PAPER) // 2


def test_no_internal_notes_are_cited():
    src = Path(__file__).resolve().parents[1] / "src"
    for path in src.rglob("*.py"):
        assert "REFERENCE.md" not in path.read_text(), path


def test_strategy_constants_are_settings_and_the_report_states_them(run):
    import argparse

    from tabdistill.reproduce.cli import settings_from
    from tabdistill.reproduce.experiments import _strategy, plan_evaluations
    from tabdistill.strategies import Strategy

    out, _ = run
    md = (out / "report.md").read_text()
    assert "x gamma2 = 0.98 per pass" in md and "x gamma3 = 0.98 per pass" in md
    assert "Strategy 1: lr 0.3, x1.1 at the start of each of the first 10 epochs" in md
    assert "(betas 0.5, 0.999)" in md
    base = {name: None for name in ("restarts", "outer_epochs", "seed", "baseline_inits",
                                    "baseline_epochs", "eval_inits", "sweep_restarts",
                                    "complexity_ns", "gamma2", "gamma3", "beta1", "beta2")}
    args = argparse.Namespace(**{**base, "quick": False, "gamma2": 0.9, "beta1": 0.7,
                                 "settings": '{"strategy": {"base_lr": 0.2}}'})
    s = settings_from(args)
    assert s.strategy == Strategy(gamma2=0.9, base_lr=0.2) and s.distill.beta1 == 0.7
    spec = plan_evaluations(s)[0][2]
    config = s.distill
    assert _strategy("2", config, spec) == Strategy("repeat", epochs=50, times=10, extra=45,
                                                    gamma2=0.9, base_lr=0.2)
    assert _strategy("3", config, spec).gamma3 == 0.98  # strategy 3 keeps the paper's
