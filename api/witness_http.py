"""The witness's HTTP interface (c2sp.org/tlog-witness): POST /add-checkpoint, and a
monitoring read of the latest checkpoint it cosigned for a log."""

from __future__ import annotations

from fastapi import FastAPI, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from custody.witness import MAX_BODY, Witness


def witness_app(witness: Witness) -> FastAPI:
    app = FastAPI(title="evidence witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return Response("request too large\n", status_code=400, media_type="text/plain")
        answer = await run_in_threadpool(witness.add_checkpoint, body)
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)

    @app.get("/checkpoint")
    def latest(origin: str = Query(max_length=1000)) -> Response:
        cosigned = witness.latest(origin)
        if cosigned is None:
            return Response("no checkpoint of this log is cosigned\n", status_code=404,
                            media_type="text/plain")
        return Response(cosigned, media_type="text/plain; charset=utf-8")

    return app
