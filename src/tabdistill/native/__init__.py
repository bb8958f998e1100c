"""The inner loop compiled from C for the CPU (``unroll.c``), behind JAX's FFI.

:mod:`tabdistill.inner` trains each internal net through the unrolled inner steps and steps
back through them; on the CPU it hands both to the two handlers of ``unroll.c``, which run
4 or 8 nets side by side, one per SIMD lane, where XLA runs one net's tiny matrix products one
kernel at a time. The arithmetic is inner.py's, line for line (the tests hold the two to each
other in float64), so results agree to rounding. It covers the nets where it pays
(:func:`runs`): hidden layers of ReLU (or identity) units, no layer with more than 16 inputs,
such as the paper's ``mlp2`` and ``mlp4`` on moons.

The library is built the first time a process needs it, with the system's C compiler, into
``$XDG_CACHE_HOME/tabdistill/native`` (one file per source, compiler, jaxlib and CPU), and
loaded from there afterwards. Without a C compiler, on another backend than the CPU, or with
``TABDISTILL_NATIVE=off``, tabdistill runs inner.py's JAX version instead: the same numbers
to rounding, slower.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from importlib import metadata, resources
from pathlib import Path

import jax
import numpy as np

ENV = "TABDISTILL_NATIVE"
# The nets it runs: hidden layers of ReLU or identity units (a piecewise-linear activation
# needs no curvature terms), no layer taking more than this many inputs. With more, a few nets
# (one restart: 3) run as fast or faster in XLA, whose products use the batch's rows as SIMD
# lanes; smooth activations and nets with no hidden layer too (benchmarks/README.md).
MAX_FAN_IN = 16
MAX_LAYERS = 64  # unroll.c's
FLAGS = ("-O2", "-march=native", "-shared", "-fPIC", "-std=gnu11", "-Werror")
_OFF = {"0", "off", "no", "none", "false"}
_turned_off = contextvars.ContextVar("tabdistill_native_off", default=False)
_TARGETS = ("tabdistill_run", "tabdistill_reverse")


def enabled() -> bool:
    """Whether the compiled inner loop runs here: on a CPU backend, when it builds, unless
    turned off."""
    if _turned_off.get() or os.environ.get(ENV, "").strip().lower() in _OFF:
        return False
    return jax.default_backend() == "cpu" and available()


@contextlib.contextmanager
def turned_off():
    """Programs traced inside use the JAX loop (whose memory XLA's analysis sees)."""
    token = _turned_off.set(True)
    try:
        yield
    finally:
        _turned_off.reset(token)


def available() -> bool:
    """Whether the library builds here (whatever ``TABDISTILL_NATIVE`` says)."""
    return _library() is not None


@functools.cache
def _library() -> ctypes.CDLL | None:
    """Builds (once per machine), loads and registers the handlers; the library (kept here
    for as long as XLA may call it), or ``None`` when it cannot be built."""
    try:
        lib = ctypes.CDLL(str(_build()))
    except (OSError, subprocess.SubprocessError):
        return None
    for name in _TARGETS:
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, name)), platform="cpu")
    return lib


def _cpu() -> str:
    """What ``-march=native`` compiles for: the CPU's model and feature flags."""
    try:
        info = Path("/proc/cpuinfo").read_text()
        return "".join(line for line in info.splitlines()[:30]
                       if line.startswith(("model name", "flags")))
    except OSError:
        return platform.processor() + platform.machine()


def _build() -> Path:
    source = resources.files(__package__).joinpath("unroll.c").read_bytes()
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise OSError("no C compiler")
    key = hashlib.sha256(b"\0".join([source, " ".join(FLAGS).encode(), compiler.encode(),
                                     metadata.version("jaxlib").encode(), _cpu().encode()]))
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "tabdistill" / "native" / f"unroll-{key.hexdigest()[:16]}.so"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        src = Path(tmp) / "unroll.c"  # the file includes itself, by name
        src.write_bytes(source)
        out = Path(tmp) / path.name
        subprocess.run([compiler, *FLAGS, "-I", jax.ffi.include_dir(), str(src), "-o", str(out),
                        "-lm"], check=True, capture_output=True, timeout=120)
        os.replace(out, path)  # atomic: processes building side by side each get a whole file
    return path


def runs(arch, n_features: int) -> bool:
    """Whether the C loop runs this net on rows of ``n_features``."""
    return (arch.activation in ("relu", "identity") and 0 < len(arch.hidden) < MAX_LAYERS
            and max(n_features, *arch.hidden) <= MAX_FAN_IN)


def spec(arch, segment: int, widths) -> tuple[int, ...]:
    """The handlers' one attribute: ReLU or not, steps per segment, layers, widths."""
    return (int(arch.activation == "relu"), segment, len(widths) - 1, *widths)


# Under vmap the handlers see every input with the batch's leading dims ("broadcast_all"):
# one call for all the nets, which is what fills the lanes.


def run(spec_, flat, x, t, index, lrs):
    """The parameters after the steps (``unroll.c``'s ``tabdistill_run``)."""
    call = jax.ffi.ffi_call("tabdistill_run", jax.ShapeDtypeStruct(flat.shape, flat.dtype),
                            vmap_method="broadcast_all")
    return call(flat, x, t, index, lrs, spec=np.array(spec_, np.int64))


def reverse(spec_, flat, x, t, index, lrs, bar):
    """The cotangents of ``flat, x, t, lrs`` from that of the final parameters."""
    shapes = [jax.ShapeDtypeStruct(a.shape, flat.dtype) for a in (flat, x, t, lrs)]
    call = jax.ffi.ffi_call("tabdistill_reverse", shapes, vmap_method="broadcast_all")
    return call(flat, x, t, index, lrs, bar, spec=np.array(spec_, np.int64))
