"""Times the inner loop and its reverse pass: XLA's (inner.py) against the C one (native/).

For each architecture and number of restarts: the gradient, with respect to the synthetic rows
and the lrs, of the loss of m = 3 nets per restart after n = 200 inner steps on moons-shaped
batches (40 batches of 8 rows, 2 features, one logit): the work of one outer step of the
paper's distillation. Prints the fastest of ``--repeats`` calls, compile excluded, for each
loop, and their ratio. The nets that tabdistill leaves to XLA (:func:`tabdistill.native.runs`:
a layer with more than 16 inputs, or no hidden layer) are put on the C loop here, to show why.
Run it pinned to one core (``taskset -c 1``), as distillation runs.

    python benchmarks/bench_inner.py [--repeats 10] [--cases mlp4@10,mlp:32x2@1] [--shape 2,2,8]
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
         ("mlp:16x3", 1), ("mlp:32x3", 1), ("mlp:32x3", 10), ("mlp:64x2", 1), ("mlp:64x4", 1),
         ("mlp:64x4", 3), ("mlp:128x2", 1)]
MODELS, BATCHES, STEPS = 3, 40, 200
RUNS = native.runs


def _any_relu_net(arch, n_features: int) -> bool:
    return arch.activation in ("relu", "identity")


def gradient(arch, restarts: int, loop: str, features: int, classes: int, rows: int):
    """The compiled gradient for one loop, and its arguments."""
    os.environ[native.ENV] = "on" if loop == "c" else "off"
    native.runs = _any_relu_net if loop == "c" else RUNS
    rng = np.random.default_rng(0)
    outputs = 1 if classes == 2 else classes
    x = jnp.asarray(rng.normal(size=(restarts, BATCHES, rows, features)), jnp.float32)
    t = jnp.asarray(rng.uniform(size=(BATCHES, rows, outputs)), jnp.float32)
    lrs = jnp.asarray(rng.uniform(0.01, 0.05, size=(restarts, STEPS)), jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(0), restarts * MODELS).reshape(restarts, MODELS, 2)
    params = jax.vmap(jax.vmap(lambda k: arch.init(k, features, outputs)))(keys)
    xb = jnp.asarray(rng.normal(size=(64, features)), jnp.float32)
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
    parser.add_argument("--shape", default="2,2,8", metavar="FEATURES,CLASSES,ROWS",
                        help="features, classes and rows per synthetic batch (default: moons')")
    parser.add_argument("--cases", type=lambda v: [(c.split("@")[0], int(c.split("@")[1]))
                                                   for c in v.split(",")],
                        default=CASES, help="NET@RESTARTS,... (default: the table's)")
    args = parser.parse_args()
    features, classes, rows = (int(v) for v in args.shape.split(","))
    if not native.available():
        raise SystemExit("the C loop does not build here (no C compiler?)")
    print(f"one outer step's gradient: m = {MODELS} nets per restart, n = {STEPS} inner steps, "
          f"batches of {rows} rows x {features} features, {classes} classes; fastest of "
          f"{args.repeats}, ms\n")
    print("| net | restarts | XLA loop (ms) | C loop (ms) | XLA / C |")
    print("|---|---|---|---|---|")
    for spec, restarts in args.cases:
        arch = parse_arch(spec)
        note = "" if RUNS(arch, features) else " (tabdistill: XLA)"
        ms = {loop: 1e3 * fastest(*gradient(arch, restarts, loop, features, classes, rows),
                                  args.repeats)
              for loop in ("xla", "c")}
        print(f"| {spec}{note} | {restarts} | {ms['xla']:.2f} | {ms['c']:.2f} | "
              f"{ms['xla'] / ms['c']:.2f} |")


if __name__ == "__main__":
    main()
