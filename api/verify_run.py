"""The whole verify, as `evidence verify`, GET /api/v1/verify and a verify job run it.

The custody log (``custody.verify``), then the catalogue against it
(``cases.catalog_check``), then, with ``objects``, every stored object re-hashed
(``ingest.fixity``). It lives here because it joins ``cases`` and ``ingest``,
which never import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine

from cases.catalog_check import check_catalog
from custody.note import Verifier
from custody.progress import Progress
from custody.report import VerifyReport
from custody.timestamps import check_timestamps
from custody.verify import verify_database
from domain.errors import ConfigError
from domain.messages import msg
from ingest.fixity import ObjectCollector, check_objects
from storage.objects import ObjectStore


def run_verify(engine: Engine, store: ObjectStore | None, verifier: Verifier, origin: str | None,
               *, objects: bool, progress: Progress | None = None,
               tsa_roots: Sequence[x509.Certificate] | None = None) -> VerifyReport:
    """The report; ``store`` is needed only with ``objects``."""
    if objects and store is None:
        raise ConfigError(msg("checking the stored objects needs the object store"),
                          hint=msg("pass the home's object store"))
    collector = ObjectCollector() if objects else None
    report = verify_database(engine, verifier, origin, visit=collector, progress=progress)
    if progress is not None:
        progress.phase("catalog")
    check_catalog(engine, report)
    check_timestamps(engine, report, tsa_roots)
    if collector is not None and store is not None:
        counted = _ObjectCount(progress)
        if progress is not None:
            progress.phase("objects", len(collector.objects))
        check_objects(store, collector, report, progress=counted if progress else None)
        if progress is not None:  # a missing object is checked too, though nothing was read
            progress.checked(len(collector.objects))
    return report


class _ObjectCount:
    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._count = 0

    def __call__(self, _size: int) -> None:
        self._count += 1
        if self._progress is not None:
            self._progress.checked(self._count)


def check_witnesses_now(engine: Engine, report: VerifyReport, verifier: Verifier,
                        origin: str | None, vkeys: Sequence[str], quorum: int | None,
                        peers_file: Path | None) -> None:
    """Ask each witness named what it cosigned, and check the log extends it."""
    from api.witnessing import load_peers, witness_keys, witness_views
    from custody.cosigned import check_witnesses

    keys = witness_keys(vkeys)
    wanted = len(keys) if quorum is None else quorum
    if not 1 <= wanted <= len(keys):
        raise ConfigError(msg("--quorum {quorum} is not between 1 and the {keys_count} witnesses given",
                              quorum=quorum, keys_count=len(keys)))
    peers = load_peers(peers_file) if peers_file else ()
    views = witness_views(keys, peers, origin or verifier.name)
    check_witnesses(engine, report, views, verifier, origin, wanted)
