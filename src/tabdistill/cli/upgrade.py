"""``tabdistill upgrade``: converts a distilled directory of an older format
(:func:`tabdistill.upgrade.upgrade`)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "upgrade", help="convert a distilled directory of an older format to the current one",
        description="Convert DIR, written by an older tabdistill, to the current format "
                    "(docs/format.md). A format-1 directory keeps its preprocessing as a "
                    "pickle, which can run code when read: it is converted only with "
                    "--trust-pickle.",
    )
    p.add_argument("dir", help="a directory written by tabdistill distill")
    p.add_argument("--trust-pickle", action="store_true",
                   help="read DIR/preprocess.pkl (only for a directory whose source you trust), "
                        "write it as preprocess.json and remove it")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..io import FORMAT
    from ..upgrade import upgrade

    if upgrade(args.dir, trust_pickle=args.trust_pickle):
        print(f"upgraded {args.dir} to format {FORMAT}")
    else:
        print(f"{args.dir} is already in format {FORMAT}; nothing to do")
    return 0
