"""Architectures as values: fully connected nets, their initialisation, forward pass and loss.

An :class:`Architecture` is a frozen description (hidden widths, activation); parameters are a
tuple of ``(W, b)`` pairs, a plain pytree, so that models can be vmapped, scanned and
differentiated without any object in the way.

Binary problems use one logit with binary cross-entropy (the paper); more classes use softmax
cross-entropy. Targets always have the model's output width: ``K = 1`` for binary (the
probability of class 1), ``K = C`` otherwise (one-hot, or soft when labels are learned).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .errors import TabdistillError

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "gelu": jax.nn.gelu,
    "elu": jax.nn.elu,
    "identity": lambda z: z,
}

INITS = ("xavier-normal", "xavier-uniform", "kaiming-normal", "kaiming-uniform")

# The paper's three nets (Medvedev & D'yakonov, section 4):
# 2 -> 1; 2 -> 10 -> 1; 2 -> 10 -> 10 -> 10 -> 1.
NAMED = {
    "linear": ((), "identity"),
    "mlp2": ((10,), "relu"),
    "mlp4": ((10, 10, 10), "relu"),
}

_SPEC = re.compile(r"^mlp:(\d+)x(\d+)(?::([a-z]+))?$")


@dataclass(frozen=True)
class Architecture:
    """A fully connected net: ``hidden`` widths between input and output, one activation."""

    name: str
    hidden: tuple[int, ...]
    activation: str = "relu"

    def init(self, key: jax.Array, n_in: int, n_out: int, scheme: str = "xavier-normal", *,
             live: jax.Array | None = None):
        """Draws weights from ``scheme`` (biases zero) for an ``n_in -> n_out`` net.

        All layers' weights come from one draw of the key (then scaled per layer): one random
        number generator in the compiled program instead of one per layer, which compiles
        several times faster.

        With ``live`` (an integer, possibly traced), only the first ``live`` units of every
        hidden layer are drawn, at the scale of a net that ``live`` wide; the others start with
        zero weights in and out. As every activation of a random space maps 0 to 0, such a unit
        outputs 0, receives a zero gradient and so stays zero through any number of SGD steps:
        the net computes, trains and differentiates exactly like the ``live``-wide one.
        """
        sizes = (n_in, *self.hidden, n_out)
        fans = list(zip(sizes[:-1], sizes[1:], strict=True))
        unit = _unit(key, sum(a * b for a, b in fans), scheme)
        if live is not None:
            on = [jnp.ones(n_in)] + [jnp.arange(w) < live for w in self.hidden] + [jnp.ones(n_out)]
            widths = [n_in] + [live] * len(self.hidden) + [n_out]
        params, offset = [], 0
        for i, (fan_in, fan_out) in enumerate(fans):
            w = unit[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out)
            if live is None:
                w = w * _scale(fan_in, fan_out, scheme)
            else:
                scale = _scale(widths[i], widths[i + 1], scheme, sqrt=jnp.sqrt)
                w = w * scale.astype(w.dtype) * (on[i][:, None] * on[i + 1][None, :])
            params.append((w, jnp.zeros(fan_out, w.dtype)))
            offset += fan_in * fan_out
        return tuple(params)

    def apply(self, params, x: jax.Array) -> jax.Array:
        """Logits of one model for a batch ``x`` of shape ``[N, n_in]``."""
        act = ACTIVATIONS[self.activation]
        *hidden, (w_out, b_out) = params
        for w, b in hidden:
            x = act(x @ w + b)
        return x @ w_out + b_out

    def __str__(self) -> str:
        return self.name


def _unit(key, size: int, scheme: str) -> jax.Array:
    """``size`` draws of the scheme's shape at unit scale: N(0, 1) or U(-1, 1)."""
    if scheme.endswith("-normal") and scheme in INITS:
        return jax.random.normal(key, (size,))
    if scheme.endswith("-uniform") and scheme in INITS:
        return jax.random.uniform(key, (size,), minval=-1.0, maxval=1.0)
    raise TabdistillError(f"unknown init {scheme!r}; expected one of {', '.join(INITS)}")


def _scale(fan_in, fan_out, scheme: str, sqrt=np.sqrt):
    """The standard deviation (normal) or the limit (uniform) of a layer's weights (a float;
    an array with ``sqrt=jnp.sqrt``, for traced fans)."""
    fan = {"xavier": (fan_in + fan_out) / 2, "kaiming": fan_in / 2}[scheme.split("-")[0]]
    scale = sqrt((1.0 if scheme.endswith("-normal") else 3.0) / fan)
    return float(scale) if sqrt is np.sqrt else scale


def parse_arch(spec: str) -> Architecture:
    """Reads ``linear``, ``mlp2``, ``mlp4`` or ``mlp:WIDTHxLAYERS[:ACTIVATION]``."""
    spec = spec.strip().lower()
    if spec in NAMED:
        hidden, activation = NAMED[spec]
        return Architecture(spec, hidden, activation)
    match = _SPEC.match(spec)
    if match:
        width, layers, activation = int(match[1]), int(match[2]), match[3] or "relu"
        if width < 1:
            raise TabdistillError(f"architecture {spec!r} has width 0; expected at least 1")
        if activation not in ACTIVATIONS:
            raise TabdistillError(
                f"unknown activation {activation!r} in {spec!r}; "
                f"expected one of {', '.join(ACTIVATIONS)}"
            )
        return Architecture(spec, (width,) * layers, activation)
    if spec.split(":")[0] == "random":
        raise TabdistillError(f"{spec!r} is a space of architectures, not one net; expected a net "
                              "to train, such as mlp2 or mlp:32x3:tanh")
    raise TabdistillError(
        f"unknown architecture {spec!r}; expected linear, mlp2, mlp4 or "
        "mlp:WIDTHxLAYERS[:ACTIVATION] such as mlp:32x3:tanh"
    )


def parse_archs(specs: str | list[str] | tuple) -> tuple[Architecture, ...]:
    """Reads a comma-separated list (or a sequence) of architecture specs."""
    if isinstance(specs, str):
        specs = [s for s in specs.split(",") if s.strip()]
    if not specs:
        raise TabdistillError("no architecture given; expected at least one, such as mlp2")
    return tuple(a if isinstance(a, Architecture) else parse_arch(a) for a in specs)


def n_outputs(n_classes: int) -> int:
    """One logit for two classes (the paper), one per class otherwise."""
    return 1 if n_classes == 2 else n_classes


def loss_fn(logits: jax.Array, targets: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    """Cross-entropy of logits ``[N, K]`` against targets ``[N, K]``, averaged (weighted) over N."""
    if logits.shape[-1] == 1:
        z, t = logits[..., 0], targets[..., 0]
        per_row = jax.nn.softplus(z) - t * z  # binary cross-entropy with logits
    else:
        per_row = -jnp.sum(targets * jax.nn.log_softmax(logits), axis=-1)
    if weights is None:
        return jnp.mean(per_row)
    return jnp.sum(per_row * weights) / jnp.sum(weights)


def predict_class(logits: jax.Array) -> jax.Array:
    """Class index from logits ``[N, K]``."""
    if logits.shape[-1] == 1:
        return (logits[..., 0] > 0).astype(jnp.int32)
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)


def one_hot_targets(y: jax.Array, n_classes: int) -> jax.Array:
    """Targets of width :func:`n_outputs` for integer labels ``y`` (a NumPy array for a NumPy
    ``y``: the same numbers without a small compilation)."""
    dtype = jnp.result_type(float)  # float32, or float64 when x64 is on
    if isinstance(y, np.ndarray):
        if n_classes == 2:
            return y[..., None].astype(dtype)
        return (y[..., None] == np.arange(n_classes)).astype(dtype)
    if n_classes == 2:
        return y[..., None].astype(dtype)
    return jax.nn.one_hot(y, n_classes, dtype=dtype)
