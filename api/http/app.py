"""The case service HTTP API: ``create_app(home)`` builds it; it reads no settings."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp

from api.home import Home
from api.http import (
    routes_admin,
    routes_cases,
    routes_custody,
    routes_evidence,
    routes_org,
    routes_recordings,
)
from api.http.bodies import JSON_BODY_LIMIT, BodyLimit, install_body_limits, refuse_unexpected_body
from api.http.docs import install_docs
from api.http.errors import install_error_handlers
from api.http.headers import SecurityHeaders
from api.http.pages import install_pages  # pages (helper)
from api.http.ratelimit import ViewSessionCharges
from api.http.services import ApiOptions, Services
from api.http.strict import reject_unknown_query
from cases import access

PREFIX = "/api/v1"

DESCRIPTION = """\
Body-camera evidence: search and play footage, manage cases, and audit the custody log.

**Authentication.** Every route needs `Authorization: Bearer <token>`; an admin issues
tokens with `evidence user add NAME --role ROLE --unit UNIT` or `POST /api/v1/users`. A missing,
unknown or revoked token gets 401; a good token without the right gets 403.

**Errors** always have the shape `{"error": {"code", "message", "hint"}}`. Unknown
query parameters are refused (400) rather than ignored.

**Bodies** are limited before anything reads them: a JSON body to at most
""" + f"{JSON_BODY_LIMIT // 1024} KiB" + """; a route without a body reads none. A larger
`Content-Length` gets 413 before the body is read (and before authentication); a
body streamed without one gets 413 when it passes the limit.

**Lists** of evidence, cases and recordings come in pages: `offset` and `limit` (at
most 500) in, `total` and `next_offset` (null on the last page) out.

**Custody events.** Anything that delivers footage appends a custody event naming
the user, what they received (the copy and its SHA-256), when, and the `reason`
they gave: `evidence:file:viewed` (playback), `evidence:file:downloaded`
(original), `case:bundle:requested` and `case:bundle:exported` (export).

**Viewing sessions.** A player fetches a file in many Range requests, so one
event is appended per *session*, not per request: a request joins the user's
session on the same file if it was last used less than 30 minutes ago and the
request gives no different `reason`; otherwise it opens a new session. The
session id is returned in `X-View-Session`.

**Ranges.** One range per request (`bytes=a-b`, `a-`, `-n`) gets 206; several
ranges get the whole file with 200; an `If-Range` that is not the strong ETag
(the file's SHA-256) gets the whole file; a range past the end gets 416 with
`Content-Range: bytes */size`, and so does a position of more than 19 digits.

**Recordings.** `GET /recordings/{id}/playback` joins the segments' playback
copies by stream copy into one MP4, cached on the server; gaps between segments
are closed in that file, so read them from `GET /recordings`.
`GET /recordings/{id}/export` delivers the same file as an attachment and logs
`evidence:recording:exported` per segment with the gaps, as `evidence recordings --join` does.

**Retention.** Footage on no case is kept for the ingest retention (at least six
months); attaching it to a case lengthens the retention of the original and its
copies to 100 years (`retention_category` becomes `case`), and nothing ever
shortens it. A legal hold (admin) blocks deletion whatever the dates.

**Roles.**

""" + access.ROLE_TABLE


class EvidenceApp(FastAPI):
    """FastAPI with the body limit and the security headers outside every other layer,
    Starlette's last-resort 500 handler included."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(BodyLimit(super().build_middleware_stack()))


def create_app(home: Home, options: ApiOptions | None = None) -> FastAPI:
    """The ASGI app serving ``home``: its database, object store and custody log."""
    engine = home.engine()
    services = Services(engine=engine, store=home.object_store(), log=home.custody_log(engine),
                        verifier=home.verifier(), origin=home.origin,
                        cache_dir=home.recordings_cache, options=options or ApiOptions())
    app = EvidenceApp(title="evidence case service", version="1", description=DESCRIPTION,
                      openapi_url=f"{PREFIX}/openapi.json", docs_url=None, redoc_url=None)
    app.state.services = services
    install_error_handlers(app)
    install_body_limits(app)
    for module in (routes_evidence, routes_recordings, routes_cases, routes_custody, routes_admin,
                   routes_org):
        app.include_router(module.router, prefix=PREFIX, dependencies=[
            Depends(refuse_unexpected_body), Depends(reject_unknown_query)])
    install_pages(app)  # pages (helper)
    app.add_middleware(ViewSessionCharges)  # a new viewing session takes from the rate limit
    install_docs(app)
    return app
