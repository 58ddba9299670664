"""Running the app under uvicorn so that it shuts down without waiting on open streams.

uvicorn's shutdown waits for every response in progress before it finishes (and only then
runs the app's lifespan shutdown), so a response that never ends on its own — the station
screen's event stream — would hold the server up until its lifetime ran out.
``EvidenceServer`` first tells the app (``Services.stopping``), and the streams end with an
``end`` event at their next look for changes.
"""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from api.http.services import Services


class EvidenceServer(uvicorn.Server):
    """uvicorn's server for ``app``, which tells the app's streams to end when it stops."""

    def __init__(self, app: FastAPI, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        services: Services = self.app.state.services
        services.stopping.set()
        await super().shutdown(sockets)
