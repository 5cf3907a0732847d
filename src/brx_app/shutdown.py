"""The graceful stop of `brx-sync serve`: on SIGTERM readiness answers 503 at once while the
listener keeps accepting for a drain period, then uvicorn's own graceful shutdown.

Plain uvicorn closes its listener at the first SIGTERM: what a load balancer sends before it
notices is refused, and connections still in the accept backlog are reset. Here the first
SIGTERM only calls `on_drain` (readiness fails, answers say `Connection: close`); the server
goes on serving for `drain_seconds`, time for the load balancer to stop sending, and only then
does uvicorn stop: listener closed, idle connections closed, in-flight requests finished within
its `timeout_graceful_shutdown`, the lifespan shutdown (pools closed). The process then exits 0:
uvicorn re-raises only the signals its own handler took, and this one was not.

Only uvicorn's public hooks are overridden: `handle_exit` (its signal handler) and `on_tick`
(its 0.1 s main-loop tick). SIGINT keeps uvicorn's behaviour (stop now; a second one forces)."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

log = logging.getLogger("brx.shutdown")


class DrainingServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, *, drain_seconds: float, on_drain: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self.on_drain = on_drain
        self.drain_ends: float | None = None  # monotonic time; None until SIGTERM
        self._announced = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self.should_exit:
            super().handle_exit(sig, frame)
            return
        if self.drain_ends is not None:
            return  # already draining: the drain is bounded, a repeated SIGTERM changes nothing
        self.on_drain()
        # before start-up is over nobody can be sending yet: stop as soon as it is
        self.drain_ends = time.monotonic() + (self.drain_seconds if self.started else 0.0)

    async def on_tick(self, counter: int) -> bool:
        # the logging happens here, on the loop, rather than in the signal handler
        if self.drain_ends is not None and not self.should_exit:
            left = self.drain_ends - time.monotonic()
            if not self._announced:
                self._announced = True
                log.info("SIGTERM: readiness answers 503; accepting for %.1f s", max(0.0, left))
            if left <= 0:
                log.info(
                    "drain over: the listener closes; requests in flight get %s s",
                    self.config.timeout_graceful_shutdown,
                )
                self.should_exit = True
        return await super().on_tick(counter)
