"""Sentences for people that can be translated at the edge.

``msg("case {number} is closed; reopen it first", number=n)`` is a ``str`` (the English
sentence, so ``str(err)`` and ``"closed" in err.message`` keep working) that also carries
its English template and its parameters. An entry point (the HTTP error handlers, the
CLI) looks the template up in a gettext catalogue and inserts the parameters into the
translation; a template without a translation is shown in English.

Templates use ``str.format`` fields by name (``{number}``, ``{size:,}``, ``{name!r}``); no
positional fields. Parameters are inserted after translation and never read as templates,
so a file name holding ``{x}`` or markup is shown as it is. A parameter that is itself a
``Message`` (or an error whose message is one) is translated too.

Only ``msg("literal template", ...)`` calls are collected into the catalogue
(``scripts/update-catalogues``); ``plain(text)`` marks a text that is not to be translated
(a name, an outside program's words).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any, Final

# Looks up an English template; returns the translation, or None when there is none.
Lookup = Callable[[str], "str | None"]

_FORMATTER: Final = string.Formatter()


def template_fields(template: str) -> list[tuple[str, str, str]]:
    """(name, conversion, format spec) of every field of ``template``, in order.

    Raises ValueError for a positional field (``{}`` or ``{0}``) or a malformed template.
    """
    fields = []
    for _, name, spec, conversion in _FORMATTER.parse(template):
        if name is None:
            continue
        if not name or name.isdigit() or not name.isidentifier():
            raise ValueError(f"message template fields are named identifiers: {template!r}")
        fields.append((name, conversion or "", spec or ""))
    return fields


class Message(str):
    """An English sentence that knows its template and parameters (see the module)."""

    template: str | None  # None: a text from outside, never translated
    params: Mapping[str, object]

    def __new__(cls, template: str, /, **params: object) -> Message:
        self = super().__new__(cls, _render(template, params, None))
        self.template = template
        self.params = params
        return self

    @classmethod
    def plain(cls, text: str) -> Message:
        """A text shown as it is in every language (not a template)."""
        self = str.__new__(cls, text)
        self.template = None
        self.params = {}
        return self

    def localized(self, lookup: Lookup | None) -> str:
        """This sentence in the language of ``lookup`` (English where it has no translation)."""
        if self.template is None:
            return str(self)
        if lookup is None:
            return str(self)
        translated = lookup(self.template)
        if translated and translated != self.template:
            try:
                return _render(translated, self.params, lookup)
            except (KeyError, ValueError, IndexError, AttributeError, TypeError):
                pass  # a broken translation: the English sentence rather than nothing
        return _render(self.template, self.params, lookup)

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (worker processes) keeps the template
        return (_rebuild, (str(self), self.template, dict(self.params)))


def _rebuild(text: str, template: str | None, params: dict[str, object]) -> Message:
    made = Message.plain(text)
    made.template = template
    made.params = params
    return made


def msg(template: str, /, **params: object) -> Message:
    """A translatable sentence: an English template (a literal, collected into the catalogue)
    with named parameters."""
    return Message(template, **params)


def plain(text: str) -> Message:
    """A text that is not translated (a name, an outside program's words)."""
    return text if isinstance(text, Message) else Message.plain(text)


def translate(text: object, lookup: Lookup | None) -> str:
    """``text`` in the language of ``lookup``: a ``Message`` translated, an error whose
    message is one translated, anything else as ``str`` gives it."""
    if isinstance(text, Message):
        return text.localized(lookup)
    if isinstance(text, BaseException) and text.args and isinstance(text.args[0], Message):
        return text.args[0].localized(lookup)
    return str(text)


def _render(template: str, params: Mapping[str, object], lookup: Lookup | None) -> str:
    values = {name: _param(value, lookup) for name, value in params.items()}
    return template.format_map(values)


def _param(value: object, lookup: Lookup | None) -> object:
    if lookup is not None and (isinstance(value, Message) or (
            isinstance(value, BaseException) and value.args
            and isinstance(value.args[0], Message))):
        return translate(value, lookup)
    return value
