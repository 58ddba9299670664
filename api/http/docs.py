"""The API docs page: Swagger UI from the ``swagger-ui-bundle-v2`` package, never a CDN.

Stations and offices are often offline, and the pages' policy forbids script
from elsewhere. FastAPI's own docs page links a CDN and starts Swagger UI with
an inline script, which that policy blocks; this page loads the package's files
from ``/ui/swagger/`` and starts them from ``static/docs.js``.

Wiring: ``install_docs(app)`` in ``create_app`` (with FastAPI's ``docs_url=None``).
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/api/v1/docs"
SWAGGER_URL = "/ui/swagger"
_PAGE = Path(__file__).parent / "static" / "docs.html"
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)

router = APIRouter(include_in_schema=False)


@router.get(DOCS_URL)
def docs_page() -> FileResponse:
    return FileResponse(_PAGE, media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


def install_docs(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(SWAGGER_URL, StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")
