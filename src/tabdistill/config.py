"""Configuration as frozen dataclasses whose defaults are the paper's settings (Medvedev &
D'yakonov, "New Properties of the Data Distillation Method When Working With Tabular Data")."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

from .archspace import ArchSpace, is_space, parse_space
from .errors import TabdistillError
from .inner import MEMORY_MODES
from .models import INITS, parse_archs

INIT_ROWS = ("noise", "real", "kmeans")  # where the synthetic rows start


@dataclass(frozen=True)
class DistillConfig:
    """Everything that defines a distillation run.

    The internal models are spread over ``arch`` in turn: model ``j`` is ``arch[j % len(arch)]``,
    so ``arch=("linear", "mlp2", "mlp4")`` with ``models=3`` is the paper's section 6. A lone
    random space (``arch=("random",)``, see :mod:`.archspace`) draws every model's net afresh at
    every outer step instead.
    """

    arch: tuple[str, ...] = ("mlp2",)
    steps: int = 40  # s: internal steps per internal epoch (synthetic batches)
    epochs: int = 5  # internal epochs: n = steps * epochs inner steps
    per_class: int = 4  # synthetic objects per class in each batch
    models: int = 3  # m: internal models per outer step
    outer_epochs: int = 50
    batch_size: int = 64  # real objects per outer step
    outer_lr: float = 0.01
    beta1: float = 0.5
    beta2: float = 0.999
    init_lr: float = 0.02  # every learned lr starts here (softplus parametrisation)
    init: str = "xavier-normal"
    fixed_init: bool = False  # Wang et al.'s fixed-init mode: draw each model's init once
    learn_labels: bool = False  # learn soft labels too (Sucholutsky & Schonlau), from one-hot
    memory: str = "store"
    init_rows: str = "noise"  # where synthetic rows start: N(0, 1), real rows or centroids
    in_domain: bool = False  # rows made from parameters inside the train range (domain.py)
    restarts: int = 1
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.arch, str):  # "linear,mlp2" -> ("linear", "mlp2")
            object.__setattr__(self, "arch", tuple(a.strip() for a in self.arch.split(",")))
        else:
            object.__setattr__(self, "arch", tuple(str(a) for a in self.arch))
        if len(self.arch) == 1 and is_space(self.arch[0]):  # spelt out, for the manifest
            with contextlib.suppress(TabdistillError):  # validate() says what is wrong
                object.__setattr__(self, "arch", (parse_space(self.arch[0]).name,))

    @property
    def n_inner(self) -> int:
        """n, the number of inner steps."""
        return self.steps * self.epochs

    @property
    def space(self) -> ArchSpace | None:
        """The random architecture space, when ``arch`` is one."""
        return parse_space(self.arch[0]) if any(map(is_space, self.arch)) else None

    @property
    def default_net(self) -> str:
        """The net that evaluations train unless told otherwise: the first architecture, or
        ``mlp2`` (the paper's) for a random space."""
        return "mlp2" if self.space is not None else self.arch[0]

    def replace(self, **changes) -> DistillConfig:
        return dataclasses.replace(self, **changes)

    def validate(self) -> DistillConfig:
        """Raises :class:`TabdistillError` for an impossible setting; returns ``self``."""
        if any(map(is_space, self.arch)):
            if len(self.arch) > 1:
                raise TabdistillError(f"a random space cannot be listed with other "
                                      f"architectures ({','.join(self.arch)}); expected it alone")
            if self.fixed_init:
                raise TabdistillError("fixed-init keeps each model's weights, so it cannot be "
                                      "combined with random architectures; expected one of them")
            archs = (self.space,)
        else:
            archs = parse_archs(self.arch)
        positive = ("steps", "epochs", "per_class", "models", "outer_epochs", "batch_size",
                    "restarts")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise TabdistillError(f"{name.replace('_', '-')} is {value}; expected at least 1")
        for name in ("outer_lr", "init_lr"):
            if not getattr(self, name) > 0:
                raise TabdistillError(f"{name.replace('_', '-')} must be positive")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise TabdistillError(f"{name} is {getattr(self, name)}; expected in [0, 1)")
        if self.models < len(archs):
            raise TabdistillError(
                f"{self.models} internal models cannot cover {len(archs)} architectures; "
                f"expected --models of at least {len(archs)}"
            )
        if self.memory not in MEMORY_MODES:
            raise TabdistillError(
                f"unknown memory mode {self.memory!r}; expected one of {', '.join(MEMORY_MODES)}"
            )
        if self.init_rows not in INIT_ROWS:
            raise TabdistillError(f"unknown init-rows {self.init_rows!r}; expected one of "
                                  f"{', '.join(INIT_ROWS)}")
        if self.init not in INITS:
            raise TabdistillError(f"unknown init {self.init!r}; expected one of {', '.join(INITS)}")
        return self
