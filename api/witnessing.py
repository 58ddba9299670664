"""Asking outside witnesses (c2sp.org/tlog-witness) to cosign new checkpoints, and asking
them, at verify time, what they cosigned.

A thread beside the server or the dock sends the newest checkpoint to every configured
witness at most every ``EVIDENCE_WITNESS_SECONDS``, with a consistency proof from the size
the witness last cosigned. Appends never wait for it: a witness that is out is asked
again later, and an offline station catches up when the link is back. A witness that
answers 409 with a size is asked again from there; one that knows a larger log than
this one, or refuses the proof, is a rollback or a fork, logged as an error.
"""

from __future__ import annotations

import contextlib
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from api.periodic import Periodic, running
from api.settings import Settings
from custody.cosignature import CosignerKey
from custody.cosigned import WitnessView, add_checkpoint_request, last_cosigned, record_cosignature
from custody.log import CustodyLog
from custody.note import NoteError
from domain.errors import ConfigError, EvidenceError
from domain.messages import msg

logger = logging.getLogger("evidence.witnessing")
HTTP_TIMEOUT = 10.0
MAX_WAIT = 300.0


@dataclass(frozen=True)
class WitnessPeer:
    url: str  # the submission prefix; add-checkpoint and checkpoint are under it
    key: CosignerKey


class WitnessTrouble(EvidenceError):
    """A witness that could not be asked, or refused."""


def witness_keys(vkeys: Sequence[str]) -> list[CosignerKey]:
    """The witnesses' keys given on a command line (--witness)."""
    try:
        return [CosignerKey.from_vkey(vkey) for vkey in vkeys]
    except NoteError as exc:
        raise ConfigError(msg("--witness: {reason}", reason=exc.message),
                          hint=exc.hint or "copy the key the witness published") from None


def load_peers(path: Path) -> tuple[WitnessPeer, ...]:
    peers = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(msg("the witness list {path} cannot be read: {reason}", path=path, reason=exc),
                          hint=msg("EVIDENCE_WITNESSES_FILE names a file of `URL VKEY` lines")) from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        try:
            if len(parts) != 2 or urllib.parse.urlsplit(parts[0]).scheme not in ("http", "https"):
                raise NoteError(msg("expected `URL VKEY`"))
            peers.append(WitnessPeer(parts[0].rstrip("/"), CosignerKey.from_vkey(parts[1])))
        except NoteError as exc:
            raise ConfigError(msg("{path}, line {number}: {reason}", path=path, number=number,
                                  reason=exc.message),
                              hint=msg("each line is the witness's URL and its key")) from None
    return tuple(peers)


def _post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as answer:  # noqa: S310
            return int(answer.status), answer.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as refused:
        return int(refused.code), refused.read(65536).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise WitnessTrouble(msg("the witness at {url} did not answer: {reason}", url=url, reason=exc),
                             hint=msg("it is asked again later; appends go on meanwhile")) from None


def ask_to_cosign(log: CustodyLog, peer: WitnessPeer) -> int | None:
    """One round with one witness: the size it cosigned now, or None if nothing was new."""
    checkpoint = log.latest_checkpoint()
    old = last_cosigned(log.engine, peer.key.name)
    if checkpoint is None or (checkpoint.size <= old and old):
        return None
    for _ in range(3):  # a 409 tells the size the witness holds: ask again from there
        proof = list(log.consistency_proof(old, checkpoint.size).path) if old else []
        status, text = _post(f"{peer.url}/add-checkpoint",
                             add_checkpoint_request(old, proof, checkpoint.note))
        if status == 200:
            record_cosignature(log.engine, peer.key, checkpoint, text)
            return checkpoint.size
        if status == 409 and text.strip().isdigit():
            known = int(text.strip())
            if known > checkpoint.size:
                raise WitnessTrouble(msg("witness {key!r} cosigned a log of {known} entries; this one has "
                                         "{size}: it was rolled back", key=peer.key.name, known=known,
                                         size=checkpoint.size),
                                     hint=msg("stop and call the auditor: entries were removed"))
            if known == old:
                raise WitnessTrouble(msg("witness {key!r} holds another root at size {known}: a fork",
                                         key=peer.key.name, known=known),
                                     hint=msg("stop and call the auditor"))
            old = known
            continue
        raise WitnessTrouble(msg("witness {key!r} refused the checkpoint of size {size}: {status} {text}",
                                 key=peer.key.name, size=checkpoint.size, status=status,
                                 text=text.strip()[:200]),
                             hint=msg("422 means the log does not extend what it cosigned (a fork); "
                                      "403/404: the witness does not know this log's key or origin"))
    raise WitnessTrouble(msg("witness {key!r} kept moving; asked again later", key=peer.key.name))


def fetch_view(peer: WitnessPeer, origin: str) -> WitnessView:
    url = f"{peer.url}/checkpoint?" + urllib.parse.urlencode({"origin": origin})
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as answer:  # noqa: S310
            return WitnessView(peer.key, answer.read(65536).decode("utf-8"))
    except urllib.error.HTTPError as refused:
        return WitnessView(peer.key, None, f"it answered {refused.code}")
    except (urllib.error.URLError, OSError, TimeoutError, UnicodeDecodeError) as exc:
        return WitnessView(peer.key, None, f"it could not be reached: {exc}")


def witness_views(keys: Sequence[CosignerKey], peers: Sequence[WitnessPeer],
                  origin: str) -> list[WitnessView]:
    """What each witness named by ``keys`` says it cosigned for ``origin``."""
    by_key = {peer.key: peer for peer in peers}
    views = []
    for key in keys:
        peer = by_key.get(key)
        views.append(fetch_view(peer, origin) if peer else
                     WitnessView(key, None, "its URL is not in EVIDENCE_WITNESSES_FILE"))
    return views


class Witnesser(Periodic):
    """The background thread: each round asks every witness once; troubles are kept by
    witness and logged (a rollback or a fork as an error)."""

    def __init__(self, log: CustodyLog, peers: Sequence[WitnessPeer], every: float) -> None:
        super().__init__("witnesser", self.run_once, every, MAX_WAIT, HTTP_TIMEOUT * 3 + 5)
        self._log = log
        self._peers = tuple(peers)
        self.troubles: dict[str, str] = {}

    def run_once(self) -> bool:
        for peer in self._peers:
            try:
                ask_to_cosign(self._log, peer)
                self.troubles.pop(peer.key.name, None)
            except (EvidenceError, OSError) as exc:
                self.troubles[peer.key.name] = str(exc)
                log = logger.error if "rolled back" in str(exc) or "fork" in str(exc) else logger.warning
                log("witness %s: %s", peer.key.name, exc)
        return not self.troubles


@contextlib.contextmanager
def witnessing(log: CustodyLog, settings: Settings) -> Iterator[Witnesser | None]:
    """Run a Witnesser for the block when EVIDENCE_WITNESSES_FILE is set."""
    witnesser = (Witnesser(log, load_peers(settings.witnesses_file), settings.witness_seconds)
                 if settings.witnesses_file is not None else None)
    with running(witnesser):
        yield witnesser
