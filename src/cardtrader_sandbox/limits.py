"""CardTrader's three rate limits per token (sliding windows) and the request log tests use to
prove a client never exceeded them."""

from __future__ import annotations

import hashlib
import math
from collections import deque
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class SandboxLimit:
    name: str
    requests: int
    seconds: float

    @property
    def message(self) -> str:
        unit = "seconds" if self.seconds != 1 else "second"
        return f"Too many requests: max {self.requests} requests per {self.seconds:g} {unit}"


OVERALL = SandboxLimit("overall", 200, 10.0)
MARKETPLACE = SandboxLimit("marketplace", 10, 1.0)
JOBS = SandboxLimit("jobs", 1, 1.0)


def token_hash(token: str) -> str:
    """Short stable id of a token for logs and answers: the token itself is never shown."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def limits_for(path: str) -> tuple[SandboxLimit, ...]:
    """Which limits a path counts against (every path counts against the overall one)."""
    if path.startswith("/api/v2/marketplace/"):
        return (MARKETPLACE, OVERALL)
    if path.startswith("/api/v2/jobs/"):
        return (JOBS, OVERALL)
    return (OVERALL,)


class SandboxRateLimiter:
    """Sliding windows of accepted request times per (token, limit); refused requests do not
    consume the window, so a client that backs off recovers."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], deque[float]] = {}

    def check(self, token: str, path: str, now: float) -> tuple[SandboxLimit, float] | None:
        """None when accepted (and recorded); else the broken limit and seconds to wait."""
        limits = limits_for(path)
        for limit in limits:
            window = self._windows.setdefault((token, limit.name), deque())
            while window and window[0] <= now - limit.seconds:
                window.popleft()
            if len(window) >= limit.requests:
                return limit, window[0] + limit.seconds - now
        for limit in limits:
            self._windows[(token, limit.name)].append(now)
        return None

    def clear(self) -> None:
        self._windows.clear()


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    token_hash: str | None
    method: str
    path: str
    time: float
    status: int


class RequestLog:
    """Every /api/v2 request with its final status (bounded, oldest dropped first)."""

    def __init__(self, maxlen: int = 500_000) -> None:
        self.entries: deque[LoggedRequest] = deque(maxlen=maxlen)

    def record(self, entry: LoggedRequest) -> None:
        self.entries.append(entry)

    def clear(self) -> None:
        self.entries.clear()

    def select(self, token: str | None = None, since: float | None = None) -> list[LoggedRequest]:
        wanted = token_hash(token) if token is not None else None
        return [
            e
            for e in self.entries
            if (wanted is None or e.token_hash == wanted) and (since is None or e.time >= since)
        ]

    def max_in_window(self, seconds: float, token: str | None = None, prefix: str = "") -> int:
        """Largest number of requests (any status) inside any `seconds`-long window."""
        times = [e.time for e in self.select(token) if e.path.startswith(prefix)]
        return most_in_window(times, seconds)

    def summary(self, token: str | None = None) -> dict[str, object]:
        entries = self.select(token)
        statuses: dict[str, int] = {}
        for e in entries:
            statuses[str(e.status)] = statuses.get(str(e.status), 0) + 1
        return {
            "count": len(entries),
            "statuses": statuses,
            "max_in_10s": self.max_in_window(OVERALL.seconds, token),
            "max_jobs_in_1s": self.max_in_window(1.0, token, "/api/v2/jobs/"),
            "max_marketplace_in_1s": self.max_in_window(1.0, token, "/api/v2/marketplace/"),
        }

    @staticmethod
    def as_dicts(entries: list[LoggedRequest]) -> list[dict[str, object]]:
        return [asdict(e) for e in entries]


def most_in_window(times: list[float], seconds: float) -> int:
    """Largest number of the (ascending) `times` inside any `seconds`-long window."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def retry_after_value(mode: str, wait: float, now_epoch: float) -> str | None:
    """`Retry-After` as CardTrader might send it: absent, delta-seconds, or an HTTP-date."""
    if mode == "seconds":
        return str(max(1, math.ceil(wait)))
    if mode == "http-date":
        from email.utils import formatdate

        return formatdate(now_epoch + max(1.0, wait), usegmt=True)
    return None
