"""The language of the API's and the CLI's messages: Chinese by default, English on request.

Errors carry ``domain.messages.Message`` sentences (an English template and its
parameters); here they are translated through the gettext catalogue
``api/locale/<ll_CC>/LC_MESSAGES/messages.po``, read with Babel once per process (the
.po is the catalogue; nothing to compile, so a clean clone works). English needs no
catalogue: its sentences are the message ids; an id without a translation is shown in
English.

The HTTP API negotiates the locale from ``Accept-Language`` (``negotiate``); the CLI
reads ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG`` as gettext does (``env_locale``).
Nothing said, or only unknown languages: Chinese (``zh_CN``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

from domain.messages import Lookup, translate

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
DOMAIN: Final = "messages"
DEFAULT_LOCALE: Final = "zh_CN"
SOURCE_LOCALE: Final = "en"
LOCALES: Final = ("zh_CN", "en")
# The Content-Language of each locale (a BCP 47 tag).
TAGS: Final = {"zh_CN": "zh-CN", "en": "en"}


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(locale: str) -> dict[str, str]:
    """The translated messages of ``locale``, English template -> translation (fuzzy and
    empty entries left out). English: empty."""
    if locale not in LOCALES:
        raise KeyError(locale)
    if locale == SOURCE_LOCALE:
        return {}
    with catalogue_path(locale).open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    found: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy or not isinstance(message.id, str):
            continue
        if isinstance(message.string, str) and message.string:
            found[message.id] = message.string
    return found


def lookup(locale: str) -> Lookup | None:
    """The catalogue lookup of ``locale`` for ``Message.localized`` (None for English)."""
    if locale == SOURCE_LOCALE:
        return None
    return catalogue(locale).get


def tr(text: object, locale: str) -> str:
    """``text`` (a ``Message``, an error, or any text) in ``locale``."""
    return translate(text, lookup(locale))


def gettext(template: str, locale: str, **params: object) -> str:
    """A sentence written at the edge (a label, not an error): ``template`` in ``locale``
    with ``params`` inserted. Collected into the catalogue like ``msg``."""
    found = catalogue(locale).get(template) if locale != SOURCE_LOCALE else None
    try:
        return (found or template).format_map(params)
    except (KeyError, ValueError, IndexError):
        return template.format_map(params)


def _match(tag: str) -> str | None:
    tag = tag.strip().lower().replace("_", "-")
    if tag == "zh" or tag.startswith("zh-"):
        return "zh_CN"  # the only Chinese offered (Simplified); a Chinese reader reads it best
    if tag == "en" or tag.startswith("en-"):
        return "en"
    if tag == "*":
        return DEFAULT_LOCALE
    return None


def negotiate(header: str | None) -> str:
    """The locale for an ``Accept-Language`` header: the acceptable language with the highest
    q (the first of equal ones) that is offered; Chinese when none is or nothing was said."""
    if not header:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, *options = part.split(";")
        quality = 1.0
        for option in options:
            key, _, value = option.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:
                    quality = 0.0
        if quality > 0 and (locale := _match(tag)) is not None:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


def env_locale(environ: Mapping[str, str] | None = None) -> str:
    """The CLI's locale, read as gettext does: the first set of ``LC_ALL``, ``LC_MESSAGES``,
    ``LANG`` names the locale, and ``LANGUAGE`` (a list) overrides it unless that is ``C``.
    ``zh_CN.UTF-8`` -> Chinese; ``C``, ``POSIX``, ``en_US.UTF-8`` -> English; nothing set or
    a language not offered -> Chinese, the default."""
    env = os.environ if environ is None else environ
    current = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), "")
    language = current.split(".", 1)[0].split("@", 1)[0]
    if language in ("C", "POSIX"):
        return SOURCE_LOCALE
    for tag in env.get("LANGUAGE", "").split(":"):
        if tag and (locale := _match(tag.split(".", 1)[0])) is not None:
            return locale
    return _match(language) or DEFAULT_LOCALE
