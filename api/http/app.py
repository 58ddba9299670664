"""The case service HTTP API: ``create_app(home)`` builds it; it reads no settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp

from api.home import Home
from api.http import (
    public_annual,
    public_decisions,
    public_pages,
    routes_actions,
    routes_admin,
    routes_annual_report,
    routes_audit,
    routes_calendar,
    routes_cases,
    routes_custody,
    routes_decisions,
    routes_evidence,
    routes_oidc,
    routes_org,
    routes_publication,
    routes_recordings,
    routes_redactions,
    routes_review,
    routes_review_lists,
    routes_session,
    routes_stations,
)
from api.http.bodies import (
    JSON_BODY_LIMIT,
    BodyLimit,
    install_body_limits,
    largest_limit,
    refuse_unexpected_body,
)
from api.http.docs import install_docs
from api.http.errors import install_error_handlers
from api.http.headers import SecurityHeaders
from api.http.oidc import OidcClient
from api.http.pages import install_pages  # pages (helper)
from api.http.public_site import install_public_site
from api.http.ratelimit import ViewSessionCharges
from api.http.services import ApiOptions, Services
from api.http.strict import reject_unknown_query
from api.verify_run import run_verify
from cases import access
from cases.export_jobs import ExportRunner
from cases.verify_jobs import VerifyJobs

PREFIX = "/api/v1"

DESCRIPTION = """\
Body-camera evidence: search and play footage, manage cases, and audit the custody log.

**Authentication.** Every route needs `Authorization: Bearer <token>` (machines; an admin
issues tokens with `evidence user add NAME --role ROLE --unit UNIT` or `POST /api/v1/users`)
or the browser session cookie `evidence_session` (people: `POST /api/v1/session` with a name
and password, or single sign-on at `/auth/oidc/login`). With the cookie, every POST, PUT,
PATCH and DELETE also needs the session's CSRF token in `X-CSRF-Token` (else 403, code
`csrf`). A missing, unknown or revoked token or session gets 401; a good one without the
right gets 403. Sign-in routes need neither.

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
copies by stream copy into one MP4 on the wall clock, cached on the server: time t
into the file is the recording's start plus t, a gap is black picture and silence of
its true length, and where segments overlap the later one is shown from its own start.
`GET /recordings/{id}` gives the timeline: every segment, gap and overlap, exactly.
`GET /recordings/{id}/export` delivers the same file as an attachment and logs
`evidence:recording:exported` per segment with the gaps and overlaps, as
`evidence recordings --join` does.

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
        # Built at the first request, when every route is known: the ceiling is the largest
        # route's limit (a case document's), not the JSON default that would refuse it.
        ceiling = largest_limit(self.routes)
        return SecurityHeaders(BodyLimit(super().build_middleware_stack(), ceiling))


SHUTDOWN_WAIT = 60.0  # seconds a shutdown waits for a running verify job to stop


def create_app(home: Home, options: ApiOptions | None = None) -> FastAPI:
    """The ASGI app serving ``home``: its database, object store and custody log."""
    engine = home.engine()
    options = options or ApiOptions()
    log, store, verifier = home.custody_log(engine), home.object_store(), home.verifier()
    exports = ExportRunner(log, store, home.exports, options.clock)
    jobs = VerifyJobs(log, lambda objects, progress: run_verify(
        engine, store, verifier, home.origin, objects=objects, progress=progress,
        tsa_roots=options.tsa_roots),
        clock=options.clock)
    oidc = options.sign_in.oidc
    services = Services(engine=engine, store=store, log=log, verifier=verifier,
                        origin=home.origin, cache_dir=home.recordings_cache, options=options,
                        export_dir=home.exports, exports=exports, verify_jobs=jobs,
                        oidc=OidcClient(oidc) if oidc is not None else None)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        exports.shutdown()  # a running export finishes before the server stops
        # a running verify job stops at its next step and is recorded as cancelled (one that
        # does not stop within SHUTDOWN_WAIT is left to be marked failed by its heartbeat)
        await asyncio.to_thread(jobs.close, SHUTDOWN_WAIT)

    app = EvidenceApp(title="evidence case service", version="1", description=DESCRIPTION,
                      openapi_url=f"{PREFIX}/openapi.json", docs_url=None, redoc_url=None,
                      lifespan=lifespan)
    app.state.services = services
    install_error_handlers(app)
    install_body_limits(app)
    for module in (routes_evidence, routes_recordings, routes_cases, routes_custody, routes_admin,
                   routes_org, routes_session, routes_stations, routes_audit, routes_actions,
                   routes_review, routes_review_lists, routes_calendar, routes_redactions,
                   routes_decisions, routes_publication, routes_annual_report):
        app.include_router(module.router, prefix=PREFIX, dependencies=[
            Depends(refuse_unexpected_body), Depends(reject_unknown_query)])
    app.include_router(routes_oidc.router)  # the provider's answer carries its own parameters
    install_pages(app)  # pages (helper)
    # the public site at /public/, no sign-in
    install_public_site(app, [*public_decisions.routers, *public_annual.routers,
                              *public_pages.routers])
    app.add_middleware(ViewSessionCharges)  # a new viewing session takes from the rate limit
    install_docs(app)
    return app
