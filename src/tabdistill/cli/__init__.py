"""The ``tabdistill`` command line: one module per command, each with ``add_parser(sub)``
registering its options and a ``run(args)`` doing the work; shared options live in
:mod:`.options`, which imports no command.

Every user error is one line on stderr and exit code 2 (3 for a run that diverged); no
traceback, no half-written output.
"""

from __future__ import annotations

import argparse
import signal
import sys
import warnings

from .. import compile_cache
from ..errors import DivergedError, TabdistillError
from . import compare, distill, evaluate, export, upgrade


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line too (exit code 2), like every other user error. Options
    are whole words: an abbreviation would take ``compare --out DIR`` for ``--outer-epochs``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    # Imported here: both import .options, and so this package, when loaded on their own.
    from ..bench import cli as bench
    from ..reproduce import cli as reproduce

    parser = _Parser(
        prog="tabdistill",
        description="Dataset distillation for tabular data: learn a small synthetic training "
                    "set and a learning rate for each training step.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (distill, evaluate, reproduce, upgrade, export, compare, bench):
        command.add_parser(sub)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _warnings_note(caught: list) -> None:
    """Libraries' warnings, which a command has not turned into a note of its own, as one
    ``note:`` line instead of their multi-line reports."""
    if not caught:
        return
    first = caught[0]
    text = str(first.message).strip().splitlines()[0] if str(first.message).strip() else ""
    more = f" and {len(caught) - 1} more" if len(caught) > 1 else ""
    print(f"note: a library warned: {first.category.__name__}: {text}{more}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    compile_cache.enable()
    # `kill` and job schedulers stop a run as Ctrl-C does: finished work is saved to resume.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with warnings.catch_warnings(record=True) as caught:
            code = args.run(args)
        _warnings_note(caught)
        return code
    except DivergedError as err:
        print(f"tabdistill: error: {err}", file=sys.stderr)
        return 3
    except TabdistillError as err:
        print(f"tabdistill: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a write that no command wrapped (each should): still one line
        print(f"tabdistill: error: cannot write {err.filename or 'a file'} "
              f"({err.strerror or type(err).__name__})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tabdistill: interrupted; nothing was written", file=sys.stderr)
        return 130


__all__ = ["build_parser", "main"]
