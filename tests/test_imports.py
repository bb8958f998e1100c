"""The package's modules import one another without a cycle (read from their import statements,
function-level imports included), so each can be read and loaded on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tabdistill

ROOT = Path(tabdistill.__file__).parent


def _module_name(path: Path) -> str:
    parts = ("tabdistill", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Each module of the package and the modules of the package it imports anywhere."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:  # ``from . import io`` imports the module ``io``
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files
                                else base)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_sees_relative_and_function_level_imports():
    graph = _import_graph()
    assert "tabdistill.io" in graph["tabdistill.upgrade"]  # ``from . import io``
    assert "tabdistill.strategies" in graph["tabdistill.evaluate"]
    assert "tabdistill.reproduce.run" in graph["tabdistill.reproduce"]


def test_cycle_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = _cycle(_import_graph())
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("first", ["tabdistill.reproduce.cli", "tabdistill.bench.cli",
                                   "tabdistill.cli.options", "tabdistill.cli.distill"])
def test_a_command_module_loads_first(first):
    """``reproduce`` and ``bench`` import the CLI's options, and the CLI registers them: each
    side loads on its own, before the other."""
    code = f"import {first}; from tabdistill.cli import build_parser; build_parser()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_distill_path_imports_no_scikit_learn_or_pandas():
    """Start-up: every ``tabdistill distill moons`` process would pay about 1 s for them."""
    code = ("import sys; from tabdistill.cli import build_parser; build_parser(); "
            "from tabdistill.data import load_dataset; load_dataset('moons'); "
            "import tabdistill.parallel, tabdistill.io, tabdistill.sizing, tabdistill.progress; "
            "heavy = sorted(m for m in ('sklearn', 'pandas', 'scipy', 'matplotlib') "
            "if m in sys.modules); print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
