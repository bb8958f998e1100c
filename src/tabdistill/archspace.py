"""Random architecture spaces: internal models whose width, depth and activation are drawn
afresh at every outer step, so that a distilled set is made for nets it never saw (the future
work of Medvedev & D'yakonov).

A space is written ``random`` (the default below) or ``random:WIDTHS:DEPTHS:ACTIVATIONS``, each
field a ``/``-separated list, depths also a range ``LO-HI``; depth 0 is the linear model, whose
width and activation do not apply. A draw picks a depth, an activation and a width, each
uniformly from its list, and stands for the net ``mlp:WIDTHxDEPTH:ACTIVATION`` (or ``linear``).

So that every draw runs in one compiled program, each (depth, activation) pair is one
*branch*, a net of the space's largest width, and a draw of a narrower width starts with only
that many live units per hidden layer (:meth:`.Architecture.init` with ``live``). Dead units
have zero weights in and out, output ``f(0) = 0`` and receive zero gradients, so the branch
trains and differentiates exactly like the narrower net; this is why a space admits only
activations with ``f(0) = 0``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import TabdistillError
from .models import ACTIVATIONS, Architecture

PREFIX = "random"
DEFAULT_SPACE = "random:8/16/32/64:0-4:relu/tanh/elu/gelu"
ZERO_AT_ZERO = ("relu", "tanh", "elu", "gelu", "identity")  # f(0) = 0: dead units stay dead
ARCH_SALT = 0xA4C4  # architecture draws never share a stream with anything else
_LIST = re.compile(r"^\d+(/\d+)*$")
_RANGE = re.compile(r"^(\d+)-(\d+)$")


def is_space(spec) -> bool:
    """Whether an ``--arch`` entry names a random space rather than one net."""
    return isinstance(spec, str) and spec.strip().lower().split(":")[0] == PREFIX


@dataclass(frozen=True)
class ArchSpace:
    """Widths, depths (hidden layers; 0 is linear) and activations to draw nets from."""

    widths: tuple[int, ...]
    depths: tuple[int, ...]
    activations: tuple[str, ...]

    @property
    def name(self) -> str:
        """The canonical spec, which :func:`parse_space` reads back to this space."""
        return ":".join([PREFIX, "/".join(map(str, self.widths)),
                         "/".join(map(str, self.depths)), "/".join(self.activations)])

    @property
    def branches(self) -> tuple[Architecture, ...]:
        """One net of the largest width per (depth, activation): depth-major, ``linear`` first
        when depth 0 is in the space."""
        top = max(self.widths)
        return tuple(
            Architecture("linear", (), "identity") if depth == 0
            else Architecture(f"mlp:{top}x{depth}:{act}", (top,) * depth, act)
            for depth in self.depths for act in (("identity",) if depth == 0 else self.activations)
        )

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws as ``[n, 2]`` integers: each one's branch index and live width."""
        depth = np.asarray(self.depths)[rng.integers(len(self.depths), size=n)]
        act = rng.integers(len(self.activations), size=n)
        width = np.asarray(self.widths)[rng.integers(len(self.widths), size=n)]
        index = {(len(b.hidden), b.activation): i for i, b in enumerate(self.branches)}
        branch = [index[(0, "identity") if d == 0 else (d, self.activations[a])]
                  for d, a in zip(depth, act, strict=True)]
        return np.stack([branch, width], axis=1).astype(np.int32)

    def net(self, draw) -> Architecture:
        """The net a draw ``(branch, width)`` stands for."""
        branch = self.branches[int(draw[0])]
        if not branch.hidden:
            return branch
        width, depth = int(draw[1]), len(branch.hidden)
        return Architecture(f"mlp:{width}x{depth}:{branch.activation}", (width,) * depth,
                            branch.activation)


def draws(space: ArchSpace, seed: int, epoch: int, steps: int, models: int) -> np.ndarray:
    """The draws of one outer epoch, ``[steps, models, 2]``, from ``(seed, epoch)`` alone:
    every restart sees the same architectures (their weights differ), so a restart gives the
    same numbers alone, with others or resumed."""
    rng = np.random.default_rng([ARCH_SALT, seed, epoch])
    return space.draw(rng, steps * models).reshape(steps, models, 2)


def parse_space(spec: str) -> ArchSpace:
    """Reads ``random`` or ``random:WIDTHS[:DEPTHS[:ACTIVATIONS]]`` (the rest from the default)."""
    fields = spec.strip().lower().split(":")
    if fields[0] != PREFIX or len(fields) > 4:
        raise TabdistillError(f"unknown random space {spec!r}; expected {PREFIX} or "
                              f"{PREFIX}:WIDTHS:DEPTHS:ACTIVATIONS such as {DEFAULT_SPACE}")
    default = DEFAULT_SPACE.split(":")
    widths, depths, acts = (f if f else d for f, d in
                            zip(fields[1:] + [""] * (4 - len(fields)), default[1:], strict=True))
    if not _LIST.match(widths) or any(int(w) < 1 for w in widths.split("/")):
        raise TabdistillError(f"widths {widths!r} in {spec!r}; expected positive integers "
                              "separated by '/', such as 8/16/32/64")
    match = _RANGE.match(depths)
    if match and int(match[1]) <= int(match[2]):
        depth_list = tuple(range(int(match[1]), int(match[2]) + 1))
    elif _LIST.match(depths):
        depth_list = tuple(int(d) for d in depths.split("/"))
    else:
        raise TabdistillError(f"depths {depths!r} in {spec!r}; expected hidden-layer counts "
                              "separated by '/' or a range such as 0-4 (0 is linear)")
    act_list = tuple(acts.split("/"))
    for act in act_list:
        if act not in ZERO_AT_ZERO:
            why = " (it is not 0 at 0)" if act in ACTIVATIONS else ""
            raise TabdistillError(f"activation {act!r} in {spec!r} cannot be drawn{why}; "
                                  f"expected some of {', '.join(ZERO_AT_ZERO)}")
    return ArchSpace(tuple(dict.fromkeys(int(w) for w in widths.split("/"))),
                     tuple(sorted(set(depth_list))), tuple(dict.fromkeys(act_list)))
