"""Event types are one vocabulary: every writer names a member of ``EventType`` and the
custody report explains every member."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cases.bundle_report import describe
from custody.events import TYPE_PATTERN
from domain.event_types import EventType

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "custody", "storage", "media", "devices", "ingest", "cases", "api")
VOCABULARY = ROOT / "domain" / "event_types.py"
_TYPE_LIKE = re.compile(r"(evidence|case|station|user|org|custody):[a-z0-9_-]+:[a-z0-9_-]+")


def test_every_type_is_a_valid_namespaced_type() -> None:
    assert len(set(EventType)) == len(list(EventType))
    for member in EventType:
        assert TYPE_PATTERN.fullmatch(member.value), member


def test_the_report_explains_every_type() -> None:
    unexplained = []
    for member in EventType:
        event: dict[str, object] = {"type": member.value, "actor": "user:alice", "details": {}}
        if describe(event) == f"{member.value} by user alice.":  # the fallback for unknown types
            unexplained.append(member.value)
    assert not unexplained, f"cases/bundle_report.py has no sentence for {unexplained}"


def test_no_writer_spells_an_event_type_itself() -> None:
    spelled = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == VOCABULARY:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and _TYPE_LIKE.fullmatch(node.value):
                    spelled.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
    assert not spelled, "use domain.event_types.EventType instead:\n" + "\n".join(spelled)


def test_the_check_finds_a_spelled_type(tmp_path: Path) -> None:
    source = 'log.append([EventDraft("evidence:file:ingested", actor)])'
    found = [n.value for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and _TYPE_LIKE.fullmatch(n.value)]
    assert found == ["evidence:file:ingested"]


def test_the_report_names_each_type_once() -> None:
    """A dict display keeps the last of two equal keys silently: a second sentence for a type
    would hide the first."""
    tree = ast.parse((ROOT / "cases" / "bundle_report.py").read_text(encoding="utf-8"))
    [sentences] = [node.value for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
                   and isinstance(node.target, ast.Name) and node.target.id == "_SENTENCES"]
    assert isinstance(sentences, ast.Dict)
    keys = [ast.unparse(key) for key in sentences.keys if key is not None]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
