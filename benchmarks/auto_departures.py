"""Where ``auto`` left its first candidate, and what that cost or gained on the test part.

For one learner and one candidate (``search`` by default), lists every (table, budget) of
``tabdistill bench`` directories holding both ``auto``'s and the candidate's cells at which
``auto`` chose another candidate, with the difference of their mean test balanced accuracy
over restarts (``auto`` less the candidate; identical seeds, so the sets of a candidate
``auto`` chose are that candidate's own). Prints the list and a count of gains and losses.

    python benchmarks/auto_departures.py DIR [DIR ...] --learner hgb [--from search]
        [--least-rows 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def departures(results: pd.DataFrame, learner: str, first: str, least_rows: int) -> pd.DataFrame:
    rows = results[(results["learner"] == learner) & (results["rows_per_class"] >= least_rows)]
    means = rows.groupby(["rows_per_class", "dataset", "method"])["balanced_accuracy"].mean()
    means = means.unstack()
    chosen = rows[rows["method"] == "auto"].groupby(["rows_per_class", "dataset"])["chosen"]
    chosen = chosen.agg(lambda c: ",".join(sorted(set(c))))
    table = pd.DataFrame({"chosen": chosen, "difference": means["auto"] - means[first]})
    return table[table["chosen"] != first].reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--learner", required=True)
    parser.add_argument("--from", dest="first", default="search")
    parser.add_argument("--least-rows", type=int, default=1)
    args = parser.parse_args()
    found = [departures(pd.read_csv(d / "results.csv"), args.learner, args.first,
                        args.least_rows).assign(directory=d.name) for d in args.dirs]
    table = pd.concat(found, ignore_index=True)
    print(f"{args.learner}: `auto` chose another candidate than `{args.first}`; difference of "
          f"the mean test balanced accuracy over restarts, auto - {args.first}\n")
    print("| directory | rows per class | table | auto chose | difference |")
    print("|---|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.directory} | {r.rows_per_class} | {r.dataset} | {r.chosen} | "
              f"{r.difference:+.3f} |")
    d = table["difference"]
    print(f"\n{len(d)} departures: auto better in {(d > 0).sum()}, worse in {(d < 0).sum()}, "
          f"equal in {(d == 0).sum()}; mean difference {d.mean():+.4f}")


if __name__ == "__main__":
    main()
