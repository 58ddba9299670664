"""The upkeep of the API's and the CLI's catalogues (``scripts/update-catalogues``).

Babel extracts every ``msg("...")`` and ``gettext("...")`` of the packages (``babel.cfg``)
into ``api/locale/messages.pot``; each locale's ``messages.po`` gets the new ids
(untranslated) and loses the ids no code uses any more. The translator then fills every
empty ``msgstr``; tests/test_i18n.py fails until every id has a translation with the same
placeholders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from api.i18n import DOMAIN, LOCALE_DIR, LOCALES, SOURCE_LOCALE, catalogue_path
from domain.station import PROBLEMS

ROOT: Final = Path(__file__).resolve().parent.parent
CONFIG: Final = ROOT / "babel.cfg"
TEMPLATE: Final = LOCALE_DIR / f"{DOMAIN}.pot"
KEYWORDS: Final = {"msg": None, "gettext": None}


def extract(root: Path = ROOT) -> dict[str, list[tuple[str, int]]]:
    """Every message id of the code, with the places that use it (file, line)."""
    with CONFIG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _, _ in extract_from_dir(
            str(root), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append((filename, lineno))
    for sentence in PROBLEMS.values():  # the station's problems, said by their code
        found.setdefault(sentence, []).append(("domain/station.py", 0))
    return found


def write_template(found: dict[str, list[tuple[str, int]]]) -> None:
    template = Catalog(domain=DOMAIN, project="evidence", charset="utf-8")
    for message_id, places in found.items():
        template.add(message_id, locations=places)
    with TEMPLATE.open("wb") as handle:
        write_po(handle, template, width=100, include_lineno=False, sort_output=True)


def update_catalogue(locale: str, found: dict[str, list[tuple[str, int]]]) -> tuple[list[str],
                                                                                     list[str]]:
    """Bring ``locale``'s messages.po up to ``found``: (added ids, dropped ids)."""
    path = catalogue_path(locale)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=DOMAIN)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=locale, domain=DOMAIN, project="evidence", charset="utf-8")
    known = {str(m.id) for m in catalog if m.id}
    added = sorted(i for i in found if i not in known)
    dropped = sorted(i for i in known if i not in found)
    for message_id in dropped:
        del catalog[message_id]
    for message_id in added:
        catalog.add(message_id, "")
    for message in catalog:
        if message.id:
            message.locations = sorted({(name, 0) for name, _ in found[str(message.id)]})
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, include_lineno=False,
                 omit_header=False)
    return added, dropped


def update_all() -> dict[str, tuple[list[str], list[str]]]:
    found = extract()
    write_template(found)
    return {locale: update_catalogue(locale, found)
            for locale in LOCALES if locale != SOURCE_LOCALE}
