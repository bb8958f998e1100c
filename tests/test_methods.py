"""methods: each way of making a set gives the budget's size, from the train part only."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from tabdistill.data import load_dataset
from tabdistill.learners import fit, make_sklearn
from tabdistill.methods import (
    METHODS,
    kmeans_centroids,
    parse_methods,
    search_proposals,
    search_rows,
    validation_split,
)


@pytest.fixture(scope="module")
def wine():
    return load_dataset("wine")


@pytest.mark.parametrize("name", ["random", "random-balanced", "kmeans"])
def test_coresets_have_the_budgets_size_and_the_seed_decides(wine, name):
    make = METHODS[name].make
    first = make(wine, 4, (0, 1), 7, ())
    again = make(wine, 4, (1,), 7, ())
    assert [len(s.y) for s in first] == [12, 12]
    np.testing.assert_array_equal(first[1].X, again[0].X)  # restart 1 alone = with restart 0
    assert not np.array_equal(first[0].X, first[1].X)
    if name != "random":
        assert all(np.bincount(s.y).tolist() == [4, 4, 4] for s in first)


def test_kmeans_centroids_do_not_depend_on_the_threads_allowed():
    # A pinned bench worker has one core, a plain process all of them: the same seed must give
    # the same set either way (chunked float sums over several threads differ in the last bits).
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, 8)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int32)
    sets = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            sets.append(kmeans_centroids(X, y, 40, 2, 0)[0])
    np.testing.assert_array_equal(sets[0], sets[1])


def test_kmeans_centroids_of_a_class_with_few_distinct_rows_keep_the_budget_quietly():
    # pytest turns warnings into errors here: scikit-learn warns when a class has fewer
    # distinct rows than centroids (a table of categories), once per fit.
    X = np.repeat(np.eye(3, dtype=np.float32), 20, axis=0)  # 3 distinct rows, 60 in all
    y = np.zeros(60, np.int32)
    rows, labels = kmeans_centroids(X, y, 5, 1, 0)
    assert rows.shape == (5, 3) and (labels == 0).all()
    nearest = np.abs(rows[:, None, :] - np.eye(3)[None]).max(-1)  # [centroids, distinct rows]
    assert nearest.min(1).max() < 1e-6 and (nearest.min(0) < 1e-6).all()  # each one, each seen


def test_knn_on_one_row_per_class_is_nearest_neighbour_not_a_tied_vote():
    # With 5 neighbours (or every row) on one row per class the vote ties everywhere and
    # predicts one class whatever the rows; on one row per class knn is 1-NN.
    rows = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], np.float32)
    labels = np.array([2, 0, 1], np.int32)
    near = rows + np.float32(0.5)
    np.testing.assert_array_equal(fit("knn", rows, labels, 3).predict(near), labels)
    # From 5 rows per class on, the vote of 5 stands: one mislabelled row among 5 is outvoted.
    X = np.repeat(rows, 5, axis=0) + np.linspace(0, 0.1, 15, dtype=np.float32)[:, None]
    y = np.repeat(labels, 5)
    y[0] = 0
    np.testing.assert_array_equal(fit("knn", X, y, 3).predict(X[:1]), [2])


def test_hgb_on_one_row_per_class_splits_between_the_rows():
    # Leaves of 2 rows leave one row per class of two or three classes no split: hgb would
    # predict one class whatever the rows. Its leaves hold at most the rows per class.
    rows = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], np.float32)
    labels = np.array([2, 0, 1], np.int32)
    near = rows + np.float32(0.5)
    np.testing.assert_array_equal(fit("hgb", rows[:2], labels[:2], 3).predict(near[:2]),
                                  labels[:2])
    np.testing.assert_array_equal(fit("hgb", rows, labels, 3).predict(near), labels)
    # Sets of at least 2 rows per class keep the small-set leaves of min(20, max(2, rows // 20)).
    for n_rows, n_classes, leaf in ((4, 2, 2), (40, 2, 2), (200, 2, 10), (1000, 2, 20),
                                    (60, 30, 2)):
        assert make_sklearn("hgb", n_rows, 0, n_classes).min_samples_leaf == leaf
    assert make_sklearn("hgb", 60, 0, 60).min_samples_leaf == 1


def test_xgb_on_one_row_per_class_splits_between_the_rows():
    pytest.importorskip("xgboost")
    # xgb's default least hessian per leaf (1) needs 4 rows a leaf: on one row per class it
    # could not split. Beyond each row (xgb cuts at the rows' own values), its class.
    rows = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], np.float32)
    labels = np.array([2, 0, 1], np.int32)
    beyond = np.array([[-1.0, -1.0], [5.0, -1.0], [-1.0, 5.0]], np.float32)
    np.testing.assert_array_equal(fit("xgb", rows, labels, 3).predict(beyond), labels)
    np.testing.assert_array_equal(fit("xgb", rows[:2], labels[:2], 3).predict(beyond[:2]),
                                  labels[:2])
    assert make_sklearn("xgb", 20, 0, 2).min_child_weight == 1.0


def test_search_improves_its_validation_score_with_rows_of_its_pool(wine):
    X, y = wine.X_train, wine.y_train
    rows, labels, best = search_rows(X, y, "knn", wine.n_classes, 3, seed=5, proposals=30)
    assert rows.shape == (9, X.shape[1]) and np.bincount(labels).tolist() == [3, 3, 3]
    X_fit, X_val, y_fit, y_val = validation_split(X, y, 0.5, 5)
    # For knn the search starts from the best of three k-means runs (trees also from random
    # subsets) and never accepts a worse swap.
    starts = [kmeans_centroids(X_fit, y_fit, 3, 3, 5 + 1000 * k) for k in range(3)]
    start = max(balanced_accuracy_score(y_val, fit("knn", *s, 3, seed=5).predict(X_val))
                for s in starts)
    assert best >= start
    assert best == balanced_accuracy_score(y_val, fit("knn", rows, labels, 3, seed=5)
                                           .predict(X_val))
    # Every row is a centroid of those runs or a real row of the fit half, of its own class.
    pool = np.concatenate([X_fit] + [s[0] for s in starts])
    pool_y = np.concatenate([y_fit] + [s[1] for s in starts])
    for row, c in zip(rows, labels, strict=True):
        match = np.flatnonzero(np.all(np.isclose(pool, row, atol=1e-6), axis=1))
        assert match.size and c in pool_y[match]


def test_search_swaps_for_hgb_fall_with_the_classes():
    # hgb's fit grows a tree per class and round: the swaps fall with the classes, through
    # the 40 that every other learner tries at 9 classes.
    hgb = [search_proposals("hgb", k) for k in (2, 3, 4, 6, 9, 26, 60)]
    assert hgb == [120, 120, 90, 60, 40, 13, 6]
    assert {search_proposals(learner, 2) for learner in ("rf", "knn", "logreg", "mlp2")} == {40}


def test_search_at_a_budget_beyond_the_fit_half_keeps_distinct_real_rows(wine):
    X, y = wine.X_train, wine.y_train
    budget = 30  # more than any class has in the fit half, fewer than some have in all
    rows, labels, _ = search_rows(X, y, "rf", wine.n_classes, budget, seed=2, proposals=20)
    counts = np.bincount(y)
    assert np.bincount(labels).tolist() == np.minimum(counts, budget).tolist()
    assert len(np.unique(rows, axis=0)) == len(rows)  # no row twice
    for row, c in zip(rows, labels, strict=True):  # each a real train row of its class
        assert np.any(np.all(np.isclose(X[y == c], row, atol=1e-6), axis=1))


def test_search_makes_a_set_per_learner(wine):
    method = METHODS["search"]
    assert method.per_learner
    knn = method.make(wine, 2, (0,), 0, (), learner="knn")[0]
    logreg = method.make(wine, 2, (0,), 0, (), learner="logreg")[0]
    assert knn.X.shape == logreg.X.shape == (6, wine.n_features)


def test_sparse_means_rows_differ_only_in_the_features_a_tree_should_split_on():
    from tabdistill.data import Dataset
    from tabdistill.methods import SPARSE_FEATURES

    # Six noise columns before the one that decides the class: hgb on one row per class splits
    # on the first column in which the rows differ, so class means teach it noise.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 7))
    y = (X[:, 6] > 0).astype(np.int32)
    ds = Dataset("noise", X[:400], y[:400], X[400:], y[400:], (0, 1),
                 tuple(f"x{j}" for j in range(7)))

    def test_score(made):
        return balanced_accuracy_score(ds.y_test, made.fit("hgb", 2).predict(ds.X_test))

    made = METHODS["sparse-means"].make(ds, 1, [0], 0, (), learner="hgb")[0]
    differ = np.flatnonzero(made.X.max(0) > made.X.min(0))
    assert 6 in differ and len(differ) <= SPARSE_FEATURES
    means = METHODS["kmeans"].make(ds, 1, [0], 0, ())[0]
    np.testing.assert_allclose(made.X[:, 6], means.X[:, 6])  # the chosen ones keep their means
    assert test_score(made) > 0.9 > 0.6 > test_score(means)
    # rf and the other learners get sets too, at any budget.
    assert METHODS["sparse-means"].make(ds, 3, [0], 0, (), learner="rf")[0].X.shape == (6, 7)


def test_validation_folds_hold_each_row_out_once_stratified_where_classes_allow():
    from tabdistill.methods import validation_folds

    y = np.repeat(np.arange(3, dtype=np.int32), [40, 20, 8])
    X = np.arange(len(y), dtype=np.float32)[:, None]
    folds = validation_folds(X, y, 4, seed=0)
    held_out = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(held_out), np.arange(len(y)))
    for fit_rows, val_rows in folds:
        assert not set(fit_rows) & set(val_rows)
        np.testing.assert_array_equal(np.bincount(y[val_rows]), [10, 5, 2])
    # A class of fewer rows than folds cannot be in every part: the folds are plain then.
    y_small = np.concatenate([y, [3, 3]]).astype(np.int32)
    X_small = np.arange(len(y_small), dtype=np.float32)[:, None]
    held_out = np.concatenate([val for _, val in validation_folds(X_small, y_small, 4, 0)])
    np.testing.assert_array_equal(np.sort(held_out), np.arange(len(y_small)))


def test_methods_parse_in_order_without_repeats():
    assert [m.name for m in parse_methods("kmeans, full,kmeans")] == ["kmeans", "full"]


@pytest.mark.parametrize("learner", ["logreg", "knn", "rf", "hgb", "nb", "xgb"])
def test_learners_train_quietly_on_one_row_per_class(learner):
    # pytest turns warnings into errors here. One row of each of 24 classes is a set that makes
    # scikit-learn warn (more than 20 rows, more classes than half of them) unless told not to.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(24, 5)), np.arange(24)
    pred = fit(learner, X, y, 24, seed=0).predict(rng.normal(size=(50, 5)))
    assert pred.shape == (50,) and set(pred) <= set(range(24))


def test_a_set_missing_a_class_predicts_the_classes_it_has(wine):
    keep = wine.y_train != 1
    model = fit("xgb", wine.X_train[keep], wine.y_train[keep], wine.n_classes, seed=0)
    assert set(model.predict(wine.X_test)) == {0, 2}
    one = fit("rf", wine.X_train[wine.y_train == 2], wine.y_train[wine.y_train == 2], 3)
    assert set(one.predict(wine.X_test)) == {2}


def test_auto_chooses_on_a_validation_part_with_a_margin(wine, monkeypatch):
    import tabdistill.methods as methods

    choice = methods.choose_method(wine, 2, 3, ("mlp2",), ["knn"])
    assert set(choice["validation"]) == set(methods.AUTO_CANDIDATES)
    # The margin is the paired standard error of each candidate's difference from the best
    # (at least AUTO_MARGIN); the best's own error is zero.
    scores, errors = choice["validation"], choice["error"]
    top = max(scores.values())
    assert min(errors[m] for m in scores if scores[m] == top) == 0.0
    first_close = next(m for m in methods.AUTO_CANDIDATES
                       if scores[m] >= top - max(methods.AUTO_MARGIN, errors[m]))
    assert choice["method"] == first_close
    # A set for every learner is not chosen among methods tuned to one learner.
    made = METHODS["auto"].make(wine, 2, [0], 3, ("mlp2",), learner=None)[0]
    assert not {"search", "kip", "teacher"} & set(made.choice["validation"])
    # The test part is never looked at: the choice is the same with it scrambled.
    from dataclasses import replace
    scrambled = replace(wine, y_test=np.roll(wine.y_test, 1))
    assert methods.choose_method(scrambled, 2, 3, ("mlp2",), ["knn"]) == choice


def test_auto_prefers_teacher_for_log_loss_learners_kmeans_at_one_row_kip_for_knn(wine):
    from tabdistill.methods import (
        AUTO_CANDIDATES,
        AUTO_KMEANS_AT,
        AUTO_MARGIN,
        AUTO_TEACHER_FROM,
        AUTO_UNSCORED,
        auto_candidates,
        auto_choice,
        moved_first,
    )

    for learner in ("mlp2", "mlp:16x2:tanh", "logreg"):
        assert auto_candidates(learner, AUTO_TEACHER_FROM)[0] == "teacher"
        assert auto_candidates(learner, AUTO_TEACHER_FROM - 1) == list(AUTO_CANDIDATES)
    # At one row per class nets take the class means first; logreg keeps the plain order.
    for learner in ("mlp2", "mlp:16x2:tanh"):
        assert auto_candidates(learner, AUTO_KMEANS_AT) == moved_first("kmeans")
    assert auto_candidates("logreg", AUTO_KMEANS_AT) == list(AUTO_CANDIDATES)
    # knn takes kip first (its prototypes fit knn's vote), but the class means at one row;
    # above it, nets (from teacher's budget) and knn take the centroids second.
    assert auto_candidates("knn", AUTO_KMEANS_AT + 1) == [
        "kip", "kmeans", "search", "teacher", "random-balanced", "random"]
    for learner in ("mlp2", "mlp:16x2:tanh"):
        assert auto_candidates(learner, AUTO_TEACHER_FROM) == [
            "teacher", "kmeans", "search", "kip", "random-balanced", "random"]
    assert auto_candidates("logreg", AUTO_TEACHER_FROM) == moved_first("teacher")
    assert auto_candidates("knn", AUTO_KMEANS_AT) == moved_first("kmeans", moved_first("kip"))
    # Trees at one row per class take rows that differ in features chosen for them first.
    for learner in ("rf", "hgb", "xgb"):
        assert auto_candidates(learner, 1) == ["sparse-means", *AUTO_CANDIDATES]
    # Trees take search alone in their range of rows per class, and choose outside it.
    _, hgb_from, _ = AUTO_UNSCORED["hgb"]
    _, rf_from, rf_below = AUTO_UNSCORED["rf"]
    assert auto_candidates("hgb", hgb_from - 1) == list(AUTO_CANDIDATES)
    assert auto_candidates("hgb", hgb_from) == auto_candidates("hgb", 500) == ["search"]
    assert auto_candidates("rf", rf_from - 1) == list(AUTO_CANDIDATES)
    assert auto_candidates("rf", rf_from) == auto_candidates("rf", rf_below - 1) == ["search"]
    assert auto_candidates("rf", rf_below) == list(AUTO_CANDIDATES)
    # logreg takes teacher alone from its budget on, and chooses below it.
    _, logreg_from, _ = AUTO_UNSCORED["logreg"]
    assert auto_candidates("logreg", logreg_from) == auto_candidates("logreg", 500) == [
        "teacher"]
    assert auto_candidates("logreg", logreg_from - 1) == moved_first("teacher")
    # One candidate is taken as it is, unscored.
    assert auto_choice(wine, hgb_from, 0, ("mlp2",), "hgb") == {
        "method": "search", "validation": {}, "error": {}}
    for rows in (10, 50):
        assert auto_candidates("knn", rows)[0] == "kip"
    for learner in ("mlp2", "knn"):
        assert sorted(auto_candidates(learner, 50)) == sorted(AUTO_CANDIDATES)
    assert auto_candidates(None, 50) == ["kmeans", "random-balanced", "random"]
    # The choice follows that order: the first candidate within its error of the best.
    choice = auto_choice(wine, 10, 0, ("mlp2",), "logreg")
    scores, errors = choice["validation"], choice["error"]
    top = max(scores.values())
    assert choice["method"] == next(m for m in auto_candidates("logreg", 10)
                                    if scores[m] >= top - max(AUTO_MARGIN, errors[m]))


def test_validation_hits_are_what_the_choice_scores(wine):
    from tabdistill.methods import AUTO_CANDIDATES, choose_method, validation_hits
    from tabdistill.stats import balanced_accuracy

    y, hits = validation_hits(wine, 2, 3, ("mlp2",), ["knn", "logreg"])
    assert list(hits) == list(AUTO_CANDIDATES)
    assert all(h.shape == (2, len(y)) for h in hits.values())
    choice = choose_method(wine, 2, 3, ("mlp2",), ["knn", "logreg"])
    assert choice["validation"] == {n: balanced_accuracy(y, h) for n, h in hits.items()}


def test_a_random_candidate_is_scored_over_several_draws(wine):
    from dataclasses import replace

    from tabdistill.methods import (
        AUTO_DRAWN,
        AUTO_DRAWS,
        AUTO_VALIDATION,
        METHODS,
        validation_hits,
        validation_split,
    )

    y, hits = validation_hits(wine, 2, 3, ("mlp2",), ["knn"])
    X_fit, X_val, y_fit, y_val = validation_split(wine.X_train, wine.y_train, AUTO_VALIDATION, 3)
    part = replace(wine, X_train=X_fit, y_train=y_fit, X_test=X_val, y_test=y_val)
    for name in ("kmeans", *AUTO_DRAWN):
        draws = AUTO_DRAWS if name in AUTO_DRAWN else 1
        sets = METHODS[name].sets(part, 2, list(range(draws)), 3, ("mlp2",))
        right = [s.fit("knn", part.n_classes, seed=3).predict(X_val) == y_val for s in sets]
        np.testing.assert_array_equal(hits[name][0], np.mean(right, axis=0))
    # Draws differ, so some row is right for some draws only: a share, not a 0 or 1.
    assert any(((0 < hits[n]) & (hits[n] < 1)).any() for n in AUTO_DRAWN)


def test_auto_passes_over_a_preferred_candidate_that_the_same_rows_show_worse():
    from tabdistill.methods import AUTO_MARGIN, first_within_error

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 200)
    later = rng.random((1, 400)) < 0.8
    flipped = rng.choice(np.flatnonzero(later[0]), 8, replace=False)
    earlier = later.copy()
    earlier[0, flipped] = False  # wrong on 8 more rows: 0.02 lower, and nowhere better
    choice = first_within_error(y, {"earlier": earlier, "later": later})
    # Within one unpaired standard error (0.5 / sqrt(400) = 0.025), but the paired error of
    # a difference on 8 of 400 rows is about 0.007: the rows show the earlier one worse.
    gap = choice["validation"]["later"] - choice["validation"]["earlier"]
    assert gap == pytest.approx(0.02) and gap < 0.5 / np.sqrt(400)
    assert choice["error"]["earlier"] < AUTO_MARGIN and choice["error"]["later"] == 0
    assert choice["method"] == "later"
    # A difference within the error (at least AUTO_MARGIN) keeps the order of preference.
    earlier[0, flipped[:7]] = True
    assert first_within_error(y, {"earlier": earlier, "later": later})["method"] == "earlier"


def test_auto_works_on_a_sample_of_a_large_train_part_and_splits_by_restart(wine, monkeypatch):
    import tabdistill.methods as methods

    monkeypatch.setattr(methods, "AUTO_ROWS", 60)
    part = methods.auto_part(wine, 3)
    assert len(part.y_train) == 60
    counts, sampled = np.bincount(wine.y_train), np.bincount(part.y_train)
    np.testing.assert_allclose(sampled / 60, counts / counts.sum(), atol=0.02)  # stratified
    assert all((wine.X_train == row).all(1).any() for row in part.X_train)
    np.testing.assert_array_equal(methods.auto_part(wine, 3).X_train, part.X_train)
    # compare makes each restart's set in its own task: the same sets as all restarts at once.
    made = METHODS["auto"].make(wine, 2, [0, 1], 3, ("mlp2",), learner="knn")
    choice = methods.auto_choice(wine, 2, 3, ("mlp2",), "knn")
    assert made[0].choice == choice and made[1].choice == choice
    alone = methods.auto_sets(wine, choice, 2, [1], 3, ("mlp2",), "knn", part_seed=3)[0]
    np.testing.assert_array_equal(alone.X, made[1].X)


@pytest.mark.parametrize("name", ["kmeans", "random", "search", "kip", "auto"])
def test_every_method_writes_the_same_directory(wine, tmp_path, name):
    from tabdistill.io import load, save
    from tabdistill.learners import fit_distilled
    from tabdistill.methods import make_distilled

    distilled, choice = make_distilled(wine, name, 2, restarts=2, seed=1, learner="knn")
    assert (choice is not None) == (name == "auto")
    assert distilled.x.shape[:2] == (2, 1) and not distilled.has_schedule
    assert distilled.method == (choice["method"] if choice else name)
    save(tmp_path / "d", distilled, transformer=wine.transformer)
    again, manifest = load(tmp_path / "d")
    assert manifest["method"] == distilled.method and again.method == distilled.method
    np.testing.assert_array_equal(again.x, distilled.x)
    # Nets train on plain rows with the plain-rows recipe: the same model as fit on the rows.
    X, y = again.x[1, 0], again.labels[0]
    net = fit_distilled("mlp2", again, restart=1, seed=4)
    direct = fit("mlp2", X, y, wine.n_classes, seed=4)
    np.testing.assert_array_equal(net.predict(wine.X_test), direct.predict(wine.X_test))


@pytest.mark.parametrize("table", ["wine", "breast_cancer"])
def test_teacher_labels_centroids_with_the_learners_probabilities(table, tmp_path):
    from tabdistill.io import load, save
    from tabdistill.learners import fit_distilled, soft_targets
    from tabdistill.methods import make_distilled

    ds = load_dataset(table)
    k = ds.n_classes
    sets = METHODS["teacher"].make(ds, 3, [0, 1], 2, (), learner="rf")
    for r, made in enumerate(sets):
        rows, labels = kmeans_centroids(ds.X_train, ds.y_train, 3, k, 2 + r)
        np.testing.assert_array_equal(made.X, rows)
        np.testing.assert_array_equal(made.y, labels)
        teacher = fit("rf", ds.X_train, ds.y_train, k, seed=2 + r)
        share = np.bincount(ds.y_train) / len(ds.y_train)
        balanced = teacher.predict_proba(rows) / share
        np.testing.assert_allclose(made.proba, balanced / balanced.sum(1, keepdims=True))
    # Through the directory (a binary target is one column), the same soft labels, the same
    # models as trained on the set itself.
    distilled, _ = make_distilled(ds, "teacher", 3, restarts=2, seed=2, learner="rf")
    save(tmp_path / "d", distilled, transformer=ds.transformer)
    again, _ = load(tmp_path / "d")
    assert again.config.learn_labels and again.targets.shape[-1] == (1 if k == 2 else k)
    order = np.argsort(sets[1].y, kind="stable")
    np.testing.assert_allclose(soft_targets(again, 1), sets[1].proba[order], atol=1e-6)
    for learner in ("logreg", "mlp2"):
        np.testing.assert_array_equal(
            fit_distilled(learner, again, restart=1, seed=4).predict(ds.X_test),
            sets[1].fit(learner, k, seed=4).predict(ds.X_test))


def test_teacher_labels_are_those_of_equally_frequent_classes():
    from tabdistill.methods import balanced_proba

    y = np.array([0] * 80 + [1] * 15 + [2] * 5)
    # A model that knows only the classes' shares says nothing once they are taken out.
    np.testing.assert_allclose(balanced_proba(np.tile([0.8, 0.15, 0.05], (4, 1)), y), 1 / 3)
    # A row the model thinks as likely minority as majority is the minority's, 16 to 1.
    out = balanced_proba(np.array([[0.5, 0.0, 0.5]]), y)
    np.testing.assert_allclose(out, [[1 / 17, 0, 16 / 17]])


def test_a_teacher_set_trains_logreg_to_the_balanced_teacher_exactly(wine, tmp_path):
    from tabdistill.io import load, save
    from tabdistill.learners import fit_distilled, fit_soft, weighted_copies
    from tabdistill.methods import balanced_proba, make_distilled

    made = METHODS["teacher"].make(wine, 10, [0], 0, (), learner="logreg")[0]
    assert made.weight > len(wine.y_train) / 30  # more than the train part, here
    own = balanced_proba(fit("logreg", wine.X_train, wine.y_train, 3).predict_proba(made.X),
                         wine.y_train)
    assert np.all(made.proba >= 0.5 * own - 1e-6)  # each label at least half the teacher's
    teacher = balanced_proba(fit("logreg", wine.X_train, wine.y_train, 3)
                             .predict_proba(wine.X_test), wine.y_train)
    # 30 rows span wine's 13 features: the set's objective is least at the teacher itself,
    # as a tight fit of its weighted copies shows ...
    X, y, w = weighted_copies(made.X.astype(np.float64), made.proba)
    tight = make_sklearn("logreg", len(y)).set_params(logisticregression__tol=1e-9)
    tight.fit(X, y, logisticregression__sample_weight=w * made.weight)
    np.testing.assert_allclose(tight.predict_proba(wine.X_test), teacher, atol=1e-3)
    # The weight is the least: for 5% less, no labels of at least half the teacher's
    # probabilities make the gradient of the objective vanish at the teacher (a feasibility
    # program of the gradient's equations themselves), for 5% more some do.
    assert lighter_labels_exist(tight, made.X, 1.05 * made.weight)
    assert not lighter_labels_exist(tight, made.X, 0.95 * made.weight)
    # ... and logreg as the learners make it (lbfgs to a tolerance of 1e-4) comes close,
    # where the teacher's own probabilities as labels train a shrunken copy of it.
    student = made.fit("logreg", 3).predict_proba(wine.X_test)
    plain = fit_soft("logreg", made.X, balanced_proba(
        fit("logreg", wine.X_train, wine.y_train, 3).predict_proba(made.X), wine.y_train),
        3, weight=len(wine.y_train) / 30).predict_proba(wine.X_test)
    assert np.abs(student - teacher).mean() < 0.25 * np.abs(plain - teacher).mean()
    distilled, _ = make_distilled(wine, "teacher", 10, learner="logreg")
    save(tmp_path / "d", distilled, transformer=wine.transformer)
    again = load(tmp_path / "d")[0]
    assert again.row_weight == pytest.approx(made.weight)
    np.testing.assert_allclose(fit_distilled("logreg", again).predict_proba(wine.X_test),
                               student, atol=1e-4)


def lighter_labels_exist(fitted, rows, weight) -> bool:
    """Whether labels ``Y >= P / 2`` (rows adding up to one) with ``weight * sum_i (P_i - Y_i)
    [z_i, 1] = -[coef_k, 0]`` for every class ``k`` exist: those with which ``fitted`` (a
    multinomial logreg pipeline) is the optimum of its objective on ``rows``."""
    from scipy.optimize import linprog

    Z = fitted[0].transform(rows.astype(np.float64))
    coef = fitted[-1].coef_
    Z1 = np.hstack([Z, np.ones((len(Z), 1))])
    P = fitted.predict_proba(rows)
    m, k = P.shape
    # E [m, k] row by row: for class j, Z1^T E[:, j] = -[coef_j, 0] / weight.
    A_eq = np.vstack([np.kron(Z1.T, np.eye(k)[j]) for j in range(k)]
                     + [np.kron(np.eye(m), np.ones(k))])
    b_eq = np.concatenate([-np.append(c, 0) / weight for c in coef - coef.mean(0)]
                          + [np.zeros(m)])
    bounds = [(None, u) for u in (P / 2).ravel()]
    return linprog(np.zeros(m * k), A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                   method="highs").status == 0


def test_a_teacher_set_of_fewer_rows_than_features_trains_the_best_logreg_of_its_span(wine):
    from sklearn.linear_model import LogisticRegression

    from tabdistill.learners import weighted_copies
    from tabdistill.methods import balanced_proba

    made = METHODS["teacher"].make(wine, 1, [0], 0, (), learner="logreg")[0]  # 3 rows
    # The best logreg whose coefficients lie in the span of the set's (standardised) rows,
    # trained on the train part: what any logreg trained on these rows can be at best.
    X = made.X.astype(np.float64)
    mean, scale = X.mean(0), X.std(0)
    Z = (X - mean) / scale
    features = (wine.X_train - mean) / scale @ Z.T
    spread = features.std(0)
    best = LogisticRegression(max_iter=2000).fit(features / spread, wine.y_train)
    expected = balanced_proba(best.predict_proba((wine.X_test - mean) / scale @ Z.T / spread),
                              wine.y_train)
    X, y, w = weighted_copies(X, made.proba)
    tight = make_sklearn("logreg", len(y)).set_params(logisticregression__tol=1e-9)
    tight.fit(X, y, logisticregression__sample_weight=w * made.weight)
    np.testing.assert_allclose(tight.predict_proba(wine.X_test), expected, atol=1e-3)
    np.testing.assert_allclose(made.fit("logreg", 3).predict_proba(wine.X_test), expected,
                               atol=0.02)


def test_nets_take_soft_labels_as_targets(wine):
    from tabdistill.learners import fit_soft

    X, y = wine.X_train[:30], wine.y_train[:30]
    onehot = np.eye(3)[y]
    hard = fit("mlp2", X, y, 3, seed=1)
    same = fit_soft("mlp2", X, onehot, 3, seed=1)  # one-hot soft labels are the labels
    np.testing.assert_array_equal(same.predict_proba(wine.X_test), hard.predict_proba(wine.X_test))
    soft = fit_soft("mlp2", X, 0.5 * onehot + 0.5 / 3, 3, seed=1)
    # Half the weight spread evenly: the net learns less confident probabilities.
    assert soft.predict_proba(X).max(1).mean() < hard.predict_proba(X).max(1).mean() - 0.1


def test_a_directory_naming_an_unknown_method_or_a_bad_weight_is_refused(wine, tmp_path):
    import json

    from tabdistill.errors import TabdistillError
    from tabdistill.io import load, save
    from tabdistill.methods import make_distilled

    save(tmp_path / "d", make_distilled(wine, "kmeans", 2)[0])
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    (tmp_path / "d" / "manifest.json").write_text(json.dumps({**manifest, "method": "magic"}))
    with pytest.raises(TabdistillError, match="method is 'magic'"):
        load(tmp_path / "d")
    for weight in (0, -2.5, "heavy", True):
        (tmp_path / "d" / "manifest.json").write_text(json.dumps({**manifest,
                                                                  "row_weight": weight}))
        with pytest.raises(TabdistillError, match="row_weight is .*expected a positive number"):
            load(tmp_path / "d")


def soft_set(wine, targets):
    """Wine's first 30 train rows as one batch of a distilled set with learned ``targets``."""
    from tabdistill.config import DistillConfig
    from tabdistill.distill import DistilledData

    X, y = wine.X_train[:30], wine.y_train[:30]
    return DistilledData(x=X[None, None], targets=targets[None, None], labels=y[None],
                         lrs=np.zeros((1, 0)), loss_history=np.zeros((1, 0)), n_classes=3,
                         config=DistillConfig(learn_labels=True), restart_ids=(0,),
                         method="kmeans")


def test_learned_soft_labels_reach_weighted_learners_as_weighted_copies(wine):
    from tabdistill.errors import TabdistillError
    from tabdistill.learners import fit_distilled, pooled_rows, soft_targets, weighted_copies

    def soft_rows(distilled):  # what fit_distilled trains a weighted learner on
        return weighted_copies(pooled_rows(distilled)[0], soft_targets(distilled))

    onehot = np.eye(3)[wine.y_train[:30]]
    # One-hot targets: one copy of each row, weight 1; the same model as hard labels.
    X, y, w = soft_rows(soft_set(wine, onehot))
    np.testing.assert_array_equal(y, wine.y_train[:30])
    np.testing.assert_array_equal(w, 1)
    hard = fit_distilled("logreg", soft_set(wine, onehot), soft=False)
    same = fit_distilled("logreg", soft_set(wine, onehot))
    np.testing.assert_array_equal(same.predict(wine.X_test), hard.predict(wine.X_test))
    # Mixed targets (one negative entry, clipped): copies per class, each row's weights sum to 1.
    mixed = 0.6 * onehot + 0.4 * np.roll(onehot, 1, axis=1)
    mixed[0] = [1.2, -0.2, 0.0]
    X, y, w = soft_rows(soft_set(wine, mixed))
    assert len(y) == 59 and np.isclose(w.sum(), 30)
    assert set(y[np.all(X == X[0], axis=1)]) == {0}
    soft = fit_distilled("logreg", soft_set(wine, mixed))
    plain = fit_distilled("logreg", soft_set(wine, mixed), soft=False)
    assert not np.allclose(soft.model.predict_proba(wine.X_test),
                           plain.model.predict_proba(wine.X_test))
    # knn takes no weights: it gets the likeliest class, and weights given to it are refused.
    knn = fit_distilled("knn", soft_set(wine, mixed))
    assert knn.predict(wine.X_test).shape == wine.y_test.shape
    with pytest.raises(TabdistillError, match="learner knn takes no row weights"):
        fit("knn", X, y, 3, sample_weight=w)


def test_a_teacher_too_sure_of_the_centroids_for_matched_labels_gives_its_own(monkeypatch):
    from tabdistill import matching
    from tabdistill.methods import balanced_proba

    ds = load_dataset("breast_cancer")  # nearly separable: the teacher is sure of the centroids
    rows, _ = kmeans_centroids(ds.X_train, ds.y_train, 20, 2, 0)
    teacher = fit("logreg", ds.X_train, ds.y_train, 2)
    base = len(ds.y_train) / 40
    proba, weight = matching.matched_logreg_labels(teacher, ds.X_train, ds.y_train, rows, 2)
    assert weight > 1000 * base  # the least weight is large here, so a smaller limit ...
    monkeypatch.setattr(matching, "MAX_WEIGHT", 1000.0)
    assert matching.matched_logreg_labels(teacher, ds.X_train, ds.y_train, rows, 2) is None
    # ... makes the set keep the teacher's own probabilities
    made = METHODS["teacher"].make(ds, 20, [0], 0, (), learner="logreg")[0]
    assert made.weight == len(ds.y_train) / 40
    np.testing.assert_allclose(made.proba, balanced_proba(teacher.predict_proba(rows),
                                                          ds.y_train))


def test_matched_labels_are_not_solved_past_the_programs_size_limit(wine, monkeypatch):
    from tabdistill import matching

    rows, _ = kmeans_centroids(wine.X_train, wine.y_train, 10, 3, 0)
    teacher = fit("logreg", wine.X_train, wine.y_train, 3)
    size = len(rows) * 3 * (rows.shape[1] + 1)  # rows x classes x (features + intercept)
    monkeypatch.setattr(matching, "MAX_NONZEROS", size)
    assert matching.matched_logreg_labels(teacher, wine.X_train, wine.y_train, rows, 3)
    monkeypatch.setattr(matching, "MAX_NONZEROS", size - 1)
    assert matching.matched_logreg_labels(teacher, wine.X_train, wine.y_train, rows, 3) is None


def test_matched_labels_are_not_solved_past_the_solvers_iteration_limit(wine, monkeypatch):
    from tabdistill import matching

    rows, _ = kmeans_centroids(wine.X_train, wine.y_train, 10, 3, 0)
    teacher = fit("logreg", wine.X_train, wine.y_train, 3)
    assert matching.matched_logreg_labels(teacher, wine.X_train, wine.y_train, rows, 3)
    monkeypatch.setattr(matching, "MAX_ITERATIONS", 1)  # the interior point needs more
    assert matching.matched_logreg_labels(teacher, wine.X_train, wine.y_train, rows, 3) is None
