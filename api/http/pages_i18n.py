"""The pages' message catalogues: ``GET /ui/i18n/{locale}.json``.

The script (``static/js/i18n.js``) shows every sentence through ``t("English text")``;
the English text is the message id, and each other language has a gettext
catalogue ``api/locale/<ll_CC>/LC_MESSAGES/pages.po``, read here with Babel. English
needs no catalogue: its messages are the ids themselves.

A catalogue is read once per process; a message left untranslated (empty or fuzzy)
is not sent, so the page shows the English id rather than nothing.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po, write_po

LOCALE_DIR: Final = Path(__file__).resolve().parent.parent / "locale"
DOMAIN: Final = "pages"
DEFAULT_LOCALE: Final = "zh-CN"
SOURCE_LOCALE: Final = "en"
# What the pages offer, in the order of the language menu: tag -> the language's own name.
LOCALES: Final = {"zh-CN": "中文", "en": "English"}


def catalogue_path(locale: str) -> Path:
    """``zh-CN`` -> ``api/locale/zh_CN/LC_MESSAGES/pages.po``."""
    return LOCALE_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def messages(locale: str) -> dict[str, str]:
    """The translated messages of ``locale`` (one of ``LOCALES``), id -> text.

    Raises KeyError for a locale the pages do not offer.
    """
    if locale not in LOCALES:
        raise KeyError(locale)
    if locale == SOURCE_LOCALE:
        return {}
    with catalogue_path(locale).open("rb") as handle:
        catalog = read_po(handle, locale=locale.replace("-", "_"), domain=DOMAIN)
    found: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy or not isinstance(message.id, str):
            continue  # the header, fuzzy guesses and plural entries (the pages use none)
        if isinstance(message.string, str) and message.string:
            found[message.id] = message.string
    return found


# ---------------------------------------------------------------- the catalogue's upkeep

SCRIPT_DIR: Final = Path(__file__).resolve().parent / "static" / "js"
_CALL = re.compile(r"\bt[n]?\(\s*(\"(?:[^\"\\\n]|\\.)*\")\s*[,)]")
_ANY_CALL = re.compile(r"(?<![\w.$])t[n]?\(")


@dataclass(frozen=True)
class ScriptMessages:
    ids: dict[str, list[str]]  # message id -> where it is used ("views/case.js:12")
    unreadable: list[str]  # calls whose first argument is not one literal string


def script_messages(root: Path = SCRIPT_DIR) -> ScriptMessages:
    """The message ids of every ``t("...")`` and ``tn("...")`` in the pages' modules."""
    ids: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for path in sorted(root.rglob("*.js")):
        rel = path.relative_to(root).as_posix()
        defines = rel == "i18n.js"  # t() and tn() themselves, which pass ids along
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("//", 1)[0] if line.lstrip().startswith("//") else line
            readable = {m.start() for m in _CALL.finditer(code)}
            for match in _CALL.finditer(code):
                ids.setdefault(json.loads(match.group(1)), []).append(f"{rel}:{number}")
            unreadable += [f"{rel}:{number}: {line.strip()}" for m in _ANY_CALL.finditer(code)
                           if m.start() not in readable and not defines]
    return ScriptMessages(ids, unreadable)


def update_catalogue(locale: str, root: Path = SCRIPT_DIR) -> tuple[list[str], list[str]]:
    """Add the scripts' new ids to ``locale``'s catalogue (untranslated) and drop the ids no
    script uses any more; keeps the header comment (the glossary). Returns (added, dropped)."""
    path = catalogue_path(locale)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale.replace("-", "_"), domain=DOMAIN)
    found = script_messages(root).ids
    known = {m.id for m in catalog if m.id}
    added = [i for i in found if i not in known]
    dropped = sorted(str(i) for i in known if i not in found)
    for message_id in dropped:
        del catalog[message_id]
    for message_id in added:
        catalog.add(message_id, "")
    for message in catalog:
        if message.id:  # the files that use it; written without line numbers (less churn)
            files: dict[str, int] = {}
            for where in found[str(message.id)]:
                name, line = where.rsplit(":", 1)
                files.setdefault(name, int(line))
            message.locations = list(files.items())
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=False, omit_header=False,
                 include_lineno=False)
    return added, dropped
