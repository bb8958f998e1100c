"""``tabdistill reproduce``: every experiment, table and figure of the paper, in one report.

:func:`reproduce` runs the study described by :class:`Settings` (the paper's settings by
default) and writes ``tables/``, ``figures/``, ``report.md``, ``report.html`` and
``results.json``; :func:`render` redraws them from ``results.json`` alone.
"""

from .run import render, reproduce
from .settings import Settings

__all__ = ["Settings", "render", "reproduce"]
