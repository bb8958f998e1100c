"""A persistent cache of compiled programs for the command line.

Compiling the outer epoch takes XLA a few seconds per architecture; with the cache, a later run
with the same shapes and settings loads the compiled program instead. The command line turns it
on (``TABDISTILL_COMPILE_CACHE`` = a directory, or ``off``; default
``$XDG_CACHE_HOME/tabdistill/xla``); the library leaves the choice to its caller, through JAX's
own ``jax_compilation_cache_dir``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "TABDISTILL_COMPILE_CACHE"
_OFF = {"", "0", "off", "no", "none", "false"}


def cache_dir() -> Path | None:
    """Where compiled programs are kept; ``None`` when the cache is off."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tabdistill" / "xla"


def enable() -> Path | None:
    """Turns the cache on for this process and the worker processes it starts.

    A directory the user gave JAX itself (``JAX_COMPILATION_CACHE_DIR``) wins.
    """
    path = os.environ.get("JAX_COMPILATION_CACHE_DIR") or cache_dir()
    if path is None:
        return None
    import jax

    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(path)  # spawned workers inherit it
    jax.config.update("jax_compilation_cache_dir", str(path))
    return Path(path)
