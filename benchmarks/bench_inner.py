"""Times the inner loop and its reverse pass: XLA's (inner.py) against the C one (native/).

For each architecture and number of restarts: the gradient, with respect to the synthetic rows
and the lrs, of the loss of m = 3 nets per restart after n = 200 inner steps on moons-shaped
batches (40 batches of 8 rows, 2 features, one logit): the work of one outer step of the
paper's distillation. Prints the fastest of ``--repeats`` calls, compile excluded, for each
loop, and their ratio. The nets that tabdistill leaves to XLA (:func:`tabdistill.native.runs`:
wider than 16 units, or no hidden layer) are put on the C loop here, to show why. Run it
pinned to one core (``taskset -c 1``), as distillation runs.

    python benchmarks/bench_inner.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from tabdistill import inner, native
from tabdistill.models import parse_arch

CASES = [("mlp2", 1), ("mlp2", 10), ("mlp4", 1), ("mlp4", 5), ("mlp4", 10), ("linear", 10),
         ("mlp:16x3", 1), ("mlp:32x2", 1), ("mlp:64x4", 1), ("mlp:64x4", 3)]
MODELS, BATCHES, ROWS, FEATURES, STEPS = 3, 40, 8, 2, 200
RUNS = native.runs


def _any_relu_net(arch) -> bool:
    return arch.activation in ("relu", "identity")


def gradient(arch, restarts: int, loop: str):
    """The compiled gradient for one loop, and its arguments."""
    os.environ[native.ENV] = "on" if loop == "c" else "off"
    native.runs = _any_relu_net if loop == "c" else RUNS
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(restarts, BATCHES, ROWS, FEATURES)), jnp.float32)
    t = jnp.asarray(rng.integers(0, 2, size=(BATCHES, ROWS, 1)), jnp.float32)
    lrs = jnp.asarray(rng.uniform(0.01, 0.05, size=(restarts, STEPS)), jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(0), restarts * MODELS).reshape(restarts, MODELS, 2)
    params = jax.vmap(jax.vmap(lambda k: arch.init(k, FEATURES, 1)))(keys)
    xb = jnp.asarray(rng.normal(size=(64, FEATURES)), jnp.float32)
    index = jnp.arange(STEPS, dtype=jnp.int32) % BATCHES

    def loss(x, lrs, params):
        def one(p):
            trained = inner.unroll(arch, p, x, t, index, lrs)
            return jnp.mean(arch.apply(trained, xb) ** 2)
        return jnp.sum(jax.vmap(one)(params))

    return jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1)))), (x, lrs, params)


def fastest(f, args, repeats: int) -> float:
    jax.block_until_ready(f(*args))  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    if not native.available():
        raise SystemExit("the C loop does not build here (no C compiler?)")
    print(f"one outer step's gradient: m = {MODELS} nets per restart, n = {STEPS} inner steps, "
          f"batches of {ROWS} rows x {FEATURES} features; fastest of {args.repeats}, ms\n")
    print("| net | restarts | XLA loop (ms) | C loop (ms) | XLA / C |")
    print("|---|---|---|---|---|")
    for spec, restarts in CASES:
        arch = parse_arch(spec)
        note = "" if RUNS(arch) else " (tabdistill: XLA)"
        ms = {loop: 1e3 * fastest(*gradient(arch, restarts, loop), args.repeats)
              for loop in ("xla", "c")}
        print(f"| {spec}{note} | {restarts} | {ms['xla']:.2f} | {ms['c']:.2f} | "
              f"{ms['xla'] / ms['c']:.2f} |")


if __name__ == "__main__":
    main()
