"""The custody modules import each other without a cycle.

Every import counts: module level, under ``if TYPE_CHECKING:`` and inside
functions, because each of them ties the two modules together for a reader and
for whoever changes one of them. The append core (custody/append_core.py) is
what the direct path (custody/log.py) and the PostgreSQL queue (custody/queue.py)
share, so neither needs the other.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

CUSTODY = Path(__file__).resolve().parent.parent / "custody"


def _imported(module: str, source: str) -> set[str]:
    """The modules ``module`` (dotted name) imports anywhere in ``source``."""
    package = module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1 more
                parts = package.split(".")
                parents = parts[:len(parts) - (node.level - 1)]
                base = ".".join([*parents, base] if base else parents)
            found.add(base)
            # `from custody import log` imports the module custody.log
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Module -> the modules among ``sources`` (dotted name -> text) it imports."""
    return {name: {other for other in _imported(name, text) if other in sources and other != name}
            for name, text in sources.items()}


def import_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for other in sorted(graph[name]):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in on_stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return groups


def _custody_sources() -> dict[str, str]:
    return {f"custody.{path.stem}": path.read_text(encoding="utf-8")
            for path in sorted(CUSTODY.glob("*.py")) if path.stem != "__init__"}


def test_no_custody_module_imports_itself_back_through_another() -> None:
    sources = _custody_sources()
    assert {"custody.log", "custody.queue", "custody.append_core"} <= sources.keys()
    cycles = import_cycles(import_graph(sources))
    assert cycles == [], f"import cycles among custody modules: {cycles}"


def test_the_direct_path_and_the_queue_share_the_append_core_and_not_each_other() -> None:
    graph = import_graph(_custody_sources())
    assert "custody.append_core" in graph["custody.log"]
    assert "custody.append_core" in graph["custody.queue"]
    assert "custody.log" not in graph["custody.queue"]
    assert not graph["custody.append_core"] & {"custody.log", "custody.queue"}


def test_a_cycle_through_a_type_checking_or_function_level_import_is_found() -> None:
    sources = {
        "custody.a": "from custody.b import thing\n",
        "custody.b": ("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from custody.c import Other\n"),
        "custody.c": "def late() -> None:\n    from . import a\n",
        "custody.d": "import custody.a\n",
    }
    assert import_cycles(import_graph(sources)) == [["custody.a", "custody.b", "custody.c"]]


def test_the_log_and_queue_as_they_were_are_a_cycle() -> None:
    """The shape this test exists to stop: the log made the queue, the queue held the log."""
    sources = {
        "custody.log": "from custody.queue import AppendQueue\n",
        "custody.queue": ("from typing import TYPE_CHECKING\n"
                          "if TYPE_CHECKING:\n    from custody.log import CustodyLog\n"),
    }
    assert import_cycles(import_graph(sources)) == [["custody.log", "custody.queue"]]
