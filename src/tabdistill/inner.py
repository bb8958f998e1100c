"""The inner loop: plain SGD on synthetic batches, unrolled so that it can be differentiated.

Step ``k`` takes synthetic batch ``batch_index[k]`` with learning rate ``lrs[k]`` (the paper's
equation 2, with ``batch_index[k] = k mod s`` during distillation). Two memory modes give the
same numbers:

* ``store`` keeps every inner state (with the step's activations) for the reverse pass (the
  paper's Algorithm 2);
* ``checkpoint`` keeps only the states at segment boundaries, about ``sqrt(n)`` of them, and
  recomputes each segment's states when the reverse pass reaches it (O(sqrt n) memory for one
  more forward pass).

Both the inner gradient and the reverse pass are written out by hand (:func:`unroll` has a
custom VJP): the step ``p' = p - lr * g(p; x, t)`` is an explicit backpropagation, and its
reverse is the explicit reverse of that backpropagation, the exact hypergradient. Automatic
differentiation of ``jax.grad`` inside ``lax.scan`` gives the same numbers through a compiled
loop body two to three times larger, whose tiny batched matrix products mostly land in XLA's
slow forms; here every product has the layout XLA:CPU runs fastest, products that share a
side are merged into one, and products with a side of 1 or 2 become fused elementwise code.
"""

from __future__ import annotations

import math
import os
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from .models import ACTIVATIONS, Architecture, loss_fn

MEMORY_MODES = ("store", "checkpoint")

# A product whose contraction is at most this long runs as a fused sum of broadcast products.
_SHORT = int(os.environ.get("SMALL", "2"))
_RED = int(os.environ.get("RED", "0"))  # free side at most this -> multiply + reduce
_MERGE = os.environ.get("MERGE", "1") == "1"


# ---- small matrix products in the layouts XLA:CPU runs fastest ----------------------------


def _nn(a, b):
    """``a @ b`` for ``a [P, K]``, ``b [K, N]``."""
    k, n = b.shape
    if k <= _SHORT:
        return sum(a[:, i : i + 1] * b[i] for i in range(k))
    if n <= _RED:
        return jnp.stack([jnp.sum(a * b[:, j], -1) for j in range(n)], -1)
    return a @ b


def _tn(a, b):
    """``a.T @ b`` for ``a [P, M]``, ``b [P, N]``: the contraction runs over rows."""
    p, m, n = a.shape[0], a.shape[1], b.shape[1]
    if p <= _SHORT:
        return sum(a[i, :, None] * b[i] for i in range(p))
    if n <= _RED:
        return jnp.stack([jnp.sum(a * b[:, j : j + 1], 0) for j in range(n)], -1)
    if m <= _RED:
        return jnp.stack([jnp.sum(a[:, i : i + 1] * b, 0) for i in range(m)])
    # An explicit transpose: XLA:CPU runs a plain product much faster than a transposed one.
    return jnp.swapaxes(a, 0, 1) @ b


def _nt(a, b):
    """``a @ b.T`` for ``a [P, N]``, ``b [M, N]``."""
    m, n = b.shape
    if n <= _SHORT:
        return sum(a[:, j : j + 1] * b[:, j] for j in range(n))
    if m <= _RED:
        return jnp.stack([jnp.sum(a * b[i], -1) for i in range(m)], -1)
    return a @ jnp.swapaxes(b, 0, 1)


def _fused(product, pairs, axis_a, axis_b):
    """``sum(product(a, b) for a, b in pairs)``, as one product of concatenations when big."""
    a, b = pairs[0]
    small = min(*a.shape[1:], *b.shape) <= max(_SHORT, _RED)
    if small or len(pairs) == 1 or not _MERGE:
        return sum(product(a, b) for a, b in pairs)
    return product(jnp.concatenate([a for a, _ in pairs], axis_a),
                   jnp.concatenate([b for _, b in pairs], axis_b))


_BARRIERS = os.environ.get("BAR", "1") == "1"


def _keep(x):
    """Materialises ``x`` once: stops XLA from recomputing it inside every consumer."""
    return lax.optimization_barrier(x) if _BARRIERS else x


# ---- activations and the loss's first derivative ------------------------------------------

_FROM_OUTPUT = {  # slope and curvature of activations that their output determines
    "relu": (lambda a: (a > 0).astype(a.dtype), None),
    "identity": (None, None),
    "tanh": (lambda a: 1 - a * a, lambda a: -2 * a * (1 - a * a)),
    "sigmoid": (lambda a: a * (1 - a), lambda a: a * (1 - a) * (1 - 2 * a)),
}


class _Act(NamedTuple):
    """An activation with its first and second derivatives (``None`` when 1 or 0)."""

    fn: callable
    needs_z: bool  # its derivatives need the pre-activation, not only the output
    curved: bool  # nonzero second derivative

    def slope(self, z, a, name):
        if name in _FROM_OUTPUT:
            f = _FROM_OUTPUT[name][0]
            return None if f is None else f(a)
        return jax.jvp(self.fn, (z,), (jnp.ones_like(z),))[1]

    def curvature(self, z, a, name):
        if name in _FROM_OUTPUT:
            return _FROM_OUTPUT[name][1](a)
        slope = lambda u: jax.jvp(self.fn, (u,), (jnp.ones_like(u),))[1]  # noqa: E731
        return jax.jvp(slope, (z,), (jnp.ones_like(z),))[1]


def _act(name: str) -> _Act:
    known = _FROM_OUTPUT.get(name)
    return _Act(ACTIVATIONS[name], known is None, known is None or known[1] is not None)


def _head(logits, targets):
    """d loss / d logits for the mean cross-entropy over the batch rows."""
    if logits.shape[-1] == 1:  # binary cross-entropy with logits
        delta = jax.nn.sigmoid(logits) - targets
    else:  # softmax cross-entropy; targets need not sum to 1 when labels are learned
        delta = jax.nn.softmax(logits) * jnp.sum(targets, -1, keepdims=True) - targets
    return delta / logits.shape[0]


# ---- one step: explicit backpropagation, and its explicit reverse --------------------------


class _Tape(NamedTuple):
    """What the reverse of one step needs besides its parameters, batch and lr."""

    acts: tuple  # layer inputs after x: the hidden activations
    zs: tuple  # hidden pre-activations (only for activations that need them)
    logits: jax.Array
    deltas: tuple  # d loss / d pre-activation of every layer
    es: tuple  # d loss / d hidden activation (only for curved activations)
    grads: tuple  # the step's gradient, ``(G, gb)`` per layer


def _backprop(name: str, layers, x, targets):
    """The gradient of the mean loss of ``layers`` on ``(x, targets)``, and its tape."""
    act = _act(name)
    acts, zs = [x], []
    for w, b in layers[:-1]:
        z = _nn(acts[-1], w) + b
        zs.append(z)
        acts.append(_keep(act.fn(z)))
    w_out, b_out = layers[-1]
    logits = _nn(acts[-1], w_out) + b_out
    delta = _keep(_head(logits, targets))
    n = len(layers)
    deltas, es, grads = [None] * n, [None] * (n - 1), [None] * n
    for i in reversed(range(n)):
        deltas[i] = delta
        grads[i] = (_tn(acts[i], delta), jnp.sum(delta, 0))
        if i:
            es[i - 1] = e = _nt(delta, layers[i][0])
            slope = act.slope(zs[i - 1], acts[i], name)
            delta = _keep(e if slope is None else e * slope)
    tape = _Tape(tuple(acts[1:]), tuple(zs) if act.needs_z else (), logits, tuple(deltas),
                 tuple(es) if act.curved else (), tuple(grads))
    return tuple(grads), tape


def _reverse_step(name: str, layers, x, targets, lr, tape: _Tape, bar):
    """The reverse of ``p' = p - lr * g(p; x, t)``: from the cotangent ``bar`` of ``p'``, the
    cotangents of ``p`` (``bar`` plus the Hessian term), ``x`` and ``t``. (That of ``lr`` is
    ``-<g, bar>``.)"""
    act = _act(name)
    n = len(layers)
    acts = (x, *tape.acts)
    zs = tape.zs or (None,) * (n - 1)
    # The cotangent of the gradient g is -lr * bar.
    g_bar = [(-lr * wb, -lr * bb) for wb, bb in bar]
    # Reverse of the backward pass, first layer to last: the cotangents of the deltas.
    e_bar, s_bar, delta_bar = [None] * (n - 1), [None] * (n - 1), None
    slopes = [act.slope(zs[i], acts[i + 1], name) for i in range(n - 1)]
    for i in range(n):
        pairs = [(acts[i], g_bar[i][0])]
        if i:
            pairs.insert(0, (e_bar[i - 1], layers[i][0]))
        delta_bar = _keep(_fused(_nn, pairs, -1, 0) + g_bar[i][1])
        if i < n - 1:
            e_bar[i] = _keep(delta_bar if slopes[i] is None else delta_bar * slopes[i])
            if act.curved:
                s_bar[i] = delta_bar * tape.es[i]
    _, head_vjp = jax.vjp(_head, tape.logits, targets)
    z_bar, t_bar = head_vjp(delta_bar)
    z_bar = _keep(z_bar)
    # Reverse of the forward pass, last layer to first.
    new_bar = [None] * n
    for i in reversed(range(n)):
        if i < n - 1:
            z_bar = _keep(a_bar if slopes[i] is None else a_bar * slopes[i])
            if act.curved:
                z_bar = z_bar + s_bar[i] * act.curvature(zs[i], acts[i + 1], name)
        pairs = [(acts[i], z_bar)]
        if i:
            pairs.append((e_bar[i - 1], tape.deltas[i]))
        w_bar = _fused(_tn, pairs, 0, 0)
        new_bar[i] = (bar[i][0] + w_bar, bar[i][1] + jnp.sum(z_bar, 0))
        a_bar = _fused(_nt, [(tape.deltas[i], g_bar[i][0]), (z_bar, layers[i][0])], -1, -1)
    return tuple(new_bar), a_bar, t_bar


def sgd_step(arch: Architecture, params, x: jax.Array, targets: jax.Array, lr: jax.Array):
    """One plain gradient step of one model on one batch."""
    grads, _ = _backprop(arch.activation, params, x, targets)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads)


def reference_sgd_step(arch: Architecture, params, x, targets, lr):
    """:func:`sgd_step` through ``jax.grad`` (for tests)."""
    grads = jax.grad(lambda p: loss_fn(arch.apply(p, x), targets))(params)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads)


# ---- the unrolled loop --------------------------------------------------------------------
#
# Inside the loops each model is one flat vector (its layers' W and b, raveled in order) and
# each step's residuals are another, so that a loop carries one buffer and stores one slab per
# step instead of one per array.


def _pack(arrays) -> jax.Array:
    return jnp.concatenate([jnp.ravel(a) for a in arrays])


def _unpack(flat: jax.Array, shapes) -> list:
    out, offset = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return out


class _Layout(NamedTuple):
    """The static shapes of one model's flat parameters and of one step's flat residuals."""

    name: str  # the activation
    layers: tuple  # (n_in, n_out) per layer
    rows: int  # P, objects per batch
    store_tape: bool

    @property
    def param_shapes(self):
        return [s for n_in, n_out in self.layers for s in ((n_in, n_out), (n_out,))]

    @property
    def n_params(self):
        return sum(math.prod(s) for s in self.param_shapes)

    def params(self, flat):
        p = _unpack(flat, self.param_shapes)
        return tuple(zip(p[::2], p[1::2], strict=True))

    def tape_shapes(self):
        act = _act(self.name)
        hidden = [(self.rows, n_out) for _, n_out in self.layers[:-1]]
        logits = [(self.rows, self.layers[-1][1])]
        deltas = [(self.rows, n_out) for _, n_out in self.layers]
        return (hidden, hidden if act.needs_z else [], logits, deltas,
                hidden if act.curved else [])

    def pack_kept(self, p_flat, g_flat, tape: _Tape):
        if not self.store_tape:
            return p_flat
        return _pack([p_flat, g_flat, *tape.acts, *tape.zs, tape.logits, *tape.deltas,
                      *tape.es])

    def unpack_kept(self, kept, x, targets):
        """The parameters, the gradient and the tape of one step (recomputed if not kept)."""
        if not self.store_tape:
            p = self.params(kept)
            grads, tape = _backprop(self.name, p, x, targets)
            return p, tape._replace(grads=_pack(jax.tree.leaves(grads)))
        p_flat, g_flat = kept[: self.n_params], kept[self.n_params : 2 * self.n_params]
        groups = self.tape_shapes()
        pieces = _unpack(kept[2 * self.n_params :], [s for g in groups for s in g])
        split = []
        for g in groups:
            split.append(tuple(pieces[: len(g)]))
            pieces = pieces[len(g) :]
        acts, zs, (logits,), deltas, es = split
        return self.params(p_flat), _Tape(acts, zs, logits, deltas, es, g_flat)


def _layout(name, params, x_steps, store_tape) -> _Layout:
    layers = tuple(w.shape for w, _ in params)
    return _Layout(name, layers, x_steps.shape[1], store_tape)


_STORE_TAPE = os.environ.get("TAPE", "1") == "1"


def unroll(
    arch: Architecture,
    params,
    x_steps: jax.Array,
    t_steps: jax.Array,
    batch_index: jax.Array,
    lrs: jax.Array,
    *,
    memory: str = "store",
    segment: int | None = None,
):
    """Trains one model through ``len(lrs)`` steps and returns its final parameters.

    Differentiable (reverse mode) with respect to ``params``, ``x_steps``, ``t_steps`` and
    ``lrs``.

    Args:
      arch: the architecture of ``params``.
      params: initial parameters.
      x_steps: synthetic objects, ``[s, P, d]`` (``s`` batches of ``P`` objects).
      t_steps: their targets, ``[s, P, K]``.
      batch_index: ``[n]`` integers, which batch each step takes.
      lrs: ``[n]`` learning rates.
      memory: ``store`` or ``checkpoint`` (see the module docstring).
      segment: steps per checkpointed segment; ``ceil(sqrt(n))`` by default.
    """
    if memory not in MEMORY_MODES:
        raise ValueError(f"unknown memory mode {memory!r}; expected one of {MEMORY_MODES}")
    n = lrs.shape[0]
    length = min(n, segment or max(1, math.ceil(math.sqrt(n))))
    params = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params)
    layout = _layout(arch.activation, params, x_steps, _STORE_TAPE)
    flat = _unroll(layout, memory, length, _pack(jax.tree.leaves(params)), x_steps, t_steps,
                   batch_index, lrs)
    return layout.params(flat)


def _run(layout: _Layout, flat, x_steps, t_steps, batch_index, lrs, keep: bool):
    """Scans the steps; with ``keep``, also returns what each step's reverse needs."""

    def step(p_flat, inputs):
        i, lr = inputs
        grads, tape = _backprop(layout.name, layout.params(p_flat), x_steps[i], t_steps[i])
        g_flat = _pack(jax.tree.leaves(grads))
        kept = layout.pack_kept(p_flat, g_flat, tape) if keep else None
        return p_flat - lr * g_flat, kept

    return lax.scan(step, flat, (batch_index, lrs))


def _reverse(layout: _Layout, kept, x_steps, t_steps, batch_index, lrs, bar):
    """Steps back through the steps whose residuals are ``kept``."""

    def back(bar, inputs):
        kept, i, lr = inputs
        x, t = x_steps[i], t_steps[i]
        p, tape = layout.unpack_kept(kept, x, t)
        new_bar, x_bar, t_bar = _reverse_step(layout.name, p, x, t, lr, tape,
                                              layout.params(bar))
        lr_bar = -jnp.vdot(tape.grads, bar)
        return _pack(jax.tree.leaves(new_bar)), (x_bar, t_bar, lr_bar)

    return lax.scan(back, bar, (kept, batch_index, lrs), reverse=True)


def _pad(batch_index, lrs, length: int):
    """Pads the steps to whole segments; padded steps have lr 0 and change nothing."""
    pad = -lrs.shape[0] % length
    batch_index = jnp.concatenate([batch_index, jnp.zeros(pad, batch_index.dtype)])
    lrs = jnp.concatenate([lrs, jnp.zeros(pad, lrs.dtype)])
    return batch_index.reshape(-1, length), lrs.reshape(-1, length)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _unroll(layout, memory, length, flat, x_steps, t_steps, batch_index, lrs):
    return _run(layout, flat, x_steps, t_steps, batch_index, lrs, keep=False)[0]


def _unroll_fwd(layout, memory, length, flat, x_steps, t_steps, batch_index, lrs):
    if memory == "store":
        final, kept = _run(layout, flat, x_steps, t_steps, batch_index, lrs, keep=True)
    else:
        def segment(p, seg):
            return _run(layout, p, x_steps, t_steps, *seg, keep=False)[0], p

        final, kept = lax.scan(segment, flat, _pad(batch_index, lrs, length))
    return final, (kept, x_steps, t_steps, batch_index, lrs)


def _unroll_bwd(layout, memory, length, residuals, bar):
    kept, x_steps, t_steps, batch_index, lrs = residuals
    if memory == "store":
        bar, (x_bar, t_bar, lr_bar) = _reverse(layout, kept, x_steps, t_steps, batch_index,
                                               lrs, bar)
        index = batch_index
    else:
        segments = _pad(batch_index, lrs, length)

        def segment(bar, inputs):
            start, (seg_index, seg_lrs) = inputs
            _, seg_kept = _run(layout, start, x_steps, t_steps, seg_index, seg_lrs, keep=True)
            return _reverse(layout, seg_kept, x_steps, t_steps, seg_index, seg_lrs, bar)

        bar, (x_bar, t_bar, lr_bar) = lax.scan(segment, bar, (kept, segments), reverse=True)
        x_bar, t_bar = (v.reshape(-1, *v.shape[2:]) for v in (x_bar, t_bar))
        index = segments[0].reshape(-1)
        lr_bar = lr_bar.reshape(-1)[: lrs.shape[0]]
    x_bar = jnp.zeros_like(x_steps).at[index].add(x_bar)
    t_bar = jnp.zeros_like(t_steps).at[index].add(t_bar)
    return bar, x_bar, t_bar, None, lr_bar


_unroll.defvjp(_unroll_fwd, _unroll_bwd)
