"""The review packet's part of an offline bundle check (``cases.bundle_verify``): the
listing in the bundle is the one whose hash the submission event recorded, and every item
it cites is in the bundle with the listed hash and size. Database-free, like its caller."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from domain.event_types import EventType

PACKET_LISTING = "review-packet.json"
PACKET_EXPORT_EVENT = EventType.REVIEW_PACKET_EXPORTED


def packet_problems(manifest: Mapping[str, Any], sealing: Mapping[str, Any],
                    events: Mapping[int, Mapping[str, Any]],
                    read: Callable[[str], bytes | None]) -> list[str]:
    """What is wrong with the bundle as a review packet (nothing: an empty list).
    ``events``: the bundle's proven events; ``read``: a member's bytes (None: missing,
    reported by the caller)."""
    packet = manifest.get("packet")
    if sealing["type"] != PACKET_EXPORT_EVENT:
        return ["the manifest names a review packet, but the bundle was exported as a case "
                "bundle"] if packet is not None else []
    if not isinstance(packet, dict):
        return ["the bundle was exported as a review packet, but its manifest names none"]
    details = sealing["details"]
    if (details.get("packet_id"), details.get("packet_sha256")) != (packet.get("id"),
                                                                    packet.get("sha256")):
        return [f"the export event names packet {details.get('packet_id')} "
                f"({details.get('packet_sha256')}), the manifest {packet.get('id')} "
                f"({packet.get('sha256')})"]
    raw = read(PACKET_LISTING)
    if raw is None:
        return []
    digest = hashlib.sha256(raw).hexdigest()
    if digest != packet.get("sha256"):
        return [f"{PACKET_LISTING} hashes to {digest}, not the packet's SHA-256 "
                f"{packet.get('sha256')}: the listing was altered"]
    if not any(e["type"] == EventType.REVIEW_SUBMITTED
               and e["details"].get("packet_id") == packet.get("id")
               and e["details"].get("packet_sha256") == digest for e in events.values()):
        return [f"no proven submission event records packet {packet.get('id')} with the "
                f"SHA-256 {digest}"]
    try:
        listing = json.loads(raw)
        cited = [listing["draft"], *listing["cited"]]
        files = {f["evidence_id"]: f for f in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{PACKET_LISTING} is not a packet listing ({exc})"]
    problems = []
    for item in cited:
        found = files.get(item.get("evidence_id"))
        if found is None:
            problems.append(f"cited item {item.get('evidence_id')} of the packet is not in the "
                            "bundle")
        elif (found.get("sha256"), found.get("size")) != (item.get("sha256"), item.get("size")):
            problems.append(f"cited item {item.get('evidence_id')} is in the bundle with another "
                            "hash or size than the packet lists")
    return problems
