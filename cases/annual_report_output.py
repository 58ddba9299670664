"""The annual statistics as a table: CSV (UTF-8 with a BOM, so Excel reads the Chinese), HTML
and PDF (WeasyPrint, with Debian's Noto CJK fonts). The report is a Chinese public document,
so its labels are Chinese; the figures are those of ``cases.annual_report``."""

from __future__ import annotations

import csv
import io
from html import escape

from cases.annual_report import OUTCOMES, AnnualReport

KIND_LABELS = {"licensing": "行政许可", "penalty": "行政处罚", "compulsory": "行政强制",
               "levy": "行政征收征用", "inspection": "行政检查"}
OUTCOME_LABELS = {"licence_revoked": "吊销许可证照", "business_closed": "责令停产停业或关闭",
                  "fine": "罚款", "other": "其他"}
REVIEW_LABELS = {"submitted": "提交审核", "passed": "审核通过", "returned": "退回补充",
                 "failed": "审核不通过", "pending": "待审核", "voided": "材料变更作废"}
DEADLINE_LABELS = {"on_time": "按期公示", "late": "逾期公示", "overdue_unpublished": "逾期未公示",
                   "not_yet_due": "未到期未公示"}


def rows(report: AnnualReport) -> list[tuple[str, str, str]]:
    """(section, item, value): the same lines in every format."""
    out: list[tuple[str, str, str]] = [
        ("机关", "名称", report.agency_name), ("机关", "代码", report.agency),
        ("年度", "年度", str(report.year)), ("年度", "统计日期", report.as_of),
        ("执法决定", "合计", str(report.decisions))]
    for kind, label in KIND_LABELS.items():
        out.append(("执法决定（按类别）", label, str(report.by_kind.get(kind, 0))))
    for kind, label in KIND_LABELS.items():
        outcomes = report.by_kind_outcome.get(kind, {})
        for outcome in OUTCOMES:
            out.append(("执法决定（按类别和结果）", f"{label}/{OUTCOME_LABELS[outcome]}",
                        str(outcomes.get(outcome, 0))))
    out.append(("重大执法决定", "经法制审核的决定", str(report.major_decisions)))
    for key, label in REVIEW_LABELS.items():
        out.append(("法制审核", label, str(report.reviews.get(key, 0))))
    for key, label in DEADLINE_LABELS.items():
        out.append(("公示期限", label, str(report.deadlines.get(key, 0))))
    out += [("公示撤销和更正", "撤销", str(report.revoked)),
            ("公示撤销和更正", "更正的公示", str(report.updated)),
            ("公示撤销和更正", "更正次数", str(report.updates)),
            ("音视频记录", "现场执法", str(report.on_site)),
            ("音视频记录", "有音视频记录的现场执法", str(report.on_site_with_footage)),
            ("音视频记录", "覆盖率（%）",
             "" if report.footage_share is None else f"{report.footage_share:.1f}")]
    if report.sha256:
        out.append(("发布", "SHA-256", report.sha256))
    return out


def to_csv(report: AnnualReport) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("部分", "项目", "数值"))
    writer.writerows(rows(report))
    return ("\ufeff" + buffer.getvalue()).encode()


def to_html(report: AnnualReport) -> str:
    lines = "".join(f"<tr><td>{escape(s)}</td><td>{escape(i)}</td><td>{escape(v)}</td></tr>"
                    for s, i, v in rows(report))
    title = escape(f"{report.agency_name} {report.year}年度行政执法统计年报")
    return (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>{title}</title>"
            "<style>body{font-family:'Noto Sans CJK SC',sans-serif;font-size:10pt}"
            "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;"
            "padding:3pt 6pt;text-align:left}</style></head>"
            f"<body><h1>{title}</h1><table><thead><tr><th>部分</th><th>项目</th><th>数值</th>"
            f"</tr></thead><tbody>{lines}</tbody></table></body></html>")


def to_pdf(report: AnnualReport) -> bytes:
    from weasyprint import HTML  # heavy (pango): loaded when a PDF is asked for

    pdf = HTML(string=to_html(report)).write_pdf()
    assert pdf is not None  # write_pdf without a target returns the bytes
    return bytes(pdf)
