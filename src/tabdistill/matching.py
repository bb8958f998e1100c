"""Soft labels that make a set train ``logreg`` to its teacher exactly.

``logreg`` (a standard scaler, then L2-penalised logistic regression) minimises a convex
objective, so a set trains it to a given model exactly when the gradient of the set's objective
vanishes at that model. On a set's rows (k-means centroids) we solve for soft labels, and one
weight for every row, that make it vanish at the teacher's coefficients: the set's ``logreg``
is then the teacher, not the shrunken copy that the teacher's own probabilities train (those
make the log-loss's gradient vanish, and leave the penalty's to pull the model to zero).

The labels and the weight come from one linear program: with ``E = P - Y`` (teacher
probabilities less labels, row by row), the gradient vanishes when ``sum_i E_i z_i^T`` equals
the penalty's gradient over the weight, which is linear in ``E`` and in one over the weight. The
program finds the least weight for which such labels exist with every label at least half its
teacher probability (:data:`LEAST_SHARE`), and the weight is never below the train part's rows
over the set's (the ``teacher`` method's weight). (An earlier version took one solution of
many, a Newton step along the loss's curvature, at weights often several times the least:
docs/levers.md.) Where the teacher is so sure of the rows that the least weight passes
:data:`MAX_WEIGHT` times the base, the labels' moves (about one over the weight) reach the
solvers' tolerances, and the set keeps the teacher's own probabilities.

A model trained on ``m`` rows has its coefficients in the span of those rows (the penalty's
gradient is cancelled by the rows' only there). Where the set's rows do not span the features
(fewer rows than features, or one-hot columns that add up to one), the teacher is the best
model of that span on the train part: logistic regression on the train rows projected onto
the set's rows.
"""

from __future__ import annotations

import numpy as np

MAX_WEIGHT = 1e12  # the most a row weighs, in train rows per set row
LEAST_SHARE = 0.5  # each label keeps at least this share of its teacher probability
FLOOR = 1e-6  # the least label: every row keeps a copy per class (the scaler sees each row)
# The most nonzeros of the program's constraints (rows x classes x (features + 1)): about 6 s
# to solve at 575,000 (letter, 50 rows per class); 50 s before it stalled at 819,000
# (leaf_id_flavia, 32 classes, 10 rows per class); 10 min at 4.8 million. Beyond it the set
# keeps the teacher's own probabilities.
MAX_NONZEROS = 600_000
# The most iterations of each of the solver's phases. A program that needs more (a teacher so
# sure that the labels' moves reach the solver's tolerances, where it stalls) keeps the
# teacher's own probabilities, alike on every machine (a time limit would not be).
MAX_ITERATIONS = 10_000


def matched_logreg_labels(teacher, X, y, rows,
                          n_classes: int) -> tuple[np.ndarray, float] | None:
    """Soft labels ``[rows, n_classes]`` and a row weight with which ``logreg`` trained on
    ``rows`` (as :func:`~.learners.fit_soft` trains it) is the balanced teacher: ``teacher``,
    ``logreg`` fitted to the train part ``X, y``, its probabilities those of equally frequent
    classes (see :func:`~.methods.balanced_proba`), within the span of ``rows``. ``None``
    where that needs rows weighing more than :data:`MAX_WEIGHT` train rows each, a program
    of more than :data:`MAX_NONZEROS` nonzeros, or more than :data:`MAX_ITERATIONS` solver
    iterations."""
    rows = np.asarray(rows, np.float64)
    if len(rows) * n_classes * (rows.shape[1] + 1) > MAX_NONZEROS:
        return None
    mean, scale = rows.mean(0), rows.std(0)
    scale = np.where(scale > 1e-12, scale, 1.0)  # StandardScaler's rule for constant columns
    Z = (rows - mean) / scale  # the rows as the set's scaler gives them to the classifier
    W, b = _coefficients(teacher, np.asarray(X, np.float64), y, n_classes, Z, mean, scale)
    A, c = W * scale, b + W @ mean  # the teacher in the set's scaled coordinates
    if n_classes == 2:  # scikit-learn's one logit (of class 1) as two of a softmax
        A, c = np.vstack([-A, A]) / 2, np.array([-c[0], c[0]]) / 2
    logits = Z @ A.T + c
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    # -(the penalty's gradient) per logit; softmax is blind to a vector added to every class's
    # coefficients, and a solver's coefficients add up to zero only to its tolerance.
    target = -np.hstack([A - A.mean(0), np.zeros((len(A), 1))])
    if n_classes == 2:  # the one logit's gradient is that of class 1 less that of class 0
        target = target * 2
    base = len(y) / len(rows)
    solved = _least_weight(P, np.hstack([Z, np.ones((len(Z), 1))]), target, base)
    if solved is None or solved[1] > MAX_WEIGHT * base:
        return None
    proba = np.maximum(solved[0], FLOOR)
    return proba / proba.sum(1, keepdims=True), solved[1]


def _least_weight(P, Z1, target, base) -> tuple[np.ndarray, float] | None:
    """The labels ``Y`` and the least weight ``w >= base`` with ``sum_i (P_i - Y_i) z_i^T =
    target / w``, every row of ``Y`` adding up to one and ``Y >= LEAST_SHARE * P``: a linear
    program in ``E = P - Y`` and ``s = 1 / w`` (``None`` where only ``s = 0`` is feasible).
    The equations are taken in the rows' span (``Z1 = U S V^T``): ``U^T E = s S^-1 V^T
    target^T``, as many as the span has dimensions."""
    from scipy import sparse
    from scipy.optimize import linprog

    m, k = P.shape
    U, S, Vt = np.linalg.svd(Z1, full_matrices=False)
    rank = int((S > S[0] * 1e-10).sum())
    U, S, Vt = U[:, :rank], S[:rank], Vt[:rank]
    rhs = (Vt @ target.T) / S[:, None]  # [rank, k]
    # E flattened row by row (row i, class j at i * k + j), then s.
    span = sparse.vstack([sparse.kron(U.T, sparse.eye(k, format="csr")[j]) for j in range(k)])
    sums = sparse.kron(sparse.eye(m), np.ones((1, k)))
    A_eq = sparse.vstack([sparse.hstack([span, -rhs.T.reshape(-1, 1)]),
                          sparse.hstack([sums, sparse.csr_matrix((m, 1))])], format="csr")
    bounds = [(None, u) for u in ((1 - LEAST_SHARE) * P).ravel()] + [(0, 1 / base)]
    cost = np.zeros(m * k + 1)
    cost[-1] = -1  # the most s, the least weight
    res = linprog(cost, A_eq=A_eq, b_eq=np.zeros(A_eq.shape[0]), bounds=bounds,
                  method="highs-ipm",  # half the time of simplex on letter
                  options={"maxiter": MAX_ITERATIONS})
    if res.status != 0 or res.x[-1] <= 0:
        return None
    return P - res.x[:-1].reshape(m, k), float(1 / res.x[-1])


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
