"""One Chinese word per thing: the pages' and the messages' catalogues follow
api/locale/glossary.tsv (a reader meets 机关 on a page and in an error alike)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "api" / "locale"
CATALOGUES = ("pages", "messages")

# (English term, msgid): the msgid names the word, but not the glossary's thing.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("item", "{field}: must have at least {limit} items"): "a list field of a request, not evidence",
    ("item", "{field}: must have at most {limit} items"): "a list field of a request, not evidence",
    ("officer", "its security officer must unlock it"): "an HSM token's security officer (PKCS#11 SO)",
    ("officer", "Officer assigned to a case"): "the officer assigned to a case is a case officer",
    ("officer", "Officer removed from a case"): "the officer removed from a case is a case officer",
    ("station", "{zone} (station)"): "this server's zone (本站), not a docking station",
    ("station", "the station's witnesses are set in EVIDENCE_WITNESSES_FILE"):
        "this server (本站), not a docking station",
    ("case", "Recorded in the custody log, for example: the court case was closed."):
        "a court's case (诉讼), not one of ours",
    ("attach", "the MTP recorder is no longer attached"): "plugged in, not put on a case",
    ("party", "notice of the party's rights"):
        "a document kind with an official name, 事先告知书 (行政处罚法 art. 44), that names no party",
    ("segment", "Use original_key()/derivative_key(), or '/'-separated segments of letters, digits, "
                "'.', '_' and '-'."): "the parts of an object key, not of a recording",
}


@dataclass(frozen=True)
class Term:
    english: str
    chinese: tuple[str, ...]  # any of these
    never: tuple[str, ...]
    fine: tuple[str, ...]  # longer words holding a variant that are right

    def pattern(self) -> re.Pattern[str]:
        words = r"\s+".join(re.escape(word) for word in self.english.split())
        return re.compile(rf"(?<![\w-]){words}(?:s|es)?(?![\w-])", re.IGNORECASE)


def glossary() -> list[Term]:
    terms = []
    for line in (LOCALE / "glossary.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        english, chinese, never, fine = [*line.split("\t"), "", ""][:4]
        terms.append(Term(english, tuple(chinese.split("|")), tuple(filter(None, never.split("|"))),
                          tuple(filter(None, fine.split("|")))))
    return terms


def entries(name: str) -> list[tuple[str, str]]:
    with (LOCALE / "zh_CN" / "LC_MESSAGES" / f"{name}.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    found: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = [str(i) for i in message.id] if isinstance(message.id, (list, tuple)) else [str(message.id)]
        strings = ([str(s) for s in message.string] if isinstance(message.string, (list, tuple))
                   else [str(message.string)])
        found.extend((ids[min(i, len(ids) - 1)], string) for i, string in enumerate(strings) if string)
    return found


# placeholders, `code`, --options, NAMES_WITH_UNDERSCORES, names:with:colons (event types,
# actors), /file/paths
_NOT_WORDS = re.compile(r"\{[^}]*\}|`[^`]*`|--[\w-]+|\b\w+_\w+\b|\b\w+(?::[\w.*-]+)+|(?<!\w)/[\w./-]+")


def english_words(message_id: str) -> str:
    """The sentence without the words that are not English (see ``_NOT_WORDS``)."""
    return _NOT_WORDS.sub(" ", message_id)


def missing_terms(message_id: str, string: str, terms: list[Term]) -> list[str]:
    text = english_words(message_id)
    problems: list[str] = []
    for term in sorted(terms, key=lambda t: -len(t.english)):
        if term.pattern().search(text) is None:
            continue
        if (term.english, message_id) not in EXCEPTIONS and not any(c in string for c in term.chinese):
            problems.append(f"{term.english} -> {'|'.join(term.chinese)}")
        text = term.pattern().sub(" ", text)  # a shorter term inside it is not checked again
    return problems


def variants_used(string: str, terms: list[Term]) -> list[str]:
    problems: list[str] = []
    for term in terms:
        rest = string
        for word in term.fine:
            rest = rest.replace(word, " ")
        problems.extend(f"{variant} (say {term.chinese[0]})" for variant in term.never if variant in rest)
    return problems


@pytest.mark.parametrize("name", CATALOGUES)
def test_catalogue_follows_the_glossary(name: str) -> None:
    terms = glossary()
    problems: list[str] = []
    for message_id, string in entries(name):
        found = missing_terms(message_id, string, terms) + variants_used(string, terms)
        if found:
            problems.append(f"{message_id!r} -> {string!r}: {'; '.join(found)}")
    assert not problems, f"{len(problems)} entries of {name}.po break the glossary:\n" + "\n".join(problems)


def test_the_check_catches_a_variant_and_a_missing_term() -> None:
    terms = glossary()
    assert variants_used("本机构的单位", terms) == ["机构 (say 机关)"]
    assert variants_used("时间戳服务机构没有应答", terms) == []
    assert missing_terms("an admin of agency {agency} can do this", "机构 {agency} 的管理员可以", terms) \
        == ["agency -> 机关"]
    # the longer term wins: a case officer is 办案人员, not also an officer (执法人员)
    assert missing_terms("ask a case officer", "请询问办案人员", terms) == []
    assert missing_terms("{officer} may not {action}", "{officer} 无权{action}", terms) == []


def test_every_exception_is_still_needed() -> None:
    ids = {message_id for name in CATALOGUES for message_id, _ in entries(name)}
    assert not [key for key in EXCEPTIONS if key[1] not in ids]
