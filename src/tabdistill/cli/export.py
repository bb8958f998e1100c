"""``tabdistill export``: a distilled set's synthetic rows as a CSV or Parquet table."""

from __future__ import annotations

from .options import DefaultsHelpFormatter


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="write a distilled set's synthetic rows as a CSV or Parquet table",
        description="Write the synthetic rows of DIR in the original feature space (original "
                    "column names, standardisation undone, categories by name), with their "
                    "label, step and learning rate, so that any tool can train on them.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("dir", help="a directory written by tabdistill distill")
    p.add_argument("--format", dest="fmt", default="csv", choices=("csv", "parquet"),
                   help="table format")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="file to write (default: DIR/synthetic.<format>)")
    p.add_argument("--soft", action="store_true",
                   help="also write each categorical column's raw one-hot values")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..export import export
    from ..io import check_output

    if args.out is not None:
        check_output(args.out)
    out = export(args.dir, fmt=args.fmt, out=args.out, soft=args.soft)
    print(f"wrote {out}")
    return 0
