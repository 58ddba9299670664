"""A C2PA manifest in a redacted copy: it says the copy was made from an original by redaction.

The manifest (``c2pa-python``) names the original as its parent ingredient (the evidence id
as the ingredient's instance id, its SHA-256 in our own assertion), records a
``c2pa.opened`` of it and a ``c2pa.edited`` action describing the redaction (C2PA's
``c2pa.redacted`` is for assertions removed from a manifest, not for pixels covered), and is
signed with the agency's certificate (ES256). Anyone with a C2PA reader can check that the
published file is unchanged since it was signed and what it was derived from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa

from domain.errors import MediaError
from domain.messages import msg

ASSERTION_LABEL = "cn.gov.evidence.redaction"
GENERATOR = "evidence redaction"


@dataclass(frozen=True)
class SigningCredentials:
    """The agency's C2PA signing certificate chain (PEM, the signer's first) and its private
    key (PEM, an EC P-256 key for ES256); ``tsa_url``: an RFC 3161 time-stamping authority."""

    chain_pem: bytes
    key_pem: bytes
    tsa_url: str | None = None


@dataclass(frozen=True)
class Origin:
    """The original a redacted copy was made from."""

    evidence_id: str
    sha256: str
    name: str
    media_type: str


def sign_redacted(src: Path, dst: Path, media_type: str, origin: Origin,
                  redaction: dict[str, Any], credentials: SigningCredentials) -> None:
    """Write ``dst``: ``src`` with a signed manifest stating it is ``origin`` redacted."""
    ingredient_id = f"evidence:{origin.evidence_id}"
    manifest = {
        "claim_generator_info": [{"name": GENERATOR, "version": "1"}],
        "title": dst.name,
        "format": media_type,
        "ingredients": [{"title": origin.name, "format": origin.media_type,
                         "relationship": "parentOf", "instance_id": ingredient_id}],
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [
                {"action": "c2pa.opened", "parameters": {"ingredientIds": [ingredient_id]}},
                {"action": "c2pa.edited", "softwareAgent": {"name": GENERATOR},
                 "description": "redacted for publication: faces and chosen areas blurred, "
                                "chosen sound muted",
                 "parameters": {"redaction": redaction}},
            ]}},
            {"label": ASSERTION_LABEL, "data": {
                "original": {"evidence_id": origin.evidence_id, "sha256": origin.sha256,
                             "name": origin.name},
                "redaction": redaction}},
        ],
    }
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ES256, credentials.chain_pem, credentials.key_pem,
            credentials.tsa_url.encode() if credentials.tsa_url else None))
        with c2pa.Builder(json.dumps(manifest)) as builder, src.open("rb") as source, \
                dst.open("w+b") as out:
            builder.sign(signer, media_type, source, out)
    except c2pa.C2paError as err:
        raise MediaError(msg("the redacted copy could not be signed: {reason}", reason=str(err)),
                         hint=msg("check the C2PA signing certificate and key in the settings "
                                  "(EVIDENCE_C2PA_CERT, EVIDENCE_C2PA_KEY)")) from err


def read_manifest(path: Path, media_type: str, trust_anchors_pem: bytes | None = None
                  ) -> tuple[str, dict[str, Any]]:
    """The validation state (``Trusted``, ``Valid`` or ``Invalid``) and the active manifest."""
    settings: dict[str, Any] = {}
    if trust_anchors_pem:
        settings["trust"] = {"trust_anchors": trust_anchors_pem.decode()}
    context = c2pa.Context(c2pa.Settings.from_dict(settings))
    with path.open("rb") as stream, c2pa.Reader(media_type, stream, context=context) as reader:
        state = str(reader.get_validation_state())
        store = json.loads(reader.json())
    return state, store["manifests"][store["active_manifest"]]
