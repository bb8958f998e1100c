"""Initialisations draw weights of the documented shape and scale (Glorot & Bengio 2010;
He et al. 2015), biases zero."""

import jax
import numpy as np
import pytest

from tabdistill.models import parse_arch

FAN_IN, WIDTH = 300, 200


@pytest.mark.parametrize("init,std", [
    ("xavier-normal", np.sqrt(2 / (FAN_IN + WIDTH))),
    ("xavier-uniform", np.sqrt(6 / (FAN_IN + WIDTH)) / np.sqrt(3)),
    ("kaiming-normal", np.sqrt(2 / FAN_IN)),
    ("kaiming-uniform", np.sqrt(6 / FAN_IN) / np.sqrt(3)),
])
def test_every_init_has_its_scale(init, std):
    (w, b), *_ = parse_arch(f"mlp:{WIDTH}x1").init(jax.random.PRNGKey(0), FAN_IN, 1, init)
    w = np.asarray(w, np.float64)
    assert w.shape == (FAN_IN, WIDTH) and not np.asarray(b).any()
    np.testing.assert_allclose(w.std(), std, rtol=0.02)  # 60,000 draws: std within ~0.6%
    assert abs(w.mean()) < 0.02 * std  # its standard error is std / 245
    if init.endswith("uniform"):  # bounded by sqrt(3) std, and reaching close to it
        limit = np.sqrt(3) * std
        assert np.abs(w).max() <= limit * (1 + 1e-6) and np.abs(w).max() > 0.99 * limit
    else:  # normal: about 0.27% of the draws lie beyond 3 std
        assert 0.001 < np.mean(np.abs(w) > 3 * std) < 0.005
