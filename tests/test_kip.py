"""kip: kernel inducing points inside the data's domain, and the ``kip`` method."""

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from tabdistill.data import from_frame
from tabdistill.domain import Domain, rows
from tabdistill.kip import (
    KipConfig,
    centred_targets,
    kip_loss,
    kip_rows,
    median_gamma,
    vote_loss,
)
from tabdistill.methods import METHODS, kmeans_centroids


@pytest.fixture(scope="module")
def mixed():
    """Two numeric columns and two categorical ones (3 and 4 levels), three classes."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "a": rng.normal(size=n), "b": rng.exponential(size=n),
        "colour": rng.choice(["red", "green", "blue"], n),
        "size": rng.choice(["s", "m", "l", "xl"], n),
    })
    frame["label"] = (frame["a"] > 0).astype(int) + (frame["colour"] == "red")
    return from_frame(frame, target="label", name="mixed")


def test_the_dataset_says_where_its_one_hot_blocks_are(mixed):
    assert mixed.onehot_blocks == ((2, 5), (5, 9))
    X = mixed.X_train
    for start, stop in mixed.onehot_blocks:
        np.testing.assert_array_equal(X[:, start:stop].sum(1), 1.0)


def test_the_parameters_of_rows_inside_the_domain_give_them_back(mixed):
    domain = Domain.of(mixed.X_train, mixed.onehot_blocks)
    start, _ = kmeans_centroids(mixed.X_train, mixed.y_train, 4, mixed.n_classes, 0)
    back = np.asarray(rows(jnp.asarray(domain.params(start)), *domain.arrays()))
    np.testing.assert_allclose(back, start, atol=2e-3 * np.ptp(mixed.X_train, 0).max())


@pytest.mark.parametrize("head", ["krr", "vote"])
def test_rows_stay_in_the_domain_and_the_objective_falls(mixed, head):
    X, y, k = mixed.X_train, mixed.y_train, mixed.n_classes
    domain = Domain.of(X, mixed.onehot_blocks)
    start, labels = kmeans_centroids(X, y, 3, k, 1)
    # A large lr drives values against the bounds: they must hold anyway.
    config = KipConfig(head=head, steps=60, lr=0.3, width=0.3 if head == "krr" else 0.1)
    out, losses = kip_rows(X, y, start, labels, k, domain, 1, config)
    assert out.shape == start.shape and out.dtype == np.float32 and losses.shape == (60,)
    assert np.all(out >= domain.lo) and np.all(out <= domain.hi)
    for begin, stop in mixed.onehot_blocks:
        assert np.all(out[:, begin:stop] >= 0)
        np.testing.assert_allclose(out[:, begin:stop].sum(1), 1.0, atol=1e-5)
    assert not np.allclose(out, start, atol=1e-2)  # the rows moved
    # The objective on the whole train part, at the start and at the end.
    gamma = median_gamma(X, 1) / config.width
    if head == "krr":
        loss, targets = kip_loss, lambda t: centred_targets(jnp.asarray(t), k)
    else:
        loss, targets = vote_loss, lambda t: jnp.eye(k)[t]

    def objective(s):
        return float(loss(jnp.asarray(s), targets(labels), jnp.asarray(X), targets(y), gamma,
                          config.reg))

    assert objective(out) < 0.9 * objective(start)


@pytest.mark.parametrize("neighbours", [3, 5])
def test_the_smoothed_vote_of_k_neighbours_is_the_k_nn_vote_for_a_sharp_kernel(neighbours):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(2)
    s, labels = rng.normal(size=(12, 3)), np.arange(12) % 3
    x = rng.normal(size=(40, 3))
    knn = KNeighborsClassifier(neighbours).fit(s, labels).predict_proba(x)
    # The cross-entropy against one class at a time gives -log p(c | x) per row and class.
    eye = jnp.eye(3)
    log_p = [[-float(vote_loss(jnp.asarray(s), eye[labels], jnp.asarray(x[i : i + 1]),
                               eye[c][None], 1e4, 0.0, neighbours)) for c in range(3)]
             for i in range(len(x))]
    np.testing.assert_allclose(np.exp(log_p), knn, atol=1e-3)


def test_the_same_seed_gives_the_same_rows(mixed):
    X, y, k = mixed.X_train, mixed.y_train, mixed.n_classes
    domain = Domain.of(X, mixed.onehot_blocks)
    start, labels = kmeans_centroids(X, y, 2, k, 0)
    config = KipConfig(steps=20)
    first = kip_rows(X, y, start, labels, k, domain, 3, config)[0]
    np.testing.assert_array_equal(first, kip_rows(X, y, start, labels, k, domain, 3, config)[0])
    assert not np.array_equal(first, kip_rows(X, y, start, labels, k, domain, 4, config)[0])


@pytest.mark.parametrize("learner", ["logreg", "knn", "rf"])
def test_the_kip_method_makes_a_set_of_the_budget_for_each_learner(mixed, learner):
    method = METHODS["kip"]
    assert method.per_learner and method.kind == "distillation"
    sets = method.make(mixed, 3, (0, 1), 5, (), learner=learner)
    assert len(sets) == 2
    for s in sets:
        assert s.X.shape == (9, mixed.n_features) and np.bincount(s.y).tolist() == [3, 3, 3]
    assert not np.array_equal(sets[0].X, sets[1].X)
    if learner == "rf":  # trees get real rows of their own class
        X, y = mixed.X_train, mixed.y_train
        for row, c in zip(sets[0].X, sets[0].y, strict=True):
            assert np.any(np.all(X[y == c] == row, axis=1))


@pytest.mark.parametrize("init_rows", ["noise", "kmeans"])
def test_wang_in_domain_keeps_every_row_inside_while_it_learns(mixed, init_rows):
    from tabdistill.config import DistillConfig
    from tabdistill.distill import distill

    domain = Domain.of(mixed.X_train, mixed.onehot_blocks)
    # A large outer lr pushes rows hard against the bounds: they must hold anyway.
    config = DistillConfig(steps=3, epochs=2, per_class=2, outer_epochs=3, outer_lr=0.5,
                           batch_size=64, restarts=2, in_domain=True, init_rows=init_rows)
    out = distill(mixed, config)
    x = out.x.reshape(-1, mixed.n_features)
    assert np.all(x >= domain.lo - 1e-5) and np.all(x <= domain.hi + 1e-5)
    for begin, stop in mixed.onehot_blocks:
        np.testing.assert_allclose(x[:, begin:stop].sum(1), 1.0, rtol=1e-5)
    assert np.isfinite(out.loss_history).all()
    loose = distill(mixed, config.replace(in_domain=False))
    assert np.any(loose.x.reshape(-1, mixed.n_features) > domain.hi + 0.1)  # it would leave


KIP_ON_A_SHAPE_XLA_FAILS = """
import resource
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))  # a regression fails fast
import numpy as np
from tabdistill.domain import Domain
from tabdistill.kip import kip_rows
rng = np.random.default_rng(0)
X = rng.normal(size=(310, 15)).astype(np.float32)
y = np.arange(310) % 2
rows, _ = kip_rows(X, y, X[:20], np.arange(20) % 2, 2, Domain.of(X), 0)
print(rows.shape)
"""


def test_kip_compiles_the_products_xla_fails_on_under_the_fast_flags():
    # 20 rows x 15 features by a 15 x 15 matrix: with the package's XLA flags, XLA aborts the
    # process while compiling it (runtime.SAFE_PRODUCTS); kip and its rows avoid that path.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", KIP_ON_A_SHAPE_XLA_FAILS], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split("\n")[-2] == "(20, 15)"
