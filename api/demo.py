"""`evidence demo`: show a newcomer the custody log working end to end."""

from __future__ import annotations

import tempfile
from pathlib import Path

from api.home import Home
from custody.events import EventDraft, Subject
from custody.proofs import check_inclusion_document
from custody.tiles import export_tiles, verify_export
from custody.verify import verify_database


def run_custody_demo(home: Home) -> list[str]:
    """Record a short story of custody events, prove one, export and verify. Returns lines."""
    log = home.custody_log()
    sha = "9f" * 32
    subject = Subject("demo-0001", sha)
    result = log.append([
        EventDraft("evidence:file:ingested", "station:demo", subject,
                   {"size": 1048576, "source": "DCIM/ZFY0001_100234_20261127094500_0001.MP4"}),
        EventDraft("evidence:file:verified", "station:demo", subject, {"read_back_sha256": sha}),
        EventDraft("evidence:file:viewed", "user:case-officer-li", subject,
                   {"reason": "case review"}),
    ])
    proof = log.inclusion_proof(result.entries[0].seq)
    check_inclusion_document(proof.to_json(), home.verifier())
    report = verify_database(home.engine(), home.verifier(), home.origin)
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        export_tiles(home.engine(), home.verifier().vkey(), export)
        offline = verify_export(export, home.verifier().vkey())
    return [
        f"Recorded 3 custody events; the log now holds {report.entries} entries.",
        f"Signed checkpoint of size {result.checkpoint.size}, root {result.checkpoint.root_hash.hex()[:16]}…",
        f"Inclusion proof of entry {proof.index}: {len(proof.path)} hashes, verified offline.",
        f"Full verify: {'INTACT' if report.ok else 'PROBLEMS FOUND'}; "
        f"offline export verify: {'INTACT' if offline.ok else 'PROBLEMS FOUND'}.",
        f"Auditors check it with the key: {home.verifier().vkey()}",
    ]
