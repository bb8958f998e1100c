"""Progress bars for long compiled loops, which report back once per chunk."""

from __future__ import annotations

import contextlib

from tqdm.auto import tqdm


@contextlib.contextmanager
def progress_bar(total: int, desc: str, *, disable: bool = False):
    """Yields a ``progress(done, total, loss)`` callback that drives a tqdm bar on stderr
    (none where ``TQDM_DISABLE=1``, as in Ray's workers)."""
    # Not disable=False: that would override the TQDM_DISABLE environment variable.
    off = {"disable": True} if disable else {}
    with tqdm(total=total, desc=desc, unit="epoch", leave=False, **off) as bar:

        def update(done: int, _total: int, loss: float) -> None:
            bar.update(done - bar.n)
            bar.set_postfix(loss=f"{loss:.4f}")

        yield update
