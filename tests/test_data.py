"""Reading users' tables: column kinds, labels, missing cells, constant and high-cardinality
columns, and the stored preprocessing."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

from tabdistill import data as data_module
from tabdistill.data import describe, from_frame, load_dataset, read_table, transform
from tabdistill.errors import TabdistillError


def table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(["cat", "dog", "emu"], n)
    return pd.DataFrame({
        "size": rng.normal(size=n) + (y == "dog") * 2.0,
        "weight": rng.integers(0, 100, n),
        "color": rng.choice(["red", "green", "blue"], n),
        "city": [f"c{v}" for v in rng.integers(0, 40, n)],
        "flag": rng.random(n) > 0.5,
        "const": 7.0,
        "species": y,
    })


def test_moons_is_the_papers_data_exactly():
    d = load_dataset("moons")
    X, y = make_moons(n_samples=1500, noise=0.05, random_state=8)
    X_tr, X_te, y_tr, y_te = train_test_split(X.astype(np.float32), y, test_size=0.33,
                                              random_state=8)
    assert d.X_train.shape == (1005, 2) and d.X_test.shape == (495, 2)
    np.testing.assert_array_equal(d.X_train, X_tr)
    np.testing.assert_array_equal(d.y_test, y_te)
    assert d.transformer is None


def test_the_packaged_moons_is_the_one_scikit_learn_makes():
    packaged = load_dataset("moons")
    made = data_module._moons_dataset(*data_module._moons(), *data_module.MOONS_SPLIT)
    for field in dataclasses.fields(made):
        a, b = getattr(packaged, field.name), getattr(made, field.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, field.name
    assert packaged.fingerprint == made.fingerprint
    other = load_dataset("moons", seed=9)  # any other split is made afresh
    assert other.fingerprint != packaged.fingerprint and other.X_train.shape == (1005, 2)


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "iris", "digits"])
def test_bundled_sets_are_standardised_on_the_train_part(name):
    d = load_dataset(name)
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-4)
    assert d.transformer is not None and d.n_classes >= 2


def test_mixed_table_is_encoded_and_noted():
    d = from_frame(table(), target="species")
    notes = d.preprocessing
    assert d.classes == ("cat", "dog", "emu")
    assert notes["dropped_constant_columns"] == ["const"]
    assert notes["numeric_columns"] == ["size", "weight"]
    assert notes["categorical_columns"] == ["color", "city", "flag"]
    assert notes["high_cardinality"]["city"] == {"levels": 40, "kept": 19}
    lo, hi = notes["one_hot_groups"]["city"]
    assert hi - lo == 20  # 19 kept levels and one pooled "infrequent" level
    assert d.n_features == 2 + 3 + 20 + 2 == len(d.feature_names)
    assert d.X_train.dtype == np.float32


def test_a_coded_count_with_a_text_top_level_is_categories():
    # 0, 1, 2, "3+" (children living, as a survey codes them): a few levels, not a typo.
    frame = table().assign(children=lambda f: np.array(["0", "1", "2", "3+"])[f.index % 4])
    notes = from_frame(frame, target="species").preprocessing
    assert "children" in notes["categorical_columns"]
    lo, hi = notes["one_hot_groups"]["children"]
    assert hi - lo == 4


def test_new_rows_transform_the_same_way():
    frame = table()
    d = from_frame(frame, target="species")
    again = transform(d.transformer, frame.drop(columns="species").iloc[:5])
    assert again.shape == (5, d.n_features)
    unseen = frame.drop(columns="species").iloc[:1].assign(color="purple", city="nowhere")
    assert np.isfinite(transform(d.transformer, unseen)).all()


def test_missing_cells_policies():
    frame = table()
    frame.loc[[1, 2, 3], "size"] = np.nan
    frame.loc[4, "color"] = None
    assert from_frame(frame, target="species").preprocessing["imputed_cells"] == 4
    dropped = from_frame(frame, target="species", missing="drop")
    assert dropped.preprocessing["dropped_rows_with_missing"] == 4
    assert len(dropped.y_train) + len(dropped.y_test) == len(frame) - 4
    with pytest.raises(TabdistillError, match="4 missing cells"):
        from_frame(frame, target="species", missing="error")


def test_numeric_labels_and_integer_floats_are_classes():
    frame = table().assign(species=lambda f: f["species"].map({"cat": 0.0, "dog": 1.0,
                                                                "emu": 2.0}))
    assert from_frame(frame, target="species").classes == (0.0, 1.0, 2.0)


@pytest.mark.parametrize("change, message", [
    (lambda f: f.assign(species=np.linspace(0, 1, len(f))), "looks continuous"),
    (lambda f: f.assign(species="one"), "single class"),
    (lambda f: f.assign(size=f["size"].astype(object).where(f.index != 5, "oops")),
     "row 5 has text 'oops'"),
    (lambda f: f.assign(size=f["size"].where(f.index != 9, np.inf)), "infinite"),
    (lambda f: f.iloc[:0], "no rows"),
    (lambda f: f.assign(species=["a"] + ["b"] * (len(f) - 1)),
     r"single class in 'species' once the classes with a single row \('a'\) are dropped"),
    (lambda f: f.assign(species=np.nan), "has no labels: column 'species' is empty in all 300"),
    (lambda f: f.rename(columns={"weight": "size", "city": "color"}),
     "duplicate column names: 'size', 'color'"),
])
def test_bad_tables_are_refused_with_one_line(change, message):
    with pytest.raises(TabdistillError, match=message) as err:
        from_frame(change(table()), target="species")
    assert "\n" not in str(err.value)


def test_unknown_target_names_the_columns():
    with pytest.raises(TabdistillError, match="no column 'kind'.*expected one of size"):
        from_frame(table(), target="kind")


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_files_of_every_format(tmp_path, suffix):
    frame = table(60)
    path = tmp_path / f"t{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    assert read_table(path).shape == frame.shape
    assert load_dataset(str(path), target="species").n_classes == 3


def test_notes_for_the_user():
    frame = table()
    frame.loc[1, "size"] = np.nan
    lines = describe(from_frame(frame, target="species").preprocessing)
    assert lines == [
        "imputed 1 missing cells (train median / most frequent level)",
        "dropped constant column(s): const",
        "column 'city' has 40 levels: kept the 19 most frequent, pooled the rest",
    ]


def test_a_class_with_one_row_is_dropped_with_a_note():
    frame = table().assign(species=lambda f: f["species"].where(f.index != 7, "yak"))
    d = from_frame(frame, target="species")
    assert d.classes == ("cat", "dog", "emu")
    assert len(d.y_train) + len(d.y_test) == len(frame) - 1
    assert set(np.unique(d.y_train)) == set(np.unique(d.y_test)) == {0, 1, 2}
    assert d.preprocessing["dropped_small_classes"] == {"yak": 1}
    assert "dropped class 'yak': 1 row, too few to be both trained on and tested (at least 2 " \
        "needed)" in describe(d.preprocessing)
    # The rows kept are those of the other classes, features and labels still aligned.
    same = from_frame(frame[frame.species != "yak"], target="species")
    np.testing.assert_array_equal(d.X_train, same.X_train)
    np.testing.assert_array_equal(d.y_test, same.y_test)


@pytest.mark.parametrize("sep", [";", "|", "\t"])
def test_the_delimiter_of_a_csv_is_detected(tmp_path, sep):
    frame = table(60).assign(city=lambda f: f["city"] + ",x")  # a comma inside quoted text
    path = tmp_path / "t.csv"
    frame.to_csv(path, sep=sep, index=False)
    pd.testing.assert_frame_equal(read_table(path), frame)
    assert load_dataset(str(path), target="species").n_classes == 3


def test_duplicate_column_names_in_a_file_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,a,y\n" + "".join(f"{i},{i % 3},{2 * i},{i % 2}\n" for i in range(40)))
    with pytest.raises(TabdistillError, match="t.csv has duplicate column names: 'a';"):
        read_table(path)
