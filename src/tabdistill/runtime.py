"""The XLA CPU runtime settings that suit this workload, applied when tabdistill is imported.

Distillation runs thousands of tiny matrix products (10 x 11 by 11 x 8) per outer step. XLA:CPU
by default hands them to the YNNPACK library, which packs its operands on every call, and runs
them on a thread pool; for products this small both cost more than the arithmetic. With the
products compiled by XLA itself and run on one thread, the paper's 4-layer distillation runs
2.2x faster (measured in ``benchmarks/``). XLA's older loop emitters (not its MLIR fusion
emitters) compile these programs about 1 s faster per architecture, and run them as fast
(``mlp4``) or faster (``linear``, about 15%).

JAX reads ``XLA_FLAGS`` when it starts its CPU backend (at the first computation), so
tabdistill adds these flags when it is imported; set after that, they have no effect (and do no
harm). A flag already in ``XLA_FLAGS`` wins, and ``TABDISTILL_XLA_FLAGS=off`` leaves
``XLA_FLAGS`` alone. Worker processes inherit them.

XLA aborts the process on a flag it does not know, and the YNNPACK and emitter flags may go:
they are set only for the jaxlib versions where they are known to exist.
"""

from __future__ import annotations

import os
import re
from importlib import metadata

ENV = "TABDISTILL_XLA_FLAGS"
SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false"  # tiny products do not split well
NO_YNNPACK = "--xla_cpu_experimental_ynn_fusion_type="  # XLA compiles the products itself
LOOP_EMITTERS = "--xla_cpu_use_fusion_emitters=false"  # compiles faster, runs as fast or faster
YNNPACK_FLAG_JAXLIB = ((0, 10), (0, 12))  # [from, to): jaxlib versions that have both flags
_OFF = {"0", "off", "no", "none", "false"}
# Per program, for those that train nets (the outer epoch, fresh nets on a set): LLVM's level 2
# rather than XLA's 3 compiles them a quarter to a third faster and they run as fast, measured on
# nets of both inner loops (benchmarks/README.md, section 5.2). Level 1 compiles faster still
# but rounds a lone restart unlike the same restart beside others, which --first-restart must
# not see.
COMPILER_OPTIONS = {"xla_backend_optimization_level": 2}
# XLA (jaxlib 0.10) with both SINGLE_THREAD and NO_YNNPACK aborts the process while compiling
# some small products (std::bad_alloc after growing to all memory): [20 or 21, 15] @ [15, 12..15]
# among the shapes scanned, as kip meets on a table of 15 features at 10 rows per class of two
# classes. Eigen's threaded products do not take that path. Programs whose products do not
# decide the speed compile with this; the hot ones keep the flags, which run them 1.3-2x faster
# (benchmarks/bench_inner.py, XLA loop).
SAFE_PRODUCTS = {"xla_cpu_multi_thread_eigen": True}


def fast_cpu_flags() -> tuple[str, ...]:
    """The flags for the installed jaxlib."""
    try:
        version = tuple(int(v) for v in re.findall(r"\d+", metadata.version("jaxlib"))[:2])
    except metadata.PackageNotFoundError:
        version = ()
    first, end = YNNPACK_FLAG_JAXLIB
    if first <= version < end:
        return (SINGLE_THREAD, NO_YNNPACK, LOOP_EMITTERS)
    return (SINGLE_THREAD,)


def use_fast_cpu_flags() -> None:
    """Adds :func:`fast_cpu_flags` to ``XLA_FLAGS`` (those the user has not set), unless
    turned off."""
    if os.environ.get(ENV, "").strip().lower() in _OFF:
        return
    current = os.environ.get("XLA_FLAGS", "")
    missing = [flag for flag in fast_cpu_flags() if flag.split("=")[0] not in current]
    if missing:
        os.environ["XLA_FLAGS"] = " ".join([current, *missing]).strip()


use_fast_cpu_flags()
