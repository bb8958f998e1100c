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
slow forms; here every product has the layout XLA:CPU runs fastest.

On the CPU, the nets :func:`tabdistill.native.runs` covers (small ReLU nets, such as the
paper's on moons) take the same two passes compiled from C instead (``native/unroll.c``,
behind JAX's FFI), with the nets of a vmapped batch side by side in SIMD lanes: the same
numbers to rounding, up to two and a half times faster.

The step and its reverse, in the code's names (:func:`_backprop`, :func:`_reverse_step`)
----------------------------------------------------------------------------------------

One model of ``n = len(layers)`` layers on one batch of ``P`` objects. Per-object arrays are
transposed (objects along the last axis); ``[a; 1]`` is ``_with(a, 1)``, ``a`` with a row of
ones below it; ``W_i = layers[i][:, :-1]`` is layer ``i``'s weights without the bias column
(the model's ``W`` transposed); ``*`` is elementwise, ``@`` a matrix product; ``f`` the
activation, ``f'`` its ``slope``, ``f''`` its ``curvature``; widths ``w_0 = d`` (features),
..., ``w_n = K`` (outputs)::

    layers[i] = [W_i | b]                         [w_{i+1}, w_i + 1]
    acts[0] = xt                                  [d, P]
    zs[i]     = layers[i] @ [acts[i]; 1]          [w_{i+1}, P]   i < n - 1
    acts[i+1] = f(zs[i])                          [w_{i+1}, P]
    logits    = layers[n-1] @ [acts[n-1]; 1]      [K, P]
    loss      = mean over P of CE(logits, targets)        targets [K, P]

    deltas[n-1] = _head(logits, targets) = d loss / d logits          [K, P]
    es[i-1]     = W_i.T @ deltas[i]        (d loss / d acts[i])       [w_i, P]
    deltas[i-1] = es[i-1] * f'(zs[i-1])    (d loss / d zs[i-1])       [w_i, P]
    grads[i]    = deltas[i] @ [acts[i]; 1].T                          [w_{i+1}, w_i + 1]
    new layers[i] = layers[i] - lr * grads[i]

The reverse takes ``bar[i]`` (the cotangent of the new ``layers[i]``, like it) and gives the
cotangents of ``layers`` (``new_bar``), ``xt``, ``targets`` and ``lr``. The cotangent of
``grads[i]`` is ``-lr * bar[i]``, and with ``u_i = bar[i] @ [acts[i]; 1]`` ``[w_{i+1}, P]``,
``<grads[i], bar[i]> = <deltas[i], u_i>``. First the backward pass in reverse, layer 0 to
``n - 1`` (each ``delta_bar`` is complete once the layer before it is done)::

    lr_bar     = -sum_i sum over rows of deltas[i] * u_i          [P], summed over P later
    delta_bar  = -lr * u_i + W_i @ e_bar[i-1]   (second term for i > 0)   [w_{i+1}, P]
    e_bar[i]   = delta_bar * f'(zs[i])          (i < n - 1)       [w_{i+1}, P]
    s_bar[i]   = delta_bar * es[i]              (d / d f'(zs[i]), curved f only)

then ``(z_bar, t_bar)`` from ``_head``'s VJP at the last ``delta_bar`` (``z_bar`` the
cotangent of ``logits``, ``t_bar`` of ``targets``), and the forward pass in reverse, layer
``n - 1`` down to 0::

    z_bar     = a_bar * f'(zs[i]) + s_bar[i] * f''(zs[i])   (i < n - 1)   [w_{i+1}, P]
                (at i = n - 1, z_bar is _head's; a_bar is layer i + 1's, that of acts[i+1])
    new_bar[i] = bar[i] + z_bar @ [acts[i]; 1].T
                        + deltas[i] @ [e_bar[i-1]; 0].T     (i > 0)  [w_{i+1}, w_i + 1]
    a_bar     = (layers[i].T @ z_bar - lr * bar[i].T @ deltas[i])[:-1]   [w_i, P]

where ``a_bar`` is the cotangent of ``acts[i]``; after layer 0 it is that of ``xt``. The two
terms of ``new_bar[i]`` beyond ``bar[i]`` are ``-lr`` times the Hessian of the loss applied to
``bar``: the exact hypergradient, with no finite difference.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from . import native
from .models import ACTIVATIONS, Architecture

MEMORY_MODES = ("store", "checkpoint")

# ---- small matrix products in the layouts XLA:CPU runs fastest ----------------------------
#
# Inside the loop every per-object array is stored transposed, ``[features, P]``, and every
# weight matrix as ``[n_out, n_in]``: XLA:CPU's batched products are several times faster
# when the output's minor side is the batch of P = 8 objects (a SIMD vector) than when it is a
# layer width such as 10, and elementwise code over ``[n, 8]`` vectorises. Transposes are
# explicit, so that every product is a plain ``[M, K] @ [K, N]`` (XLA:CPU runs a product with
# a transposed operand several times slower). A product over at most ``short`` terms is
# written as a sum of broadcast products, which fuses with its neighbours: that wins for a
# model without hidden layers, whose whole step then fuses into a few kernels, and loses in
# deeper nets, where XLA would recompute the fused layer inside each consumer.


class _Products(NamedTuple):
    short: int  # contractions at most this long run elementwise

    def mm(self, a, b):
        """``a @ b`` for ``a [M, K]``, ``b [K, N]``."""
        if a.shape[1] <= self.short:
            return sum(a[:, i : i + 1] * b[i] for i in range(a.shape[1]))
        return a @ b


def _products(n_layers: int) -> _Products:
    return _Products(4 if n_layers == 1 else 0)


def _t(a):
    return jnp.swapaxes(a, 0, 1)


# ---- activations and the loss's first derivative ------------------------------------------

# Slope and curvature of activations that their output determines (None: 1 or 0).
_FROM_OUTPUT = {
    "relu": (lambda a: (a > 0).astype(a.dtype), None),
    "identity": (None, None),
    "tanh": (lambda a: 1 - a * a, lambda a: -2 * a * (1 - a * a)),
    "sigmoid": (lambda a: a * (1 - a), lambda a: a * (1 - a) * (1 - 2 * a)),
}


class _Act(NamedTuple):
    """An activation with its first and second derivatives."""

    name: str

    @property
    def fn(self):
        return ACTIVATIONS[self.name]

    @property
    def needs_z(self) -> bool:
        """Its derivatives need the pre-activation, not only the output."""
        return self.name not in _FROM_OUTPUT

    @property
    def curved(self) -> bool:
        """Its second derivative is not zero."""
        return self.needs_z or _FROM_OUTPUT[self.name][1] is not None

    def slope(self, z, a):
        """The derivative at ``z`` (whose image is ``a``); ``None`` when it is 1."""
        if self.name in _FROM_OUTPUT:
            f = _FROM_OUTPUT[self.name][0]
            return None if f is None else f(a)
        return _derivative(self.fn, z)

    def curvature(self, z, a):
        if self.name in _FROM_OUTPUT:
            return _FROM_OUTPUT[self.name][1](a)
        return _derivative(partial(_derivative, self.fn), z)


def _derivative(fn, z):
    """The derivative of an elementwise function at each entry of ``z``."""
    return jax.jvp(fn, (z,), (jnp.ones_like(z),))[1]


def _head(logits, targets):
    """d loss / d logits ``[K, P]`` for the mean cross-entropy over the P objects."""
    if logits.shape[0] == 1:  # binary cross-entropy with logits
        delta = jax.nn.sigmoid(logits) - targets
    else:  # softmax cross-entropy; targets need not sum to 1 when labels are learned
        delta = jax.nn.softmax(logits, 0) * jnp.sum(targets, 0, keepdims=True) - targets
    return delta / logits.shape[1]


# ---- one step: explicit backpropagation, and its explicit reverse --------------------------
#
# ``layers`` are ``Wa = [W.T | b]`` matrices ``[n_out, n_in + 1]`` (the bias folded in as a
# last column, which multiplies a constant row of ones); ``xt`` is the batch transposed,
# ``[d, P]``; targets are ``[K, P]``; every other array is ``[width, P]``.


class _Tape(NamedTuple):
    """What the reverse of one step needs besides its parameters, batch and lr."""

    acts: tuple  # the hidden activations (the inputs of layers 1...)
    zs: tuple  # hidden pre-activations (only for activations that need them)
    logits: jax.Array
    deltas: tuple  # d loss / d pre-activation of every layer
    es: tuple  # d loss / d hidden activation (only for curved activations)


def _with(a, value):
    """``a [n, P]`` with a last row of ``value``: [n + 1, P]."""
    return jnp.concatenate([a, jnp.full((1, a.shape[1]), value, a.dtype)])


def _backprop(act: _Act, layers, xt, targets):
    """The gradient (one matrix per layer, like ``layers``) of the mean loss on
    ``(xt, targets)``, and the step's tape."""
    mm = _products(len(layers)).mm
    acts, zs = [xt], []
    for wa in layers[:-1]:
        zs.append(mm(wa, _with(acts[-1], 1)))
        acts.append(act.fn(zs[-1]))
    logits = mm(layers[-1], _with(acts[-1], 1))
    delta = _head(logits, targets)
    n = len(layers)
    deltas, es, grads = [None] * n, [None] * (n - 1), [None] * n
    for i in reversed(range(n)):
        deltas[i] = delta
        grads[i] = mm(delta, _t(_with(acts[i], 1)))
        if i:
            es[i - 1] = e = mm(_t(layers[i])[:-1], delta)
            slope = act.slope(zs[i - 1], acts[i])
            delta = e if slope is None else e * slope
    tape = _Tape(tuple(acts[1:]), tuple(zs) if act.needs_z else (), logits, tuple(deltas),
                 tuple(es) if act.curved else ())
    return tuple(grads), tape


def _reverse_step(act: _Act, layers, xt, targets, lr, tape: _Tape, bar):
    """The reverse of ``p' = p - lr * g(p; x, t)``.

    From the cotangent ``bar`` of ``p'``: the cotangents of ``p`` (``bar`` plus the Hessian
    term), of ``xt``, of ``t`` and, per object, of ``lr``. The cotangent of ``g`` is
    ``-lr * bar``.
    """
    mm = _products(len(layers)).mm
    n = len(layers)
    acts = (xt, *tape.acts)
    zs = tape.zs or (None,) * (n - 1)
    slopes = [act.slope(zs[i], acts[i + 1]) for i in range(n - 1)]
    # Reverse of the backward pass, first layer to last: the cotangents of the deltas. With
    # u = bar[i] @ [a; 1], <grads[i], bar[i]> = <deltas[i], u> (see the module doc).
    e_bar, s_bar, lr_bar = [None] * (n - 1), [None] * (n - 1), 0.0
    for i in range(n):
        u = mm(bar[i], _with(acts[i], 1))
        lr_bar = lr_bar - jnp.sum(tape.deltas[i] * u, 0)  # per object; summed after the loop
        delta_bar = -lr * u
        if i:
            delta_bar = delta_bar + mm(layers[i], _with(e_bar[i - 1], 0))
        if i < n - 1:
            e_bar[i] = delta_bar if slopes[i] is None else delta_bar * slopes[i]
            if act.curved:
                s_bar[i] = delta_bar * tape.es[i]
    _, head_vjp = jax.vjp(_head, tape.logits, targets)
    z_bar, t_bar = head_vjp(delta_bar)
    # Reverse of the forward pass, last layer to first.
    new_bar, a_bar = [None] * n, None
    for i in reversed(range(n)):
        if i < n - 1:
            z_bar = a_bar if slopes[i] is None else a_bar * slopes[i]
            if act.curved:
                z_bar = z_bar + s_bar[i] * act.curvature(zs[i], acts[i + 1])
        wa_bar = mm(z_bar, _t(_with(acts[i], 1)))
        if i:
            wa_bar = wa_bar + mm(tape.deltas[i], _t(_with(e_bar[i - 1], 0)))
        new_bar[i] = bar[i] + wa_bar
        a_bar = (mm(_t(layers[i]), z_bar) - lr * mm(_t(bar[i]), tape.deltas[i]))[:-1]
    return tuple(new_bar), a_bar, t_bar, lr_bar


def _fold(params):
    """``(W, b)`` pairs to ``[W.T | b]`` matrices."""
    return tuple(jnp.concatenate([jnp.asarray(w).T, jnp.asarray(b)[:, None]], 1)
                 for w, b in params)


def _unfold(layers):
    return tuple((wa[:, :-1].T, wa[:, -1]) for wa in layers)


# ---- the unrolled loop --------------------------------------------------------------------
#
# Inside the loops each model is one flat vector (its layers' ``Wa`` raveled in order), so that
# a loop carries and stores one buffer per model instead of one per array.


def _pack(arrays) -> jax.Array:
    return jnp.concatenate([jnp.ravel(a) for a in arrays])


class _Layout(NamedTuple):
    """The static description of one model inside the loops."""

    act: _Act
    shapes: tuple  # (n_out, n_in + 1) per layer: the shapes of the Wa

    def params(self, flat):
        out, offset = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            out.append(flat[offset : offset + size].reshape(shape))
            offset += size
        return tuple(out)


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
    layers = _fold(params)
    layout = _Layout(_Act(arch.activation), tuple(wa.shape for wa in layers))
    flat, t_steps = _pack(layers), jnp.swapaxes(t_steps, 1, 2)
    if native.runs(arch, x_steps.shape[-1]) and native.enabled():
        widths = (layout.shapes[0][1] - 1, *(shape[0] for shape in layout.shapes))
        spec = native.spec(arch, n if memory == "store" else length, widths)
        dtype = flat.dtype
        flat = _unroll_native(spec, flat, x_steps.astype(dtype), t_steps.astype(dtype),
                              batch_index.astype(jnp.int32), lrs.astype(dtype))
    else:
        flat = _unroll(layout, memory, length, flat, x_steps, t_steps, batch_index, lrs)
    return _unfold(layout.params(flat))


def _run(layout: _Layout, flat, x_steps, t_steps, batch_index, lrs, keep: bool):
    """Scans the steps; with ``keep``, also returns each step's parameters and tape."""

    def step(p_flat, inputs):
        i, lr = inputs
        grads, tape = _backprop(layout.act, layout.params(p_flat), _t(x_steps[i]), t_steps[i])
        new = p_flat - lr * _pack(grads)
        return new, ((p_flat, tape) if keep else None)

    return lax.scan(step, flat, (batch_index, lrs))


def _reverse(layout: _Layout, kept, x_steps, t_steps, batch_index, lrs, bar):
    """Steps back through the steps whose parameters and tapes are ``kept``."""

    def back(bar, inputs):
        (p_flat, tape), i, lr = inputs
        new_bar, xt_bar, t_bar, lr_bar = _reverse_step(
            layout.act, layout.params(p_flat), _t(x_steps[i]), t_steps[i], lr, tape,
            layout.params(bar))
        return _pack(new_bar), (_t(xt_bar), t_bar, lr_bar)

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
        x_bar, t_bar, lr_bar = (v.reshape(-1, *v.shape[2:]) for v in (x_bar, t_bar, lr_bar))
        index = segments[0].reshape(-1)
        lr_bar = lr_bar[: lrs.shape[0]]
    lr_bar = jnp.sum(lr_bar, -1)
    x_bar = jnp.zeros_like(x_steps).at[index].add(x_bar)
    t_bar = jnp.zeros_like(t_steps).at[index].add(t_bar)
    return bar, x_bar, t_bar, None, lr_bar


_unroll.defvjp(_unroll_fwd, _unroll_bwd)


# ---- the same loop compiled from C (:mod:`tabdistill.native`), on the CPU ----------------


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def _unroll_native(spec, flat, x_steps, t_steps, batch_index, lrs):
    return native.run(spec, flat, x_steps, t_steps, batch_index, lrs)


def _unroll_native_fwd(spec, flat, x_steps, t_steps, batch_index, lrs):
    final = _unroll_native(spec, flat, x_steps, t_steps, batch_index, lrs)
    return final, (flat, x_steps, t_steps, batch_index, lrs)


def _unroll_native_bwd(spec, residuals, bar):
    flat_bar, x_bar, t_bar, lr_bar = native.reverse(spec, *residuals, bar)
    return flat_bar, x_bar, t_bar, None, lr_bar


_unroll_native.defvjp(_unroll_native_fwd, _unroll_native_bwd)
