"""The JSON preprocessing (:class:`Schema`) gives exactly the numbers of the scikit-learn
transformer it is read from: new rows to the model's space, and model rows back to the
original columns (what export did with the pickled transformer), and survives JSON."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tabdistill.data import column_transformer, fit_preprocessing, load_dataset
from tabdistill.errors import TabdistillError
from tabdistill.schema import Schema


def mixed(n=300, seed=0):
    """Numbers (some missing, some whole), text (rare levels, missing cells), booleans."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "city": rng.choice([f"c{i}" for i in range(12)], n, p=np.r_[[0.3, 0.2, 0.1],
                                                                    [0.4 / 9] * 9]),
        "count": rng.integers(0, 9, n),
        "member": rng.choice([True, False], n),
        "color": rng.choice(["red", "green", "blue"], n).astype(object),
    })
    frame.loc[rng.choice(n, 15), "age"] = np.nan
    frame.loc[rng.choice(n, 10), "color"] = np.nan
    return frame


def new_rows(frame, seed=1):
    """Rows the preprocessing never saw: unseen levels, missing cells, shuffled columns."""
    rows = frame.sample(40, random_state=seed).reset_index(drop=True)
    rows.loc[:4, "city"] = "nowhere"
    rows.loc[5:9, "color"] = "purple"  # no pooled level: all zeros
    rows.loc[10:14, ["age", "city", "color"]] = np.nan
    return rows[rows.columns[::-1]]


def old_inverse(transformer, X, numeric, categorical):
    """Model rows -> original columns as export did with the fitted transformer."""
    out = {}
    if numeric:
        scaler = transformer.named_transformers_["num"][-1]
        values = scaler.inverse_transform(X[:, transformer.output_indices_["num"]])
        out.update({c: values[:, i] for i, c in enumerate(numeric)})
    if categorical:
        encoder = transformer.named_transformers_["cat"][-1]
        block = X[:, transformer.output_indices_["cat"]]
        hard, start = np.zeros_like(block), 0
        for width in widths(encoder):
            part = block[:, start:start + width]
            hard[np.arange(len(X)), start + np.argmax(part, axis=1)] = 1.0
            start += width
        values = encoder.inverse_transform(hard)
        out.update({c: values[:, i] for i, c in enumerate(categorical)})
    return out


def widths(encoder):
    infrequent = encoder.infrequent_categories_
    return [len(c) if inf is None else len(c) - len(inf) + 1
            for c, inf in zip(encoder.categories_, infrequent, strict=True)]


CASES = {
    "mixed, rare levels pooled": (mixed, 5),
    "mixed, nothing pooled": (mixed, 20),
    "numbers only": (lambda: pd.DataFrame(np.random.default_rng(2).normal(size=(80, 4)),
                                          columns=list("abcd")), 20),
    "text only": (lambda: mixed()[["city", "color"]], 4),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_schema_matches_the_scikit_learn_transformer(case):
    make, max_categories = CASES[case]
    train = make()
    schema, notes = fit_preprocessing(train, max_categories=max_categories)
    numeric, categorical = notes["numeric_columns"], notes["categorical_columns"]
    transformer = column_transformer(numeric, categorical, max_categories).fit(train)
    assert schema.feature_names == tuple(transformer.get_feature_names_out())
    for rows in (train, new_rows(train)):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*unknown categories.*")
            expected = np.asarray(transformer.transform(rows), np.float32)
        np.testing.assert_array_equal(schema.transform(rows), expected)
    # Model rows as distillation leaves them: anywhere, not one-hot.
    X = np.random.default_rng(3).normal(size=(50, schema.n_features)).astype(np.float32)
    expected = old_inverse(transformer, X.astype(np.float64), numeric, categorical)
    back = schema.inverse(X)
    assert list(back.columns) == [c for c in train.columns if c in expected]
    for column in back.columns:
        want = expected[column]
        if column in schema_integers(schema):  # whole numbers in, whole numbers out
            want = np.rint(want).astype(np.int64)
        np.testing.assert_array_equal(back[column].to_numpy(), want)


def schema_integers(schema):
    return {c.name for c in schema.columns if getattr(c, "integer", False)}


def test_whole_number_columns_go_back_as_integers():
    train = mixed()
    train["rating"] = train["count"].astype(float)  # whole numbers stored as floats
    train.loc[3, "rating"] = np.nan  # a missing cell does not make a column fractional
    schema, _ = fit_preprocessing(train)
    assert schema_integers(schema) == {"count", "rating"}  # not age, not the text columns
    X = np.random.default_rng(4).normal(size=(30, schema.n_features)).astype(np.float32)
    back = schema.inverse(X)
    for column in ("count", "rating"):
        assert back[column].dtype == np.int64
    assert back["age"].dtype == np.float64 and (back["age"] % 1 != 0).any()
    # Files written before the flag existed read as not integer; a wrong flag is refused.
    stored = schema.to_json()
    old = {**stored, "columns": [{k: v for k, v in c.items() if k != "integer"}
                                 for c in stored["columns"]]}
    assert not schema_integers(Schema.from_json(old))
    bad = {**stored, "columns": [{**stored["columns"][0], "integer": "yes"}]}
    with pytest.raises(TabdistillError, match="integer 'yes'"):
        Schema.from_json(bad)


def test_schema_survives_json():
    schema, _ = fit_preprocessing(mixed(), max_categories=5)
    text = json.dumps(schema.to_json())
    again = Schema.from_json(json.loads(text))
    assert again == schema
    rows = new_rows(mixed())
    np.testing.assert_array_equal(again.transform(rows), schema.transform(rows))
    assert any(c.get("pooled") for c in json.loads(text)["columns"])


def test_the_builtin_tables_keep_their_numbers():
    """A dataset's X is the schema's transform of its rows (nothing else shapes it)."""
    d = load_dataset("iris")
    assert d.feature_names == d.transformer.feature_names
    assert d.X_train.dtype == np.float32 and d.X_train.shape[1] == d.transformer.n_features


@pytest.mark.parametrize("change, reason", [
    (lambda s: [1, 2], "a JSON list"),
    (lambda s: {**s, "format": "other"}, "format 'other'"),
    (lambda s: {**s, "columns": []}, "no columns"),
    (lambda s: {**s, "columns": [{**s["columns"][0], "scale": 0}]}, "scale 0"),
    (lambda s: {**s, "columns": [{**s["columns"][0], "mean": "1"}]}, "finite number"),
    (lambda s: {**s, "columns": [{**s["columns"][0], "kind": "code"}]}, "unknown kind"),
    (lambda s: {**s, "columns": [*s["columns"], s["columns"][0]]}, "appears twice"),
    (lambda s: {**s, "columns": [{**s["columns"][1], "levels": [1]}]}, "not a list of text"),
    (lambda s: {k: v for k, v in s.items() if k != "columns"}, "columns"),
])
def test_foreign_preprocessing_is_refused(change, reason):
    schema, _ = fit_preprocessing(mixed()[["age", "color"]])
    with pytest.raises(TabdistillError, match="p.json is corrupted") as err:
        Schema.from_json(change(schema.to_json()), source="p.json")
    assert reason in str(err.value)


def test_rows_without_a_column_or_with_text_numbers_are_refused():
    schema, _ = fit_preprocessing(mixed())
    with pytest.raises(TabdistillError, match="no column 'age'"):
        schema.transform(mixed().drop(columns="age"))
    bad = mixed().astype({"age": object})
    bad.loc[0, "age"] = "old"
    with pytest.raises(TabdistillError, match="column 'age' of the rows holds text"):
        schema.transform(bad)
