"""Probes, metrics and the OpenAPI document: public, never rate limited.

Readiness pings each dependency with a short timeout, all at once, and reports only the
exception's type: connection strings and hosts stay out of the answer."""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Awaitable, Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import falcon
import falcon.asgi

from brx_app import metrics
from brx_app.http.middleware import PUBLIC
from brx_app.runtime import LABELS
from brx_domain.ports import TaskQueue

Check = Callable[[], Awaitable[None]]
TIMEOUT = 2.0
STOPPING = {"status": "unhealthy", "message": "shutting down: finishing the requests in flight"}


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


async def probe(name: str, check: Check, limit: float = TIMEOUT) -> dict[str, str]:
    label = LABELS.get(name, name)
    try:
        await asyncio.wait_for(check(), limit)
    except TimeoutError:
        return {"status": "unhealthy", "message": f"{label} did not answer within {limit} s"}
    except Exception as exc:  # any failure means "down"; only its type is shown
        return {"status": "unhealthy", "message": f"{label} unavailable ({type(exc).__name__})"}
    return {"status": "healthy", "message": f"{label} connection successful"}


async def probe_all(checks: Mapping[str, Check]) -> dict[str, dict[str, str]]:
    names = list(checks)
    results = await asyncio.gather(*(probe(name, checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


def _overall(states: Mapping[str, Mapping[str, str]]) -> str:
    return "healthy" if all(s["status"] == "healthy" for s in states.values()) else "unhealthy"


class Live:
    auth = PUBLIC

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"status": "alive"}


class Ready:
    """503 while the process is stopping (no dependency is asked then): a load balancer takes
    it out before the listener closes."""

    auth = PUBLIC

    def __init__(self, checks: Mapping[str, Check], stopping: Callable[[], bool]) -> None:
        self.checks, self.stopping = checks, stopping

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if self.stopping():
            resp.status = falcon.HTTP_503
            resp.media = {"status": "unhealthy", "server": STOPPING}
            return
        states = await probe_all(self.checks)
        overall = _overall(states)
        resp.status = falcon.HTTP_200 if overall == "healthy" else falcon.HTTP_503
        resp.media = {"status": overall, **states}


class Health:
    """The detailed view: versions, dependencies, pool usage and queue depth."""

    auth = PUBLIC

    def __init__(
        self,
        checks: Mapping[str, Check],
        details: Mapping[str, Callable[[], Awaitable[dict[str, Any]]]],
        queue: TaskQueue,
        environment: str,
    ) -> None:
        self.checks, self.details, self.queue, self.environment = (
            checks,
            details,
            queue,
            environment,
        )

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        states = await probe_all(self.checks)
        overall = _overall(states)
        resp.status = falcon.HTTP_200 if overall == "healthy" else falcon.HTTP_503
        resp.media = {
            "status": overall,
            "version": _version("brx-sync"),
            "versions": {
                "python": platform.python_version(),
                **{pkg: _version(pkg) for pkg in ("falcon", "pydantic", "sqlalchemy", "arq")},
            },
            "environment": self.environment,
            "dependencies": states,
            "details": {name: await _detail(get) for name, get in self.details.items()},
            "queue_depth": await queue_depth(self.queue),
        }


async def _detail(get: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    try:
        return await asyncio.wait_for(get(), TIMEOUT)
    except Exception as exc:  # a detail that cannot be read is reported, not fatal
        return {"error": type(exc).__name__}


async def queue_depth(queue: TaskQueue) -> dict[str, int]:
    try:
        depths = await asyncio.wait_for(queue.depth(), TIMEOUT)
    except Exception:  # the queue being down shows in readiness; depth is best effort
        return {}
    metrics.set_queue_depth(depths)
    return depths


class Metrics:
    """Prometheus text; the gauges (queue depth, pool usage) are sampled first."""

    auth = PUBLIC

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        await self.runtime.sample()
        resp.content_type = metrics.CONTENT_TYPE
        resp.data = metrics.exposition()


class OpenApi:
    auth = PUBLIC

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = self.document
