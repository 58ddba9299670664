"""The review packet's part of an offline bundle check (``cases.bundle_verify``): the
listing in the bundle is the one whose hash the submission event recorded, and every item
it cites is in the bundle with the listed hash and size. Database-free, like its caller."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from domain.event_types import EventType
from domain.messages import Message, msg

PACKET_LISTING = "review-packet.json"
PACKET_EXPORT_EVENT = EventType.REVIEW_PACKET_EXPORTED


def packet_problems(manifest: Mapping[str, Any], sealing: Mapping[str, Any],
                    events: Mapping[int, Mapping[str, Any]],
                    read: Callable[[str], bytes | None]) -> list[Message]:
    """What is wrong with the bundle as a review packet (nothing: an empty list).
    ``events``: the bundle's proven events; ``read``: a member's bytes (None: missing,
    reported by the caller)."""
    packet = manifest.get("packet")
    if sealing["type"] != PACKET_EXPORT_EVENT:
        return [msg("the manifest names a review packet, but the bundle was exported as a case "
                    "bundle")] if packet is not None else []
    if not isinstance(packet, dict):
        return [msg("the bundle was exported as a review packet, but its manifest names none")]
    details = sealing["details"]
    if (details.get("packet_id"), details.get("packet_sha256")) != (packet.get("id"),
                                                                    packet.get("sha256")):
        return [msg("the export event names packet {named} ({named_sha256}), the manifest {packet} "
                    "({sha256})", named=str(details.get("packet_id")),
                    named_sha256=str(details.get("packet_sha256")), packet=str(packet.get("id")),
                    sha256=str(packet.get("sha256")))]
    raw = read(PACKET_LISTING)
    if raw is None:
        return []
    digest = hashlib.sha256(raw).hexdigest()
    if digest != packet.get("sha256"):
        return [msg("{name} hashes to {digest}, not the packet's SHA-256 {sha256}: the listing "
                    "was altered", name=PACKET_LISTING, digest=digest,
                    sha256=str(packet.get("sha256")))]
    if not any(e["type"] == EventType.REVIEW_SUBMITTED
               and e["details"].get("packet_id") == packet.get("id")
               and e["details"].get("packet_sha256") == digest for e in events.values()):
        return [msg("no proven submission event records packet {packet} with the SHA-256 "
                    "{digest}", packet=str(packet.get("id")), digest=digest)]
    try:
        listing = json.loads(raw)
        cited = [listing["draft"], *listing["cited"]]
        files = {f["evidence_id"]: f for f in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        return [msg("{name} is not a packet listing ({error})", name=PACKET_LISTING, error=str(exc))]
    problems: list[Message] = []
    for item in cited:
        found = files.get(item.get("evidence_id"))
        if found is None:
            problems.append(msg("cited item {item} of the packet is not in the bundle",
                                item=str(item.get("evidence_id"))))
        elif (found.get("sha256"), found.get("size")) != (item.get("sha256"), item.get("size")):
            problems.append(msg("cited item {item} is in the bundle with another hash or size "
                                "than the packet lists", item=str(item.get("evidence_id"))))
    return problems
