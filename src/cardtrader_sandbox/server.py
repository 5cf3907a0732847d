"""Running the simulator under uvicorn: in the foreground (the CLI) or in a background thread
with its own event loop (test fixtures, the demo). The HTTP protocol is uvicorn's own, extended
to hand the connection's transport to the gate so a "dropped connection" fault is real."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from cardtrader_sandbox.app import create_sandbox_app
from cardtrader_sandbox.gate import TRANSPORT_KEY
from cardtrader_sandbox.state import SandboxState

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
    _Base = H11Protocol  # type: ignore[misc,assignment]


class DroppableProtocol(_Base):
    """uvicorn's protocol, plus the transport in each request's scope (see `gate._drop`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope[TRANSPORT_KEY] = transport
            await inner(scope, receive, send)

        self.app = app


def make_server(state: SandboxState, host: str, port: int, log_level: str = "warning") -> Any:
    config = uvicorn.Config(
        create_sandbox_app(state),
        host=host,
        port=port,
        http=DroppableProtocol,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


def serve_forever(state: SandboxState, host: str, port: int) -> None:
    """Foreground: returns when uvicorn stops (Ctrl-C)."""
    make_server(state, host, port, log_level="info").run()


class BackgroundSandbox:
    """The simulator on a free port of 127.0.0.1 in a daemon thread; `stop()` shuts it down."""

    def __init__(self, state: SandboxState, host: str = "127.0.0.1") -> None:
        self.state = state
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self._server = make_server(state, host, self.port)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name=f"sandbox-{self.port}",
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> BackgroundSandbox:
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive() or waited > timeout:
                raise RuntimeError("the sandbox server did not start")
            threading.Event().wait(0.02)
            waited += 0.02
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
