"""Personal data masked before publication (cases/masking.py), on records written as an
agency writes them: a penalty decision, a licensing decision, an inspection record naming a
person and an enterprise; generated numbers of every kind embedded in Chinese text; and what
must stay as written (dates, amounts, document numbers, articles, credit codes, agencies).

The identity-card and bank-card numbers are made up, with valid check digits."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.masking import Masked, MaskKind, find_person_names, mask_name, mask_text
from cases.masking_rules import id_check_digit, luhn_valid

ID_ZHANG = "150102198503120037"  # check digit 7
ID_OUYANG = "15010219900101006X"  # check digit X
BANK = "6222020200112345679"  # Luhn


def consistent(text: str, masked: Masked) -> None:
    """The spans are positions in the text as given, and replacing them gives the result."""
    out, at = [], 0
    for span in masked.spans:
        assert text[span.start:span.end] == span.original
        out += [text[at:span.start], span.replacement]
        at = span.end
    assert "".join([*out, text[at:]]) == masked.text


def kinds(masked: Masked) -> list[tuple[MaskKind, str]]:
    return [(span.kind, span.original) for span in masked.spans]


PENALTY = (
    "呼和浩特市市场监督管理局行政处罚决定书\n呼市监罚〔2024〕12号\n"
    f"当事人：张建国，男，汉族，1985年3月12日出生，公民身份号码：{ID_ZHANG}，"
    "住址：呼和浩特市新城区海拉尔东街12号院3号楼2单元501室，联系电话：13847112345。\n"
    "2024年5月6日，当事人驾驶蒙A·12345号车辆，在新城区兴安北路销售烟花爆竹，违反了"
    "《烟花爆竹安全管理条例》第二十三条的规定。依据第三十六条第一款，决定罚款人民币5000元，"
    f"缴至账户{BANK}（中国工商银行），开户人张建国。\n"
    "执法人员：王明（执法证号：15010012345）、李华。本机关电话：0471-6912345。\n"
    f"另查明，当事人之妻欧阳娜娜（身份证号{ID_OUYANG}）同住，名下新能源汽车蒙AD12345。\n"
    "2024年6月1日")

PENALTY_MASKED = (
    "呼和浩特市市场监督管理局行政处罚决定书\n呼市监罚〔2024〕12号\n"
    "当事人：张某，男，汉族，1985年3月12日出生，公民身份号码：******************，"
    "住址：呼和浩特市新城区海拉尔东街***，联系电话：***********。\n"
    "2024年5月6日，当事人驾驶蒙A·*****号车辆，在新城区兴安北路销售烟花爆竹，违反了"
    "《烟花爆竹安全管理条例》第二十三条的规定。依据第三十六条第一款，决定罚款人民币5000元，"
    "缴至账户*******************（中国工商银行），开户人张某。\n"
    "执法人员：王明（执法证号：15010012345）、李华。本机关电话：****-*******。\n"
    "另查明，当事人之妻欧阳某（身份证号******************）同住，名下新能源汽车蒙A******。\n"
    "2024年6月1日")


def test_a_penalty_decision() -> None:
    masked = mask_text(PENALTY, names=("欧阳娜娜",))
    assert masked.text == PENALTY_MASKED
    consistent(PENALTY, masked)
    assert kinds(masked) == [
        (MaskKind.NAME, "张建国"), (MaskKind.ID_NUMBER, ID_ZHANG),
        (MaskKind.ADDRESS, "12号院3号楼2单元501室"), (MaskKind.PHONE, "13847112345"),
        (MaskKind.PLATE, "蒙A·12345"), (MaskKind.BANK_CARD, BANK), (MaskKind.NAME, "张建国"),
        (MaskKind.PHONE, "0471-6912345"), (MaskKind.NAME, "欧阳娜娜"),
        (MaskKind.ID_NUMBER, ID_OUYANG), (MaskKind.PLATE, "蒙AD12345")]
    # the officers are published by name and certificate (亮证); the agency's own number is
    # masked like any other: whoever confirms the masking can keep it (not this module's call)


LICENSING = (
    "准予行政许可决定书\n赛市监许准〔2025〕第0087号\n"
    "申请人：内蒙古草原青城餐饮管理有限公司\n统一社会信用代码：911501053290111234\n"
    "法定代表人：巴特尔\n住所：呼和浩特市赛罕区大学西街110号银河大厦B座1203室\n"
    "委托代理人：乌力吉·巴图，联系电话：（0471）5201314\n"
    "经审查，你单位于2025年3月3日提出的食品经营许可申请符合《中华人民共和国行政许可法》第三十八条"
    "第一款的规定，决定准予许可，许可证编号：JY11501050012345，有效期至2030年3月2日。")


def test_a_licensing_decision_keeps_the_enterprise_and_masks_its_agent() -> None:
    masked = mask_text(LICENSING)
    consistent(LICENSING, masked)
    assert kinds(masked) == [(MaskKind.ADDRESS, "110号"), (MaskKind.ADDRESS, "B座1203室"),
                             (MaskKind.NAME, "乌力吉·巴图"), (MaskKind.PHONE, "（0471）5201314")]
    for kept in ("内蒙古草原青城餐饮管理有限公司", "911501053290111234", "巴特尔",
                 "赛市监许准〔2025〕第0087号", "JY11501050012345", "第三十八条", "2030年3月2日"):
        assert kept in masked.text, kept
    assert "大学西街***银河大厦***" in masked.text and "乌某" in masked.text
    # the legal representative is published with the enterprise, unless asked otherwise
    assert "巴某" in mask_text(LICENSING, mask_representatives=True).text


INSPECTION = (
    "现场检查笔录\n被检查单位：新城区老王烧烤店（个体工商户）\n经营者：王五，身份证号"
    "150102680412003，电话13904715678\n检查地点：新城区成吉思汗大街街道丽苑小区5栋2-1-502\n"
    "检查情况：王五在店内无证经营，现场查获冷冻羊肉20公斤（价值人民币1,260.00元），"
    "同时在场的有呼和浩特市兴隆商贸有限责任公司送货员。当事人车辆蒙A6Z8K9、挂车蒙A1234挂。")


def test_an_inspection_record_naming_a_person_and_an_enterprise() -> None:
    masked = mask_text(INSPECTION)
    consistent(INSPECTION, masked)
    assert kinds(masked) == [
        (MaskKind.NAME, "王五"), (MaskKind.ID_NUMBER, "150102680412003"),
        (MaskKind.PHONE, "13904715678"), (MaskKind.ADDRESS, "5栋2-1-502"),
        (MaskKind.NAME, "王五"), (MaskKind.PLATE, "蒙A6Z8K9"), (MaskKind.PLATE, "蒙A1234挂")]
    assert "新城区老王烧烤店" in masked.text and "呼和浩特市兴隆商贸有限责任公司" in masked.text
    assert "丽苑小区***" in masked.text and "1,260.00元" in masked.text
    assert find_person_names(INSPECTION) == ["王五"]  # the shop is an organisation


NOT_PERSONAL = (
    "内蒙古自治区市场监督管理局  呼和浩特市公安局新城区分局  包头市昆都仑区人民法院\n"
    "朝阳市监罚〔2024〕12号  蒙呼市监处字[2024]第0012号  呼公(刑)字[2024]001号  案号2024-0042\n"
    "依据《中华人民共和国行政处罚法》第二十三条、第三十二条第一款第(二)项及第23条第1款\n"
    "2024年3月15日  2024-03-15 10:30  二〇二四年三月十五日  2025年1月28日至2月4日\n"
    "罚款人民币5000元  没收违法所得12,345.67元  ￥120000  罚款贰万元整  共计20公斤\n"
    "统一社会信用代码：91150100MA0N2B3X4Y  统一社会信用代码：911501053290111234\n"
    "执法证号：15010012345  邮编010010  第5次  3人  20个工作日  7日内\n"
    "被处罚单位：呼和浩特市某某商贸有限公司  当事人：内蒙古伊利实业集团股份有限公司\n")


def test_what_is_not_personal_data_stays_as_written() -> None:
    masked = mask_text(NOT_PERSONAL)
    assert masked.spans == () and masked.text == NOT_PERSONAL


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张某"), ("李小龙", "李某"), ("欧阳修", "欧阳某"), ("诸葛亮", "诸葛某"),
    ("司马相如", "司马某"), ("上官婉儿", "上官某"), ("欧阳", "欧某"), ("巴特尔", "巴某")])
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_labelled_names_are_masked_wherever_they_appear() -> None:
    text = "姓名：司马光性别：男。司马光称其不知情。被处罚人（个人）：李四；李四已缴纳罚款。"
    masked = mask_text(text)
    assert masked.text == "姓名：司马某性别：男。司马某称其不知情。被处罚人（个人）：李某；李某已缴纳罚款。"


# --- generated numbers ------------------------------------------------------------------------

chinese = st.text(st.sampled_from("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会"
                                  "可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部"
                                  "，。；、（）"), max_size=12)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["150102", "150203", "110105", "440305", "652801"]))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2012, 12, 31)))
    serial = f"{draw(st.integers(0, 999)):03d}"
    if draw(st.booleans()):
        return f"{region}{born:%y%m%d}{serial}"  # the 15-digit card
    first = f"{region}{born:%Y%m%d}{serial}"
    return first + id_check_digit(first)


@st.composite
def phones(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        number = f"1{draw(st.integers(3, 9))}{draw(st.integers(0, 10**9 - 1)):09d}"
        return draw(st.sampled_from([number, f"{number[:3]}-{number[3:7]}-{number[7:]}",
                                     f"+86 {number}"]))
    area = draw(st.sampled_from(["010", "021", "0471", "0472", "0477", "0755"]))
    local = f"{draw(st.integers(2, 9))}{draw(st.integers(0, 10**7 - 1)):07d}"[:draw(st.sampled_from([7, 8]))]
    return draw(st.sampled_from([f"{area}-{local}", f"{area}{local}", f"（{area}）{local}"]))


@st.composite
def bank_cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(16, 19))
    body = draw(st.sampled_from(["62", "4", "5", "9"]))
    body += "".join(str(draw(st.integers(0, 9))) for _ in range(length - 1 - len(body)))
    card = next(body + str(d) for d in range(10) if luhn_valid(body + str(d)))
    if draw(st.booleans()):
        return " ".join(card[i:i + 4] for i in range(0, len(card), 4)) if length == 16 else card
    return card


LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
plates = st.one_of(
    st.builds(lambda p, c, s: p + c + s, st.sampled_from("蒙京沪粤川苏"), st.sampled_from(LETTERS),
              st.text(st.sampled_from(LETTERS + "0123456789"), min_size=5, max_size=5)),
    st.builds(lambda p, c, s, e: f"{p}{c}{e}{s}", st.sampled_from("蒙京沪粤"), st.sampled_from(LETTERS),
              st.integers(0, 99999).map(lambda n: f"{n:05d}"), st.sampled_from(["D", "F"])),
    st.builds(lambda p, c, s: f"{p}{c}·{s}警", st.sampled_from("蒙京"), st.sampled_from(LETTERS),
              st.integers(0, 9999).map(lambda n: f"{n:04d}")))


@settings(max_examples=200, deadline=None)
@given(before=chinese, after=chinese, number=st.one_of(id_numbers(), phones(), bank_cards(), plates))
def test_any_valid_number_in_chinese_text_is_masked_without_a_digit_left(
        before: str, after: str, number: str) -> None:
    text = f"{before}{number}{after}"
    masked = mask_text(text)
    consistent(text, masked)
    assert not any(ch.isdigit() for ch in masked.text), (text, masked.text)
    assert [span.original for span in masked.spans] == [number]
    assert masked.text.startswith(before) and masked.text.endswith(after)


@settings(max_examples=100, deadline=None)
@given(text=st.text(st.characters(codec="utf-8"), max_size=60))
def test_any_text_keeps_its_spans_consistent(text: str) -> None:
    consistent(text, mask_text(text, names=("张三",)))


def test_several_parties_after_one_label_and_an_address_without_a_street() -> None:
    text = ("当事人：张三、李四、呼和浩特市某某商贸有限公司。张三住土默特左旗察素齐镇5号，"
            "李四住新城区7号楼3单元。呼和浩特市新城区人民法院。")
    masked = mask_text(text)
    assert masked.text == ("当事人：张某、李某、呼和浩特市某某商贸有限公司。张某住土默特左旗察素齐镇***，"
                           "李某住新城区***。呼和浩特市新城区人民法院。")


def test_full_width_digits_are_read_as_digits() -> None:
    text = "联系电话：１３８４７１１２３４５，车辆蒙Ａ１２３４５。"
    masked = mask_text(text)
    assert masked.text == "联系电话：＊＊＊＊＊＊＊＊＊＊＊，车辆蒙Ａ＊＊＊＊＊。".replace("＊", "*")
    assert [span.kind for span in masked.spans] == [MaskKind.PHONE, MaskKind.PLATE]
