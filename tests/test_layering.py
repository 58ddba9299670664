"""The packages' layering holds: no package imports one above it or a peer.

Every import statement is read with ``ast``, wherever it stands: at the top, inside a
function, under ``if TYPE_CHECKING:``. The README's dependency line must state the
same order, so the picture a new maintainer reads is the one this test enforces.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
# Lowest first. Packages of one rank are peers and may not import each other.
RANKS = {"domain": 0, "custody": 1, "storage": 2, "media": 3, "devices": 4,
         "ingest": 5, "cases": 5, "api": 6}
UNRESTRICTED = {"tests", "bench"}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.imported}"


def imported_modules(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                if node.module:
                    yield node.lineno, ".".join([*base, node.module])
                else:  # from . import x: the names are modules
                    for alias in node.names:
                        yield node.lineno, ".".join([*base, alias.name])
            else:
                yield node.lineno, node.module or ""


def violations(root: Path) -> list[Violation]:
    found = []
    for package, rank in RANKS.items():
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            module = ".".join(relative.with_suffix("").parts)
            for line, imported in imported_modules(path, module):
                top = imported.split(".")[0]
                if top == package or top not in RANKS:
                    continue  # itself, the standard library or a third-party package
                if RANKS[top] >= rank:
                    found.append(Violation(str(relative), line, imported))
    return found


def test_no_package_imports_one_above_it_or_a_peer() -> None:
    found = violations(ROOT)
    assert not found, ("these imports break the layering (lowest first: "
                       + " < ".join(sorted(RANKS, key=RANKS.__getitem__)) + "):\n"
                       + "\n".join(map(str, found)))


def test_media_reads_stored_objects_but_never_the_database_or_the_log() -> None:
    reached = {imported for path in (ROOT / "media").rglob("*.py")
               for _, imported in imported_modules(path, "media." + path.stem)
               if imported.split(".")[0] in {"storage", "custody", "sqlalchemy"}}
    assert reached <= {"storage.objects"}


def test_every_package_has_a_rank() -> None:
    """A new top-level package must be placed in the order, not slip around it."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages - UNRESTRICTED == set(RANKS)


def test_the_check_finds_imports_wherever_they_stand(tmp_path: Path) -> None:
    for package in RANKS:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "cases" / "late.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import sqlalchemy\n"
        "from storage import catalog\n"
        "from . import tables\n"
        "if TYPE_CHECKING:\n"
        "    from ingest.records import Provenance\n"
        "def f() -> None:\n"
        "    import api.cli\n")
    (tmp_path / "media" / "up.py").write_text("from .. import devices\nimport domain.errors\n")
    (tmp_path / "devices" / "sub").mkdir()
    (tmp_path / "devices" / "sub" / "deep.py").write_text(
        "class C:\n    def m(self) -> None:\n        from ingest import walk\n")
    assert sorted(map(str, violations(tmp_path))) == [
        "cases/late.py:6 imports ingest.records",
        "cases/late.py:8 imports api.cli",
        "devices/sub/deep.py:3 imports ingest",
        "media/up.py:1 imports devices",
    ]


def test_the_readme_states_the_same_order() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"Dependencies point one way: `([^`]+)`", readme)
    assert match, "README.md must state the dependency order: Dependencies point one way: `api → ...`"
    stated = [{name.strip() for name in level.split(",")} for level in match[1].split("→")]
    by_rank: dict[int, set[str]] = {}
    for package, rank in RANKS.items():
        by_rank.setdefault(rank, set()).add(package)
    assert stated == [by_rank[rank] for rank in sorted(by_rank, reverse=True)]
