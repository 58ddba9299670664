"""`evidence demo`: a simulated recorder with synthetic footage, ingested and verified."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from api.home import Home
from api.ingest_cmd import ingest_options, list_recordings
from api.settings import Settings
from cases.devices import register_device, registry_entries
from cases.organisation import Level, add_agency, add_unit, list_agencies, list_units
from cases.users import User, operator
from custody.proofs import check_inclusion_document
from custody.tiles import export_tiles, verify_export
from custody.verify import verify_database
from ingest.fixity import ObjectCollector, check_objects
from ingest.pipeline import Ingestor
from ingest.synthetic import make_recorder_image

DEMO_AGENCY, DEMO_AGENCY_NAME = "demo", "演示执法局"
DEMO_UNIT, DEMO_UNIT_NAME = "demo-team", "演示执法队"
DEMO_SERIAL, DEMO_OFFICER = "ZFY0001", "100234"  # what make_recorder_image writes
DEMO_ROLES = ("segment_1", "segment_2", "segment_3", "photo", "wav", "truncated_mp4", "zero_byte")


def run_demo(home: Home, settings: Settings) -> list[str]:
    """Make a recorder card, ingest it, verify everything; returns a summary for a newcomer."""
    lines = [place_demo_recorder(home, operator("demo"))]
    with tempfile.TemporaryDirectory(prefix="evidence-demo-") as tmp:
        card = Path(tmp) / "recorder"
        roles = make_recorder_image(card)
        for role, path in roles.items():  # keep the demo card small and to the point
            if role not in DEMO_ROLES and path.is_file():
                path.unlink()
        lines.append(f"Simulated recorder ZFY0001 (officer 100234) with {len(DEMO_ROLES)} files: "
                     "three video segments with a 4 s gap, a photo, an audio clip, a corrupt "
                     "recording and an empty file.")
        options = ingest_options(settings, home, device_serial=DEMO_SERIAL)
        if not settings.station_tz:
            from zoneinfo import ZoneInfo
            options.station_tz = ZoneInfo("Asia/Shanghai")  # the simulated recorder's clock
        ingestor = Ingestor(home.custody_log(), home.object_store(), options)
        try:
            results = list(ingestor.ingest(card))
        finally:
            ingestor.close()
        for result in sorted(results, key=lambda r: r.path):
            note = f" — {result.reason}" if result.reason else ""
            lines.append(f"  {result.status:>9}  {Path(result.path).name}{note}")
        with tempfile.TemporaryDirectory() as export_dir:
            export = Path(export_dir) / "export"
            export_tiles(home.engine(), home.verifier().vkey(), export)
            offline = verify_export(export, home.verifier().vkey())
    for rec in list_recordings(home):
        gaps = ", ".join(f"{g['seconds']:g} s" for g in rec["gaps"]) or "none"
        lines.append(f"Recording {rec['id'][:12]}… on {rec['device']}: {len(rec['segments'])} "
                     f"segment(s), gaps: {gaps}")
    collector = ObjectCollector()
    report = verify_database(home.engine(), home.verifier(), home.origin, visit=collector)
    check_objects(home.object_store(), collector, report)
    log = home.custody_log()
    proof = log.inclusion_proof(0)
    check_inclusion_document(proof.to_json(), home.verifier())
    lines += [
        f"Custody log: {report.entries} events, {report.checkpoints} signed checkpoints; "
        f"objects re-hashed: {report.objects}.",
        f"Verify (log and objects): {'INTACT' if report.ok else 'PROBLEMS FOUND'}; "
        f"offline tlog-tiles export: {'INTACT' if offline.ok else 'PROBLEMS FOUND'}.",
        f"Entry 0 proven in the signed tree of size {proof.size} with {len(proof.path)} hashes.",
        f"Data is in {home.root}; try `evidence recordings`, `evidence verify --objects`, "
        "`evidence log prove --entry 0 --json`.",
    ]
    return lines


def place_demo_recorder(home: Home, by: User) -> str:
    """The demo agency and unit, and the simulated recorder registered to it (each made once)."""
    log, engine = home.custody_log(), home.engine()
    if DEMO_AGENCY not in {a.code for a in list_agencies(engine, by)}:
        add_agency(log, by, DEMO_AGENCY, DEMO_AGENCY_NAME, Level.REGION, None)
    if DEMO_UNIT not in {u.code for u in list_units(engine, by, DEMO_AGENCY)}:
        add_unit(log, by, DEMO_UNIT, DEMO_AGENCY, DEMO_UNIT_NAME)
    entry = registry_entries(engine).get(DEMO_SERIAL)
    if entry is None or entry.unit_code != DEMO_UNIT or entry.officer_no != DEMO_OFFICER:
        register_device(log, by, DEMO_SERIAL, DEMO_OFFICER, DEMO_UNIT)
    return (f"Agency {DEMO_AGENCY} ({DEMO_AGENCY_NAME}), unit {DEMO_UNIT} ({DEMO_UNIT_NAME}): "
            f"recorder {DEMO_SERIAL} is registered to officer {DEMO_OFFICER} of that unit.")


def demo_users(home: Home) -> list[tuple[str, str, str]]:
    """A case officer, an auditor and an admin of the demo unit and agency, with fresh tokens."""
    from cases.users import Role, add_user

    made = []
    stamp = datetime.now(UTC).strftime("%H%M%S")
    for name, role in (("li.caseofficer", Role.CASE_OFFICER), ("wang.auditor", Role.AUDITOR),
                       ("admin", Role.ADMIN)):
        _, token = add_user(home.custody_log(), f"{name}-{stamp}", role, None, by=operator("demo"),
                            unit_code=DEMO_UNIT,
                            auditor_scope=DEMO_AGENCY if role is Role.AUDITOR else None)
        made.append((f"{name}-{stamp}", role.value, token))
    return made
