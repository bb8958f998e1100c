"""The XLA CPU runtime settings that suit this workload, applied when tabdistill is imported.

Distillation runs thousands of tiny matrix products (10 x 11 by 11 x 8) per outer step. XLA:CPU
by default hands them to the YNNPACK library, which packs its operands on every call, and runs
them on a thread pool; for products this small both cost more than the arithmetic. With the
products compiled by XLA itself and run on one thread, the paper's 4-layer distillation runs
2.2x faster (measured in ``benchmarks/``).

JAX reads ``XLA_FLAGS`` when it starts its CPU backend (at the first computation), so
tabdistill adds these flags when it is imported; set after that, they have no effect (and do no
harm). A flag already in ``XLA_FLAGS`` wins, and ``TABDISTILL_XLA_FLAGS=off`` leaves
``XLA_FLAGS`` alone. Worker processes inherit them.
"""

from __future__ import annotations

import os

ENV = "TABDISTILL_XLA_FLAGS"
FLAGS = (
    "--xla_cpu_experimental_ynn_fusion_type=",  # no YNNPACK fusions: XLA compiles the products
    "--xla_cpu_multi_thread_eigen=false",  # one thread: tiny products do not split well
)
_OFF = {"0", "off", "no", "none", "false"}


def use_fast_cpu_flags() -> None:
    """Adds :data:`FLAGS` to ``XLA_FLAGS`` (those the user has not set), unless turned off."""
    if os.environ.get(ENV, "").strip().lower() in _OFF:
        return
    current = os.environ.get("XLA_FLAGS", "")
    missing = [flag for flag in FLAGS if flag.split("=")[0] not in current]
    if missing:
        os.environ["XLA_FLAGS"] = " ".join([current, *missing]).strip()


use_fast_cpu_flags()
