"""The rules that find personal data in Chinese text (cases/masking.py applies them).

Each finder yields ``Found(start, end, kind)`` over the text as given. Numbers
are looked for with full-width digits and letters read as ASCII (a one-for-one mapping, so
positions stay those of the text). Numbers are checked, not just shaped: an identity-card
number by its birth date and check digit (GB 11643), a bank card by its Luhn digit; so that
dates, amounts, case and document numbers and legal articles are left alone.

Protected (never masked): a unified social credit code and an enforcement certificate number
after their labels; document numbers (〔2024〕12号) and legal articles (第二十三条) have no
shape the finders take.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# Full-width ASCII (U+FF01..U+FF5E) read as ASCII, and the ideographic space as a space.
_HALF_WIDTH = {0xFF01 + n: 0x21 + n for n in range(0x5E)} | {0x3000: 0x20}


class MaskKind(StrEnum):
    NAME = "name"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    BANK_CARD = "bank_card"
    PLATE = "plate"
    ADDRESS = "address"


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    kind: MaskKind


def half_width(text: str) -> str:
    return text.translate(_HALF_WIDTH)


def stars(original: str, keep: int = 0) -> str:
    """Every digit and letter of a number (after ``keep`` characters) as ``*``; separators
    and brackets kept."""
    return original[:keep] + "".join("*" if (half := half_width(ch)).isascii() and half.isalnum()
                                      else ch for ch in original[keep:])


def replacement(kind: MaskKind, original: str) -> str:
    """What a found number or address becomes (names: cases.masking.mask_name)."""
    if kind is MaskKind.ADDRESS:
        return "***"
    if kind is MaskKind.PLATE:  # the province and the issuing city's letter are kept
        plate = half_width(original)
        return stars(original, 2 if plate[0] in PROVINCES or plate.startswith("WJ") else 1)
    return stars(original)


# --- identity cards --------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_EDGE_L, _EDGE_R = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_ID18 = re.compile(_EDGE_L + r"[1-9]\d{16}[0-9Xx]" + _EDGE_R, re.ASCII)
_ID15 = re.compile(_EDGE_L + r"[1-9]\d{14}" + _EDGE_R, re.ASCII)


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def valid_id18(number: str) -> bool:
    return (len(number) == 18 and number[:17].isdigit()
            and _is_date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            and 1900 <= int(number[6:10]) <= 2100
            and id_check_digit(number[:17]) == number[17].upper())


def valid_id15(number: str) -> bool:
    return len(number) == 15 and number.isdigit() and _is_date(
        1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def find_id_numbers(text: str) -> Iterator[Found]:
    for pattern, valid in ((_ID18, valid_id18), (_ID15, valid_id15)):
        for m in pattern.finditer(text):
            if valid(m.group()):
                yield Found(m.start(), m.end(), MaskKind.ID_NUMBER)


# --- bank cards ------------------------------------------------------------------------------

_BANK = re.compile(_EDGE_L + r"(?:\d{16,19}|\d{4}(?:[ -]\d{4}){2}[ -]\d{4,7}|\d{6}[ -]\d{10,13})"
                   + _EDGE_R, re.ASCII)


def luhn_valid(digits: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if n % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def find_bank_cards(text: str) -> Iterator[Found]:
    for m in _BANK.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if 16 <= len(digits) <= 19 and luhn_valid(digits):
            yield Found(m.start(), m.end(), MaskKind.BANK_CARD)


# --- phones ----------------------------------------------------------------------------------

_MOBILE = re.compile(_EDGE_L + r"(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}" + _EDGE_R, re.ASCII)
# an area code (010, 02x, 0xxx) and a local number of 7 or 8 digits, an extension after
_AREA = r"0(?:10|2\d|[3-9]\d{2})"
_LANDLINE = re.compile(_EDGE_L + rf"(?:\+?86[ -]?)?(?:[(（]{_AREA}[)）]|{_AREA})[ -]?[2-9]\d{{6,7}}"
                       r"(?:[-转]\d{1,6})?" + _EDGE_R, re.ASCII)
# a local number without its area code, only after a label saying it is a phone
_LABELLED_PHONE = re.compile(r"(?:电话|手机|联系方式|联系电话|Tel|TEL|tel)[号码]*[：:]?\s*"
                             r"([2-9]\d{6,7})" + _EDGE_R, re.ASCII)


def find_phones(text: str) -> Iterator[Found]:
    for pattern in (_MOBILE, _LANDLINE):
        for m in pattern.finditer(text):
            yield Found(m.start(), m.end(), MaskKind.PHONE)
    for m in _LABELLED_PHONE.finditer(text):
        yield Found(m.start(1), m.end(1), MaskKind.PHONE)


# --- licence plates --------------------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # no I or O on plates
_PLATE = re.compile(
    rf"(?<![0-9A-Za-z])(?:[{PROVINCES}][{_L}][·•・ ]?"
    rf"(?:[{_L}0-9]{{6}}|[{_L}0-9]{{4}}[{_L}0-9挂学警港澳领试超])"  # 8 (new energy) or 7
    rf"|使\d{{6}}|WJ[{PROVINCES}]?\d{{4}}[0-9{_L}])(?![0-9A-Za-z])", re.ASCII)


def find_plates(text: str) -> Iterator[Found]:
    for m in _PLATE.finditer(text):
        yield Found(m.start(), m.end(), MaskKind.PLATE)


# --- addresses -------------------------------------------------------------------------------

# A place name ending like a road, lane, village or estate, then house number, building,
# unit, floor and room: the place is kept, the rest masked.
_PLACE_END = ("路|街|大街|大道|巷|胡同|里|弄|道|村|嘎查|社区|小区|花园|家园|新村|苑|公寓|大厦|广场|"
              "组|屯|庄|园|城|区|镇|乡|苏木|旗|县")
_NUMBER = r"(?:\d+|[A-Za-z]\d*)(?:-\d+)*"
_UNIT = r"(?:号院|号楼|号|栋|幢|座|单元|层|楼|室|户|弄|组|排)"
_ADDRESS = re.compile(rf"(?:{_PLACE_END})((?:{_NUMBER}{_UNIT})+(?:{_NUMBER}(?![0-9A-Za-z]))?)", re.ASCII)


def find_addresses(text: str) -> Iterator[Found]:
    for m in _ADDRESS.finditer(text):
        yield Found(m.start(1), m.end(1), MaskKind.ADDRESS)


# --- protected ---------------------------------------------------------------------------------

_PROTECTED = re.compile(r"(?:统一社会信用代码|社会信用代码|信用代码|注册号|执法证号?|执法证件号|证件编号)"
                        r"[号码]*[：:]?\s*([0-9A-Za-z-]{6,20})", re.ASCII)


def protected_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(1), m.end(1)) for m in _PROTECTED.finditer(text)]


NUMBER_FINDERS = (find_id_numbers, find_bank_cards, find_phones, find_plates, find_addresses)
