import atexit
import os
import shutil
import tempfile

import jax
import numpy as np
import pytest

from tabdistill.data import load_dataset

# Commands run in the tests keep compiled programs in a throwaway directory, not the user's
# cache, removed when the tests end.
if "TABDISTILL_COMPILE_CACHE" not in os.environ:
    os.environ["TABDISTILL_COMPILE_CACHE"] = tempfile.mkdtemp(prefix="tabdistill-xla-")
    atexit.register(shutil.rmtree, os.environ["TABDISTILL_COMPILE_CACHE"], ignore_errors=True)


@pytest.fixture
def x64():
    """Runs a test in float64 (finite differences need it)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(scope="session")
def moons():
    return load_dataset("moons")


@pytest.fixture(scope="session")
def tiny_moons(moons):
    """The first 120 training rows of moons: enough to learn, quick to compile and run."""
    import dataclasses

    return dataclasses.replace(moons, X_train=moons.X_train[:120], y_train=moons.y_train[:120])


def assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)
