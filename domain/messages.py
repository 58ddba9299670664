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

A sentence kept for later (a database column, a job's result) is kept with ``stored(text)``
(JSON of the template and its parameters) and read back with ``from_stored(text)``, so it
is shown in the reader's language; a text kept before, plain English, reads as it is.

A parameter that is a list is joined in the reader's language: ``listing(words)`` as
``a, b`` (Chinese ``a、b``), ``clauses(sentences)`` as ``a; b`` (Chinese ``a；b``).

Only ``msg("literal template", ...)`` calls are collected into the catalogue
(``scripts/update-catalogues``); ``plain(text)`` marks a text that is not to be translated
(a name, an outside program's words).
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterable, Mapping
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


class Listing(tuple[object, ...]):
    """Items shown as one parameter, each translated, joined in the reader's language."""

    separator = ", "  # an English template of its own: Chinese 、

    def __str__(self) -> str:
        return _join(self, None)


class Clauses(Listing):
    """Sentences shown as one parameter: joined by ``; `` in English, ``；`` in Chinese."""

    separator = "; "


def listing(items: Iterable[object]) -> Listing:
    """Words as one parameter: ``msg("points: {points}", points=listing(names))`` reads
    ``a, b`` in English and ``a、b`` in Chinese."""
    return Listing(items)


def clauses(items: Iterable[object]) -> Clauses:
    """Sentences (each may be a ``Message``) as one parameter: ``a; b`` / ``a；b``."""
    return Clauses(items)


def _join(items: Listing, lookup: Lookup | None) -> str:
    separator = (lookup(items.separator) if lookup is not None else None) or items.separator
    return separator.join(str(_param(item, lookup)) for item in items)


def _separators() -> tuple[Message, Message]:
    """Never called: puts the separators into the catalogue, to be translated like a message."""
    return msg(", "), msg("; ")


# --- kept for later --------------------------------------------------------------------------

_STORED_MARK: Final = '{"template": '


def _data(value: object) -> object:
    """A parameter as JSON data: a sentence as {"template", "params"}, a list as a list, a
    number or text as it is, anything else as its text."""
    if isinstance(value, BaseException) and value.args and isinstance(value.args[0], Message):
        value = value.args[0]
    if isinstance(value, Message):
        if value.template is None:
            return str(value)
        return {"template": value.template, "params": {k: _data(v) for k, v in value.params.items()}}
    if isinstance(value, Listing):
        return {"list": [_data(item) for item in value], "separator": value.separator}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, str) else str(value)
    return str(value)


def _from_data(data: object) -> object:
    if isinstance(data, dict):
        if isinstance(data.get("list"), list):
            kind = Clauses if data.get("separator") == Clauses.separator else Listing
            return kind(_from_data(item) for item in data["list"])
        if isinstance(data.get("template"), str) and isinstance(data.get("params"), dict):
            return Message(data["template"], **{str(k): _from_data(v) for k, v in data["params"].items()})
    return data


def stored(text: str) -> str:
    """``text`` as kept for later: a translatable sentence as JSON of its template and
    parameters (``from_stored`` reads it back), any other text as it is."""
    data = _data(text)
    if isinstance(data, dict) and "template" in data:
        return json.dumps(data, ensure_ascii=False)
    return str(text)


def from_stored(text: str) -> Message:
    """A text kept by ``stored``: the sentence again, to be shown in any language; a text kept
    otherwise (plain English from before, an outside program's words) as it is."""
    if text.startswith(_STORED_MARK):
        try:
            made = _from_data(json.loads(text))
            if isinstance(made, Message):
                str(made.localized(None))  # a template its parameters do not fill is not one
                return made
        except (ValueError, KeyError, IndexError, TypeError):
            pass
    return plain(text)


def as_data(text: str) -> object:
    """``text`` as JSON data for a stored report: see ``stored``."""
    return _data(text)


def from_data(data: object, text: str) -> Message:
    """The sentence ``as_data`` gave, or ``text`` as it is when there is none."""
    try:
        made = _from_data(data)
        if isinstance(made, Message):
            str(made.localized(None))
            return made
    except (ValueError, KeyError, IndexError, TypeError):
        pass
    return plain(text)


def _render(template: str, params: Mapping[str, object], lookup: Lookup | None) -> str:
    values = {name: _param(value, lookup) for name, value in params.items()}
    return template.format_map(values)


def _param(value: object, lookup: Lookup | None) -> object:
    if isinstance(value, Listing):
        return _join(value, lookup)
    if lookup is not None and (isinstance(value, Message) or (
            isinstance(value, BaseException) and value.args
            and isinstance(value.args[0], Message))):
        return translate(value, lookup)
    return value
