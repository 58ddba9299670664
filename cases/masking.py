"""Personal data removed from text before it is published (公示): names of natural persons
as 张某, identity-card, phone, bank-card and licence-plate numbers and exact addresses masked.

Interface shared by publication (which masks a decision's record) and the masking rules
(cases/masking_rules.py). What was masked is kept (``Masked.spans``, positions in the text as
given) so a person can confirm it before publishing.

Names: those the caller gives (the parties it knows are natural persons), and those written
after a label that names a person (当事人：, 姓名：, 被处罚人：, 申请人：, 经营者： ...) unless
what follows is an organisation (…公司, …合作社, …店). A name found once is masked wherever
it appears. An organisation's legal representative (法定代表人/负责人) is published with the
organisation, as the market regulators' publication rules have it; ``mask_representatives``
masks them too.

Left alone: dates, amounts, case and document numbers (朝阳市监罚〔2024〕12号), legal articles
(第二十三条), unified social credit codes and enforcement certificate numbers after their
labels, organisation and agency names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cases.masking_rules import (
    NUMBER_FINDERS,
    Found,
    MaskKind,
    half_width,
    protected_spans,
    replacement,
)

__all__ = ["MaskKind", "Masked", "MaskedSpan", "find_person_names", "mask_name", "mask_text"]

COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "司空", "夏侯", "轩辕", "令狐", "钟离", "闻人", "澹台", "公冶", "太史", "申屠", "端木", "赫连",
    "濮阳", "呼延", "南宫", "西门", "百里", "第五", "独孤", "万俟", "拓跋", "单于", "闾丘", "东郭",
    "左丘", "梁丘", "乐正", "子车", "谷梁", "羊舌", "微生", "公良", "漆雕", "巫马", "亓官", "仲孙"})
NAME_MIN, NAME_MAX = 2, 6  # characters of a person's name (Mongolian names run to 5 or 6)

_PERSON_LABELS = ("当事人|被处罚人|被处罚单位|申请人|被申请人|被许可人|被检查人|被检查单位|相对人|"
                  "行政相对人|姓名|经营者|投资人|委托代理人|代理人|联系人|行为人|违法行为人|"
                  "驾驶人|车主|户主|证人|举报人|投诉人|被投诉人|监护人|法定代理人|开户人|持卡人|收款人")
_REPRESENTATIVE_LABELS = "法定代表人|负责人|主要负责人"
_LABEL = re.compile(rf"({_PERSON_LABELS}|{_REPRESENTATIVE_LABELS})(?:姓名|名称)?"
                    r"(?:[（(][^）)]{0,12}[）)])?\s*[：:]\s*([\u4e00-\u9fff·•・]{2,40})")
# an organisation: one of these words anywhere in what follows the label, or one of the
# single characters at its end (a name may hold 会 or 园, a name does not end a run with 店)
_ORGANISATION = re.compile(
    r"公司|企业|集团|合作社|商行|商店|超市|门市|经营部|营业部|服务部|工作室|中心|医院|诊所|药房|"
    r"学校|幼儿园|银行|协会|学会|基金会|委员会|事务所|研究所|机构|政府|分局|单位|"
    r"[厂店铺馆场站局院所处队社部办行]$")
_NEXT_NAME = re.compile(r"、([\u4e00-\u9fff·•・]{2,40})")
# what ends a name written without punctuation after it (姓名：张三性别：男)
_AFTER_NAME = re.compile(r"性别|身份|公民|住址|住所|地址|民族|汉族|蒙古族|回族|满族|出生|联系|电话|手机|"
                         r"年龄|职业|工作|现住|户籍|籍贯|男|女|系|于|因|在|的|等")


@dataclass(frozen=True)
class MaskedSpan:
    """``original`` at ``start``..``end`` of the input became ``replacement``."""

    start: int
    end: int
    kind: MaskKind
    original: str
    replacement: str


@dataclass(frozen=True)
class Masked:
    text: str
    spans: tuple[MaskedSpan, ...]


def mask_name(name: str) -> str:
    """张三 -> 张某 (the surname kept); 欧阳修 -> 欧阳某 (a compound surname kept whole)."""
    if not name:
        return name
    keep = 2 if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:keep] + "某"


def _person_name(run: str) -> str | None:
    """The name at the start of ``run`` (the text after a label), or None if it is an
    organisation or not a name."""
    cut = _AFTER_NAME.search(run, NAME_MIN)
    name = run[:cut.start()] if cut else run
    if _ORGANISATION.search(run) or _ORGANISATION.search(name) or name.endswith("某"):
        return None
    return name if NAME_MIN <= len(name) <= NAME_MAX else None


def find_person_names(text: str, *, mask_representatives: bool = False) -> list[str]:
    """Names written after a label that names a natural person (当事人：张三)."""
    names = []
    for m in _LABEL.finditer(text):
        if re.fullmatch(_REPRESENTATIVE_LABELS, m.group(1)) and not mask_representatives:
            continue
        name = _person_name(m.group(2))
        if name is not None:
            names.append(name)
        at = m.end(2)  # 当事人：张三、李四
        while name is not None and (more := _NEXT_NAME.match(text, at)):
            name = _person_name(more.group(1))
            names += [name] if name is not None else []
            at = more.end(1)
    return names


def _name_spans(text: str, names: Iterable[str]) -> list[Found]:
    found: list[Found] = []
    for name in sorted({n.strip() for n in names if len(n.strip()) >= NAME_MIN}, key=len,
                       reverse=True):
        found.extend(Found(m.start(), m.end(), MaskKind.NAME)
                     for m in re.finditer(re.escape(name), text))
    return found


def mask_text(text: str, *, names: tuple[str, ...] = (),
              mask_representatives: bool = False) -> Masked:
    """``text`` with personal data masked; ``names`` are natural persons known to appear."""
    readable = half_width(text)
    protected = protected_spans(readable)
    candidates = [f for finder in NUMBER_FINDERS for f in finder(readable)]
    candidates += _name_spans(text, (*names, *find_person_names(
        text, mask_representatives=mask_representatives)))
    # earlier first; at one place the longer (an ID number before a phone inside it)
    candidates.sort(key=lambda f: (f.start, -(f.end - f.start)))
    chosen: list[Found] = []
    for found in candidates:
        if any(found.start < end and start < found.end for start, end in protected):
            continue
        if chosen and found.start < chosen[-1].end:
            continue
        chosen.append(found)
    spans: list[MaskedSpan] = []
    parts: list[str] = []
    at = 0
    for found in chosen:
        original = text[found.start:found.end]
        new = mask_name(original) if found.kind is MaskKind.NAME else replacement(found.kind,
                                                                                  original)
        spans.append(MaskedSpan(found.start, found.end, found.kind, original, new))
        parts += [text[at:found.start], new]
        at = found.end
    parts.append(text[at:])
    return Masked("".join(parts), tuple(spans))
