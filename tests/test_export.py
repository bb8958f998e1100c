"""Export writes synthetic rows in the original feature space with label, step and lr."""

import json

import numpy as np
import pandas as pd
import pytest

from tabdistill.cli import main
from tabdistill.data import from_frame, transform

TINY = ["--outer-epochs", "1", "--steps", "2", "--epochs", "2", "--per-class", "2",
        "--restarts", "2", "--eval-inits", "0", "--quiet"]


def table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(["yes", "no"], n)
    return pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "color": rng.choice(["red", "green", "blue"], n),
        "label": y,
    })


def test_inverse_of_the_preprocessing_gives_back_the_rows():
    frame = table()
    d = from_frame(frame, target="label")
    rows = frame.drop(columns="label").iloc[:20]
    back = d.transformer.inverse(transform(d.transformer, rows))
    assert list(back.columns) == ["age", "color"]
    np.testing.assert_allclose(back["age"], rows["age"], rtol=1e-5)
    assert (back["color"] == rows["color"]).all()


@pytest.fixture(scope="module")
def distilled_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    table().to_csv(root / "t.csv", index=False)
    assert main(["distill", str(root / "t.csv"), "--target", "label", *TINY,
                 "--out", str(root / "d")]) == 0
    return root / "d"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_table(distilled_dir, fmt, tmp_path):
    out = tmp_path / f"rows.{fmt}"
    assert main(["export", str(distilled_dir), "--format", fmt, "--out", str(out)]) == 0
    rows = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    assert list(rows.columns) == ["age", "color", "label", "step", "lr", "lr_epoch_2", "restart"]
    assert len(rows) == 2 * 2 * 2 * 2  # restarts x steps x (per-class x classes)
    assert set(rows["label"]) == {"yes", "no"} and set(rows["color"]) <= {"red", "green", "blue"}
    assert rows["age"].between(-100, 200).all()  # back in years, not standardised units
    assert (rows["lr"] > 0).all() and set(rows["step"]) == {0, 1}


def test_export_soft_values_and_manifest(distilled_dir, tmp_path):
    out = tmp_path / "soft.csv"
    assert main(["export", str(distilled_dir), "--soft", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert {"color_blue", "color_green", "color_red"} <= set(rows.columns)
    best = rows[["color_blue", "color_green", "color_red"]].to_numpy().argmax(axis=1)
    assert (np.array(["blue", "green", "red"])[best] == rows["color"]).all()
    size = json.loads((distilled_dir / "manifest.json").read_text())["size"]
    assert size["n_synthetic_rows"] == 8 and size["compression_ratio"] == round(134 / 8, 3)
    assert (distilled_dir / "preprocess.json").is_file()
    assert not (distilled_dir / "preprocess.pkl").exists()


def test_moons_export_keeps_raw_coordinates_and_budget_sets_the_size(tmp_path):
    assert main(["distill", "moons", "--budget", "7", "--steps", "2", "--epochs", "1",
                 "--models", "1", "--outer-epochs", "1", "--restarts", "1", "--eval-inits", "0",
                 "--quiet", "--out", str(tmp_path / "m")]) == 0
    size = json.loads((tmp_path / "m" / "manifest.json").read_text())["size"]
    assert size["n_synthetic_rows"] == 4 and size["steps"] == 2 and size["per_class"] == 1
    assert size["compression_ratio"] == round(1005 / 4, 3)
    assert not (tmp_path / "m" / "preprocess.json").exists()  # raw features: nothing to undo
    assert main(["export", str(tmp_path / "m")]) == 0
    rows = pd.read_csv(tmp_path / "m" / "synthetic.csv")
    assert list(rows.columns) == ["x1", "x2", "label", "step", "lr", "restart"]
    assert len(rows) == 4 and set(rows["label"]) == {0, 1}


def test_a_teacher_set_exports_its_soft_labels(tmp_path):
    table().to_csv(tmp_path / "t.csv", index=False)
    assert main(["distill", str(tmp_path / "t.csv"), "--target", "label", "--method", "teacher",
                 "--learner", "logreg", "--steps", "1", "--per-class", "3", "--restarts", "1",
                 "--quiet", "--out", str(tmp_path / "d")]) == 0
    assert main(["export", str(tmp_path / "d")]) == 0
    rows = pd.read_csv(tmp_path / "d" / "synthetic.csv")
    assert list(rows.columns) == ["age", "color", "label", "prob_no", "prob_yes", "weight",
                                  "restart"]
    np.testing.assert_allclose(rows["prob_no"] + rows["prob_yes"], 1, atol=1e-6)
    n_train = json.loads((tmp_path / "d" / "manifest.json").read_text())["size"]["n_train_rows"]
    # One weight for every row, at least that which makes the set weigh as the train part.
    assert rows["weight"].nunique() == 1 and rows["weight"].iloc[0] >= n_train / 6
    # The label is the likelier class; a teacher on noise is unsure of every row.
    likelier = np.where(rows["prob_yes"] > 0.5, "yes", "no")
    assert (likelier == rows["label"]).all() and rows["prob_yes"].between(0.05, 0.95).all()
