"""A sentence kept for later (a job's error, a report's problem, why an item cannot play) is
shown in the reader's language when it is read back; a list inside a sentence is joined in
that language too; text kept before, plain English, reads as it was."""

from __future__ import annotations

import pickle

from api.i18n import tr
from custody.report import Problem, VerifyReport
from domain.errors import StorageUnavailable
from domain.messages import clauses, from_stored, listing, msg, plain, stored


def test_a_stored_sentence_comes_back_translatable_with_its_nested_sentences() -> None:
    error = StorageUnavailable(msg("cannot read the catalogue: {reason}", reason=plain("disk gone")),
                               hint=msg("check EVIDENCE_DATABASE_URL and that the server is up"))
    kept = stored(msg("cannot be probed: {problem}", problem=error))
    back = from_stored(kept)
    assert back == str(msg("cannot be probed: {problem}", problem=error))
    chinese = tr(back, "zh_CN")
    assert chinese.startswith("无法读取媒体信息：无法读取目录库：disk gone")
    assert "check EVIDENCE_DATABASE_URL" not in chinese  # the hint translated too


def test_text_kept_before_or_from_outside_reads_as_it_is() -> None:
    for old in ("cannot be probed: Invalid data found when processing input",
                '{"template": "broken', '{"template": "{missing}", "params": {}}', ""):
        assert tr(from_stored(old), "zh_CN") == old
    assert stored(plain("ffmpeg: moov atom not found")) == "ffmpeg: moov atom not found"


def test_lists_are_joined_in_the_readers_language() -> None:
    sentence = msg("handling officers refused: {problems}", problems=clauses([
        msg("{name} is no active user of agency {agency}", name="li.na", agency="north"),
        msg("{name} holds no enforcement certificate valid on {day}", name="wang", day="2024-03-15")]))
    assert str(sentence) == ("handling officers refused: li.na is no active user of agency north; "
                             "wang holds no enforcement certificate valid on 2024-03-15")
    chinese = tr(sentence, "zh_CN")
    assert "；" in chinese and "; " not in chinese and "is no active user" not in chinese
    roles = msg("this needs one of the roles: {roles}", roles=listing(["admin", "auditor"]))
    assert str(roles).endswith("admin, auditor") and tr(roles, "zh_CN").endswith("admin、auditor")
    # kept and read back, pickled to a worker and back: still lists
    for again in (from_stored(stored(sentence)), pickle.loads(pickle.dumps(sentence))):
        assert tr(again, "zh_CN") == chinese


def test_a_report_keeps_its_sentences_through_json() -> None:
    report = VerifyReport(source="test", checks=["entries"])
    report.add("document_mismatch", msg("custody document {digest} was altered", digest="ab12"))
    report.notes.append(msg("no checkpoint is time-stamped by an outside authority"))
    data = report.to_json()
    assert data["problems"][0]["message"] == "custody document ab12 was altered"
    problem = Problem.from_json(data["problems"][0])
    assert tr(problem.message, "zh_CN") == "保管文档 ab12 已被改动"
    old = Problem.from_json({"index": None, "kind": "x", "message": "written before"})
    assert tr(old.message, "zh_CN") == "written before"
