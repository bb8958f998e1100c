"""The ``reproduce`` command: a thin view of :class:`Settings`."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from ..cli.options import (
    DefaultsHelpFormatter,
    add_executor_options,
    executor_from,
    positive_int,
    positive_ints,
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce", help="run every experiment of the paper and write a report",
        description="Reproduce the paper: full-data baselines, hyper-parameter sweeps, "
                    "distillation for each net, the strategies for training longer, "
                    "multi-architecture distillation and the cost against n. Writes "
                    "tables/, figures/, report.md, report.html and results.json into --out; "
                    "finished experiments are cached there (keyed by their settings) and "
                    "reused by the next run.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--quick", action="store_true",
                   help="every part at reduced sizes (a few minutes): for CI and a first look")
    p.add_argument("--out", default="results", metavar="DIR", help="output directory")
    p.add_argument("--force", action="store_true",
                   help="recompute every experiment instead of reusing the cache")
    add_executor_options(p, "independent experiments", local_default=None)
    p.add_argument("--restarts", type=positive_int, default=None,
                   help="distillation restarts per net (default: 10, the paper's)")
    p.add_argument("--outer-epochs", type=positive_int, default=None,
                   help="outer epochs of every distillation (default: 50)")
    p.add_argument("--eval-inits", type=positive_int, default=None,
                   help="fresh nets trained per restart on distilled data (default: 10)")
    p.add_argument("--baseline-inits", type=positive_int, default=None,
                   help="full-data inits per net (default: 25)")
    p.add_argument("--baseline-epochs", type=positive_int, default=None,
                   help="full-data epochs (default: 500)")
    p.add_argument("--gamma2", type=float, default=None,
                   help="lr decay per pass of strategy 2 (default: 0.98, the paper's text; the "
                        "authors' code used 0.9)")
    p.add_argument("--gamma3", type=float, default=None,
                   help="lr decay per extra pass of strategy 3 (default: 0.98, the paper's text)")
    p.add_argument("--beta1", type=float, default=None,
                   help="Adam's first-moment decay of every distillation (default: 0.5)")
    p.add_argument("--beta2", type=float, default=None,
                   help="Adam's second-moment decay of every distillation (default: 0.999)")
    p.add_argument("--sweep-restarts", type=positive_int, default=None,
                   help="restarts at each point of the figure 4 sweeps (default: 5)")
    p.add_argument("--complexity-ns", type=positive_ints, default=None, metavar="N,N,...",
                   help="values of n for the cost measurement")
    p.add_argument("--seed", type=int, default=None, help="seed of the distillations")
    p.add_argument("--settings", metavar="JSON",
                   help="further overrides of Settings as a JSON object, e.g. "
                        "'{\"sweep_arch\": \"mlp4\"}'")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run_reproduce)


def settings_from(args):
    """The :class:`Settings` the options describe (quick first, then each override)."""
    from ..errors import TabdistillError
    from .settings import Settings

    s = Settings()
    s = s.with_quick() if args.quick else s
    d, b, st = {}, {}, {}
    for name in ("beta1", "beta2"):
        if getattr(args, name) is not None:
            d[name] = getattr(args, name)
    for name in ("gamma2", "gamma3"):
        if getattr(args, name) is not None:
            st[name] = getattr(args, name)
    if args.restarts is not None:
        d["restarts"] = args.restarts
    if args.outer_epochs is not None:
        d["outer_epochs"] = args.outer_epochs
    if args.seed is not None:
        d["seed"] = args.seed
    if args.baseline_inits is not None:
        b["inits"] = args.baseline_inits
    if args.baseline_epochs is not None:
        b["epochs"] = args.baseline_epochs
    top = {}
    for name in ("eval_inits", "sweep_restarts", "complexity_ns"):
        if getattr(args, name) is not None:
            top[name] = getattr(args, name)
    if args.settings:
        try:
            extra = json.loads(args.settings)
            if not isinstance(extra, dict):
                raise ValueError("not an object")
        except ValueError as err:
            raise TabdistillError(f"--settings is not a JSON object ({err})") from None
        unknown = sorted(set(extra) - set(s.as_dict()))
        if unknown:
            raise TabdistillError(f"unknown setting {unknown[0]!r}; expected one of "
                                  f"{', '.join(s.as_dict())}")
        d.update(extra.pop("distill", {}))
        b.update(extra.pop("baseline", {}))
        st.update(extra.pop("strategy", {}))
        top.update({k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()})
    try:
        strategy = dataclasses.replace(s.strategy, **st)
    except TypeError as err:
        raise TabdistillError(f"--settings: strategy: {err}") from None
    s = s.replace(distill=s.distill.replace(**d).validate(), baseline=s.baseline.replace(**b),
                  strategy=strategy, **top)
    return s


def run_reproduce(args) -> int:
    from ..io import check_output, writing
    from .report import format_row
    from .run import reproduce

    settings = settings_from(args)
    check_output(args.out, directory=True)  # before the work, not after it
    start = time.perf_counter()
    with writing(args.out), executor_from(args) as executor:
        results = reproduce(settings, args.out, executor=executor, force=args.force,
                            progress=not args.quiet)
    out = Path(args.out)
    print(f"reproduced the paper{' (quick run)' if settings.quick else ''} in "
          f"{time.perf_counter() - start:.0f} s -> {out / 'report.html'}")
    for row in results["rows"]:
        if row["data"] in ("full", "all") or row["data"] == row["test_arch"]:
            print(f"  {row['data']:>6} {row['strategy']:>4} -> {row['test_arch']:>6}: "
                  + format_row(row))
    return 0
