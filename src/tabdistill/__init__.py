"""tabdistill: dataset distillation for tabular data.

Learn a small synthetic training set and a learning rate for each training step, such that a
model trained on it for a few steps matches a model trained on the whole table (Wang et al.,
2018; Medvedev & D'yakonov, 2020).

``Distiller`` (the scikit-learn estimator) is loaded on first use (PEP 562), so that importing
the package, and so every ``tabdistill`` command, does not import scikit-learn and pandas
unless it needs them (about 1 s of start-up).
"""

# First: its import sets XLA's CPU flags, before anything starts JAX's CPU backend.
from . import runtime  # noqa: F401
from .config import DistillConfig
from .data import Dataset, load_dataset
from .distill import DistilledData, distill
from .errors import TabdistillError
from .evaluate import Evaluation, evaluate
from .io import load, save
from .models import Architecture, parse_arch
from .strategies import Strategy, parse_strategy

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "Distiller":
        from .estimator import Distiller

        return Distiller
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Architecture",
    "Dataset",
    "DistillConfig",
    "DistilledData",
    "Distiller",
    "Evaluation",
    "Strategy",
    "TabdistillError",
    "distill",
    "evaluate",
    "load",
    "load_dataset",
    "parse_arch",
    "parse_strategy",
    "save",
]
