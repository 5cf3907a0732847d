"""A TCP proxy a test can cut and restore: the way to make one dependency unreachable for one
test (its own adapter goes through the proxy) without touching the shared server.

`cut()` stops listening and drops every open connection (clients see refused connections and
broken pipes, as when the server goes away); `start()` listens again on the same port. `delay`
holds each client packet back a little, to slow a fast path down enough to cut it midway.
`sever_open()` is the race a client cannot see coming: every connection open now stays up
until the client next sends on it, and that packet is dropped with the connection (a server
that terminated the session before the client read the socket).
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, host: str, port: int, *, delay: float = 0.0) -> None:
        self.target, self.delay = (host, port), delay
        self.port = 0  # chosen by the first start, kept by the next ones
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._upstream: set[asyncio.StreamWriter] = set()
        self._severed: set[asyncio.StreamWriter] = set()
        self.dropped: list[bytes] = []  # client packets that met a severed connection

    def sever_open(self) -> int:
        """Mark every open connection to fail on its next client packet; returns how many."""
        self._severed |= self._upstream
        return len(self._upstream)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        self._upstream.add(up_writer)
        await asyncio.gather(
            self._pump(reader, up_writer, self.delay),
            self._pump(up_reader, writer, 0.0),
            return_exceptions=True,
        )

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
    ) -> None:
        try:
            while data := await reader.read(65536):
                if writer in self._severed:
                    self.dropped.append(data)
                    break
                if delay:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            self._upstream.discard(writer)
            self._severed.discard(writer)
            writer.transport.abort()
