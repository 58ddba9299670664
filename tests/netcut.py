"""A TCP forwarder on 127.0.0.1 whose line a test can cut and restore.

``cut()`` is what a client sees when the network to its server goes away: every
open connection is reset, and so is each new one as soon as it is accepted.
``restore()`` forwards again. The port stays the same throughout (the listening
socket stays open, so no other socket can take its port while the line is cut).
One thread accepts and two pump each connection; ``close()`` ends them all.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType

_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, not FIN


def _shut(sockets: tuple[socket.socket, ...]) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):  # already shut, closed or never connected
            sock.shutdown(socket.SHUT_RDWR)


def _reset(sockets: tuple[socket.socket, ...]) -> None:
    """Wake whoever reads or writes them; their close() then sends RST."""
    for sock in sockets:
        with contextlib.suppress(OSError):  # already closed
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    _shut(sockets)


class _Link:
    """One client connection and its upstream connection, pumped both ways."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.sockets = (client, upstream)
        self.threads = [threading.Thread(target=self._pump, args=pair, daemon=True,
                                         name="netcut-pump")
                        for pair in ((client, upstream), (upstream, client))]
        self._lock = threading.Lock()
        self._running = len(self.threads)
        for thread in self.threads:
            thread.start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with self._lock:
            _shut(self.sockets)  # either side ending ends the link: wake the other pump
            self._running -= 1
            if self._running == 0:
                for sock in self.sockets:
                    sock.close()

    @property
    def open(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def reset(self) -> None:
        with self._lock:
            _reset(self.sockets)
        for thread in self.threads:
            thread.join()


class NetCut:
    """Forwards 127.0.0.1:``port`` to ``target``; cut() and restore() the line."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._up = True
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, daemon=True, name="netcut-accept")
        self._acceptor.start()

    @property
    def up(self) -> bool:
        return self._up

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream: socket.socket | None = None
            if self._up:
                with contextlib.suppress(OSError):
                    upstream = socket.create_connection(self.target, timeout=5)
                    upstream.settimeout(None)
            with self._lock:
                if self._up and upstream is not None:
                    self._links = [link for link in self._links if link.open]
                    self._links.append(_Link(client, upstream))
                    continue
            # cut (or the target refused): the client's connection is reset at once
            sockets = (client,) if upstream is None else (client, upstream)
            _reset(sockets)
            for sock in sockets:
                sock.close()

    def cut(self) -> None:
        """Reset every open connection and each new one; returns once all are gone."""
        with self._lock:
            self._up = False
            links, self._links = self._links, []
        for link in links:
            link.reset()

    def restore(self) -> None:
        """Forward new connections again."""
        self._up = True

    def close(self) -> None:
        self.cut()
        _shut((self._listener,))  # wakes the acceptor out of accept()
        self._listener.close()
        self._acceptor.join()

    def __enter__(self) -> NetCut:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
