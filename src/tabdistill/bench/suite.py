"""Tables to benchmark: named on the command line, or listed in a suite file (TOML).

A suite file is versioned with the project and rerunnable::

    [defaults]              # optional: options every table gets unless it says otherwise
    target = "label"

    [[table]]
    source = "../data/*.csv"    # a built-in name, a path, or a glob (relative to this file)

    [[table]]
    source = "breast_cancer"
    name = "bc"                 # optional: the name results use (default: the file's stem)

Per-table options: ``target``, ``missing``, ``max_categories``, ``test_size``, ``split_seed``
(the same meaning as the command line's). Every table is loaded, split and preprocessed the
same way as ``tabdistill distill`` does it.
"""

from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..data import BUILTIN, Dataset, load_dataset
from ..errors import TabdistillError

OPTIONS = ("target", "missing", "max_categories", "test_size", "split_seed")


@dataclass(frozen=True)
class Table:
    """One table of a benchmark: where it is and how it is read."""

    name: str
    source: str  # a built-in name or an absolute path
    options: tuple = field(default=())  # sorted (option, value) pairs

    def load(self) -> Dataset:
        return _load(self)

    def to_json(self) -> dict:
        return {"name": self.name, "source": self.source, **dict(self.options)}


@lru_cache(maxsize=4)
def _load(table: Table) -> Dataset:
    opts = dict(table.options)
    return load_dataset(table.source, target=opts.get("target"),
                        test_size=opts.get("test_size", 0.33), seed=opts.get("split_seed", 8),
                        missing=opts.get("missing", "impute"),
                        max_categories=opts.get("max_categories", 20))


def make_table(source: str, *, name: str | None = None, base: Path | None = None,
               **options) -> Table:
    """A :class:`Table` for a built-in name or a path (relative to ``base``)."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TabdistillError(f"unknown table option {unknown[0]!r}; expected some of "
                              f"{', '.join(OPTIONS)}")
    options = {k: v for k, v in options.items() if v is not None}
    if source not in BUILTIN:
        path = Path(source) if base is None else base / source
        source = str(path.resolve())
        name = name or path.stem
    return Table(name or source, source, tuple(sorted(options.items())))


def tables_from_args(sources: list[str], target: str | None = None) -> list[Table]:
    """Tables named on the command line (globs expanded by the shell or here); ``target``
    applies to files."""
    tables = []
    for source in sources:
        if source in BUILTIN:  # their target is built in
            tables.append(make_table(source))
            continue
        tables += [make_table(m, target=target) for m in sorted(glob.glob(source)) or [source]]
    return tables


def load_suite(path: str | Path) -> list[Table]:
    """The tables of a suite file (see the module doc)."""
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text())
    except OSError as err:
        raise TabdistillError(f"cannot read the suite {path} ({err.strerror}); expected a TOML "
                              "file listing [[table]] entries") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise TabdistillError(f"{path} is not valid TOML ({err}); expected a suite file "
                              "listing [[table]] entries") from None
    defaults, entries = spec.get("defaults", {}), spec.get("table", [])
    if not isinstance(entries, list) or not entries:
        raise TabdistillError(f"{path} lists no tables; expected [[table]] entries with a "
                              "source")
    tables = []
    for i, entry in enumerate(entries, 1):
        entry = {**defaults, **entry}
        if "source" not in entry:
            raise TabdistillError(f"table {i} of {path} has no source; expected a built-in "
                                  "name, a path or a glob")
        source, name = str(entry.pop("source")), entry.pop("name", None)
        if source in BUILTIN:
            tables.append(make_table(source, name=name, **entry))
            continue
        matches = sorted(glob.glob(str(path.parent / source)))
        if not matches:
            raise TabdistillError(f"table {i} of {path}: nothing matches {source!r} (relative "
                                  f"to {path.parent}); expected a file or a glob of files")
        if name is not None and len(matches) > 1:
            raise TabdistillError(f"table {i} of {path}: a name for {len(matches)} files; "
                                  "expected a name only for a single file")
        tables += [make_table(m, name=name, **entry) for m in matches]
    return tables


def check_names(tables: list[Table]) -> None:
    """Results are keyed by table name: two tables may not share one."""
    seen = {}
    for t in tables:
        if t.name in seen and seen[t.name] != t:
            raise TabdistillError(f"two tables are named {t.name!r} ({seen[t.name].source} and "
                                  f"{t.source}); expected distinct names (name = in a suite)")
        seen[t.name] = t
