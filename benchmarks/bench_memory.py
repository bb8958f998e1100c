"""Peak memory of the two memory modes, ``store`` and ``checkpoint``, at n = 1000 inner steps.

Distils ``digits`` (64 features, 10 classes) for a wider net, ``mlp:64x4``, with n = 1000
inner steps (40 steps x 25 internal epochs), m = 3 models and one restart, in a fresh process
per mode, and reports:

* the compiled outer epoch's temporary buffers (XLA's own memory analysis), and
* the process's peak resident memory while running, above what it held once compiled
  (Linux: the peak is reset through ``/proc/self/clear_refs`` after compiling, because
  compiling itself briefly takes a few hundred MiB in either mode).

Both modes compute the same hypergradient; ``checkpoint`` keeps about sqrt(n) inner states
and recomputes the rest.

    python benchmarks/bench_memory.py [--arch mlp:64x4] [--data digits] [--steps 40 --epochs 25]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

TARGET_RATIO = 5.0


def measure(args) -> dict:
    """Runs in the child process: compile and run one outer epoch, report memory."""
    import time

    import jax
    import jax.numpy as jnp

    from tabdistill.config import DistillConfig
    from tabdistill.data import load_dataset
    from tabdistill.distill import Distiller_
    from tabdistill.models import one_hot_targets

    dataset = load_dataset(args.data)
    config = DistillConfig(arch=args.arch, steps=args.steps, epochs=args.epochs,
                           memory=args.memory, restarts=1, outer_epochs=1,
                           batch_size=args.batch_size)
    engine = Distiller_(config, dataset.n_features, dataset.n_classes)
    X = jnp.asarray(dataset.X_train)
    T = one_hot_targets(jnp.asarray(dataset.y_train), dataset.n_classes)
    state = engine.init_states(config.seed, [0])
    jax.block_until_ready(state)
    start = time.perf_counter()
    compiled = engine._run_epoch.lower(state, X, T, None).compile()
    compile_s = time.perf_counter() - start
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets the peak (VmHWM) to the current RSS
    before = _status_bytes("VmRSS")
    start = time.perf_counter()
    _, losses = compiled(state, X, T, None)
    jax.block_until_ready(losses)
    epoch_s = time.perf_counter() - start
    peak = _status_bytes("VmHWM")
    analysis = compiled.memory_analysis()
    return {
        "memory": args.memory,
        "n_inner": config.n_inner,
        "temp_bytes": int(analysis.temp_size_in_bytes),
        "peak_rss_bytes": int(peak),
        "run_rss_growth_bytes": int(peak - before),
        "compile_s": compile_s,
        "epoch_s": epoch_s,
        "outer_steps": int(losses.shape[-1]),
    }


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="mlp:64x4")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=400,
                        help="real objects per outer step; only sets how many outer steps "
                             "one epoch has (default 400)")
    parser.add_argument("--memory", help=argparse.SUPPRESS)  # set in the child process
    args = parser.parse_args()
    if args.memory:
        print(json.dumps(measure(args)))
        return

    rows = []
    for memory in ("store", "checkpoint"):
        child = subprocess.run(
            [sys.executable, __file__, "--arch", args.arch, "--data", args.data,
             "--steps", str(args.steps), "--epochs", str(args.epochs),
             "--batch-size", str(args.batch_size), "--memory", memory],
            check=True, capture_output=True, text=True,
        )
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))

    mib = 2**20
    store, checkpoint = rows
    print(f"{args.data}, {args.arch}, n = {store['n_inner']} inner steps, m = 3 models, "
          f"1 restart, one outer epoch ({store['outer_steps']} outer steps)")
    print()
    print("| memory mode | compiled temp buffers (MiB) | peak RSS growth while running (MiB) | "
          "peak RSS while running (MiB) | compile (s) | outer epoch (s) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['memory']} | {r['temp_bytes'] / mib:.1f} | "
              f"{r['run_rss_growth_bytes'] / mib:.0f} | {r['peak_rss_bytes'] / mib:.0f} | "
              f"{r['compile_s']:.1f} | {r['epoch_s']:.1f} |")
    print()
    temp_ratio = store["temp_bytes"] / checkpoint["temp_bytes"]
    rss_ratio = store["run_rss_growth_bytes"] / max(checkpoint["run_rss_growth_bytes"], 1)
    print(f"store / checkpoint: {temp_ratio:.1f}x compiled temp buffers, "
          f"{rss_ratio:.1f}x peak RSS growth while running "
          f"(target at least {TARGET_RATIO:.0f}x less memory)")


if __name__ == "__main__":
    main()
