"""``tabdistill reproduce --quick`` end to end: every output present and sane, the cache reused
by a second run and not by a run with a changed setting."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from tabdistill.cli import main
from tabdistill.reproduce.figures import FIGURES
from tabdistill.reproduce.report import PAPER

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
    assert list(df.columns) == ["data", "strategy", "test_arch", "mean", "std", "ci_low",
                                "ci_high", "n"]
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
