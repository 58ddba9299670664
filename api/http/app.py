"""The case service HTTP API: ``create_app(home)`` builds it; it reads no settings."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from api.home import Home
from api.http import routes_admin, routes_cases, routes_custody, routes_evidence, routes_recordings
from api.http.errors import install_error_handlers
from api.http.services import ApiOptions, Services
from api.http.strict import reject_unknown_query

PREFIX = "/api/v1"
CACHE_FOLDER = "cache/recordings"

DESCRIPTION = """\
Body-camera evidence: search and play footage, manage cases, and audit the custody log.

Every route needs `Authorization: Bearer <token>` (an admin issues tokens with
`evidence user add` or `POST /api/v1/users`). Errors always have the shape
`{"error": {"code", "message", "hint"}}`. Playback, downloads and exports append
custody events naming the user, what they saw, when, and the `reason` they gave.
"""


def create_app(home: Home, options: ApiOptions | None = None) -> FastAPI:
    """The ASGI app serving ``home``: its database, object store and custody log."""
    engine = home.engine()
    services = Services(engine=engine, store=home.object_store(), log=home.custody_log(engine),
                        verifier=home.verifier(), origin=home.origin,
                        cache_dir=home.root / CACHE_FOLDER, options=options or ApiOptions())
    app = FastAPI(title="evidence case service", version="1", description=DESCRIPTION,
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs",
                  redoc_url=None)
    app.state.services = services
    install_error_handlers(app)
    for module in (routes_evidence, routes_recordings, routes_cases, routes_custody, routes_admin):
        app.include_router(module.router, prefix=PREFIX, dependencies=[Depends(reject_unknown_query)])
    return app
