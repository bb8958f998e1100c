"""Soft labels that make a set train ``logreg`` to its teacher exactly.

``logreg`` (a standard scaler, then L2-penalised logistic regression) minimises a convex
objective, so a set trains it to a given model exactly when the gradient of the set's objective
vanishes at that model. On a set's rows (k-means centroids) we solve for soft labels, and one
weight for every row, that make it vanish at the teacher's coefficients: the set's ``logreg``
is then the teacher, not the shrunken copy that the teacher's own probabilities train (those
make the log-loss's gradient vanish, and leave the penalty's to pull the model to zero).

The labels move each row's teacher probabilities ``p`` along the loss's curvature there:
``y = p - (diag(p) - p p^T) u / w`` with ``u`` from one linear solve (a Newton system of the
set's log-loss at the teacher), so that ``y`` stays a probability vector; the row weight ``w``
is the least that keeps every label at least half its teacher probability, and at least the
train part's rows over the set's (the ``teacher`` method's weight). Where the teacher is so
sure of the rows that the weight would pass :data:`MAX_WEIGHT` times that, there are no
such labels worth having: logreg's solver stops short of a model that flat, and the set keeps
the teacher's own probabilities.

A model trained on ``m`` rows has its coefficients in the span of those rows (the penalty's
gradient is cancelled by the rows' only there). Where the set's rows do not span the features
(fewer rows than features, or one-hot columns that add up to one), the teacher is the best
model of that span on the train part: logistic regression on the train rows projected onto
the set's rows.
"""

from __future__ import annotations

import numpy as np

MAX_WEIGHT = 100.0  # the most a row weighs, in train rows per set row
LEAST_SHARE = 0.5  # each label keeps at least this share of its teacher probability
FLOOR = 1e-6  # the least label: every row keeps a copy per class (the scaler sees each row)
# The most unknowns of the Newton system (logits x (features + 1)): its matrix is their
# square and costs rows x their square to build, minutes and gigabytes for many classes of
# many features, where the set keeps the teacher's own probabilities.
MAX_UNKNOWNS = 2000


def matched_logreg_labels(teacher, X, y, rows,
                          n_classes: int) -> tuple[np.ndarray, float] | None:
    """Soft labels ``[rows, n_classes]`` and a row weight with which ``logreg`` trained on
    ``rows`` (as :func:`~.learners.fit_soft` trains it) is the balanced teacher: ``teacher``,
    ``logreg`` fitted to the train part ``X, y``, its probabilities those of equally frequent
    classes (see :func:`~.methods.balanced_proba`), within the span of ``rows``. ``None``
    where that needs rows weighing more than :data:`MAX_WEIGHT` train rows each, or a system
    of more than :data:`MAX_UNKNOWNS` unknowns."""
    if (1 if n_classes == 2 else n_classes) * (np.shape(rows)[1] + 1) > MAX_UNKNOWNS:
        return None
    rows = np.asarray(rows, np.float64)
    mean, scale = rows.mean(0), rows.std(0)
    scale = np.where(scale > 1e-12, scale, 1.0)  # StandardScaler's rule for constant columns
    Z = (rows - mean) / scale  # the rows as the set's scaler gives them to the classifier
    W, b = _coefficients(teacher, np.asarray(X, np.float64), y, n_classes, Z, mean, scale)
    A, c = W * scale, b + W @ mean  # the teacher in the set's scaled coordinates
    Z1 = np.hstack([Z, np.ones((len(Z), 1))])
    target = -np.hstack([A, np.zeros((len(A), 1))])  # -(the penalty's gradient), per logit
    logits = Z @ A.T + c
    if n_classes == 2:  # scikit-learn's binary model: one logit, of class 1
        p = 1 / (1 + np.exp(-logits[:, 0]))
        P = np.stack([1 - p, p], 1)
        hessian = np.einsum("i,ia,ib->ab", p * (1 - p), Z1, Z1)
        u = np.zeros_like(P)
        u[:, 1] = Z1 @ np.linalg.lstsq(hessian, target[0], rcond=None)[0]
    else:
        P = np.exp(logits - logits.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        cov = np.einsum("ik,kl->ikl", P, np.eye(n_classes)) - np.einsum("ik,il->ikl", P, P)
        d = Z1.shape[1]
        hessian = np.einsum("ikl,ia,ib->kalb", cov, Z1, Z1).reshape(n_classes * d, -1)
        G = np.linalg.lstsq(hessian, target.reshape(-1), rcond=None)[0].reshape(n_classes, d)
        u = Z1 @ G.T
    v = u - (P * u).sum(1, keepdims=True)  # (diag(p) - p p^T) u = p * v, row by row
    base = len(y) / len(rows)
    weight = max(v.max() / (1 - LEAST_SHARE), base)
    if weight > MAX_WEIGHT * base:
        return None
    proba = np.maximum(P * (1 - v / weight), FLOOR)
    return proba / proba.sum(1, keepdims=True), float(weight)


def _coefficients(teacher, X, y, n_classes, Z, mean, scale):
    """The target's raw coefficients ``[logits, features]`` and intercepts (``teacher``'s,
    or the best of the span of ``Z``'s rows), its intercepts shifted so that its classes are
    equally frequent."""
    if np.linalg.matrix_rank(Z) >= X.shape[1]:
        scaler, model = teacher.model[0], teacher.model[-1]
        W = model.coef_ / scaler.scale_
        b = model.intercept_ - W @ scaler.mean_
    else:
        from sklearn.linear_model import LogisticRegression

        features = ((X - mean) / scale) @ Z.T  # the train rows in the span of the set's
        spread = features.std(0)
        spread = np.where(spread > 1e-12, spread, 1.0)
        model = LogisticRegression(max_iter=2000).fit(features / spread, y)
        W = (model.coef_ / spread) @ Z / scale
        b = model.intercept_ - W @ mean
    share = np.maximum(np.bincount(y, minlength=n_classes), 1) / len(y)
    return W, b - (np.log(share[1] / share[0]) if n_classes == 2 else np.log(share))
