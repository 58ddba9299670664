"""Printing text that came from outside: file, folder and ZIP member names, names of units
and agencies, and the messages that quote them.

Such text is data, never formatting: Rich markup is not parsed in it, and every control
character (C0, DEL, C1, bidi overrides, line and paragraph separators, lone surrogates) is
shown as a visible escape. So a name can neither crash the printer (``a [/x]``), nor move
the cursor, clear the screen, restyle a verdict or reorder a line on the operator's terminal.
Every console of the command line comes from here, and every outside string goes through
``inert`` (or ``styled``/``cells``, which call it).
"""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.i18n import env_locale, gettext, tr
from custody.report import VerifyReport
from domain.errors import EvidenceError

# Explicit-direction marks and overrides: they reorder what follows on the line.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, surrogates, separators


def _unsafe(ch: str) -> bool:
    return ch in _BIDI or unicodedata.category(ch) in _UNSAFE_CATEGORIES


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def inert(value: object) -> str:
    """``value`` as text that is safe to print: each control character shown escaped."""
    text = str(value)
    if not any(_unsafe(ch) for ch in text):
        return text
    return "".join(_escaped(ch) if _unsafe(ch) else ch for ch in text)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of plain outside strings (made inert) and (own label, style) pairs."""
    text = Text()
    for part in parts:
        if isinstance(part, tuple):
            text.append(part[0], style=part[1])
        else:
            text.append(inert(part))
    return text


def cells(*values: object) -> list[Text]:
    """Table cells: inert, and never parsed as markup (None is an empty cell)."""
    return [Text("" if value is None else inert(value)) for value in values]


def console(stderr: bool = False) -> Console:
    """A console that parses no markup, highlights nothing and makes no emoji of ``:x:``."""
    return Console(stderr=stderr, soft_wrap=True, markup=False, highlight=False, emoji=False)


def json_line(obj: Any, indent: int | None = None, sort_keys: bool = True) -> str:
    """JSON text whose strings carry no raw control character (C1, bidi and lone surrogates
    are written as \\u escapes too, which JSON allows; C0 it escapes by itself)."""
    raw = json.dumps(obj, ensure_ascii=False, sort_keys=sort_keys, indent=indent, default=str)
    if not any(_unsafe(ch) for ch in raw if ch not in "\n "):
        return raw
    return "".join(f"\\u{ord(ch):04x}" if ch not in "\n " and _unsafe(ch) else ch for ch in raw)


def emit_json(obj: Any, indent: int | None = None, sort_keys: bool = True) -> None:
    """One JSON document on standard output (a line unless ``indent``), flushed."""
    sys.stdout.write(json_line(obj, indent, sort_keys) + "\n")
    sys.stdout.flush()


def print_error(err: Console, exc: EvidenceError, locale: str | None = None) -> None:
    """The one rendering of a project error; its message and hint may quote outside names.

    In the language of the environment (``LC_ALL``/``LC_MESSAGES``/``LANG``; ``api.i18n``)
    unless ``locale`` is given."""
    locale = locale or env_locale()
    label, then = gettext("error:", locale), gettext("what to do:", locale)
    err.print(styled((label, "red"), _gap(label), tr(exc.message, locale)))
    if exc.hint:
        err.print(styled("  " + then + _gap(then), tr(exc.hint, locale)))


def _gap(label: str) -> str:
    """A space after an ASCII colon; none after a full-width one (which has its own)."""
    return "" if label.endswith("：") else " "


def problem_table(report: VerifyReport) -> Table:
    """The problems of a verify report; their messages quote entries, names and ZIP members.
    The sentences in the language of the environment, as errors are."""
    locale = env_locale()
    table = Table("entry", "kind", "problem")
    for p in report.problems:
        table.add_row(*cells(p.index, p.kind, tr(p.message, locale)))
    return table
