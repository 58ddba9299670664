"""The whole verify, as `evidence verify`, GET /api/v1/verify and a verify job run it.

The custody log (``custody.verify``), then the catalogue against it
(``cases.catalog_check``), then, with ``objects``, every stored object re-hashed
(``ingest.fixity``). It lives here because it joins ``cases`` and ``ingest``,
which never import each other.
"""

from __future__ import annotations

from sqlalchemy import Engine

from cases.catalog_check import check_catalog
from custody.note import Verifier
from custody.progress import Progress
from custody.report import VerifyReport
from custody.verify import verify_database
from domain.errors import ConfigError
from domain.messages import msg
from ingest.fixity import ObjectCollector, check_objects
from storage.objects import ObjectStore


def run_verify(engine: Engine, store: ObjectStore | None, verifier: Verifier, origin: str | None,
               *, objects: bool, progress: Progress | None = None) -> VerifyReport:
    """The report; ``store`` is needed only with ``objects``."""
    if objects and store is None:
        raise ConfigError(msg("checking the stored objects needs the object store"),
                          hint=msg("pass the home's object store"))
    collector = ObjectCollector() if objects else None
    report = verify_database(engine, verifier, origin, visit=collector, progress=progress)
    if progress is not None:
        progress.phase("catalog")
    check_catalog(engine, report)
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
