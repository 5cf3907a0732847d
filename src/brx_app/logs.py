"""JSON log lines carrying the request id, and a bounded in-process buffer for `/debug-logs`.

The request id lives in a contextvar so every line logged while serving a request (use cases,
adapters) carries it without being passed around.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import deque
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("brx_request_id", default=None)

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "color_message"}
)


def record_to_dict(record: logging.LogRecord) -> dict[str, Any]:
    """One record as a flat JSON-able dict; `extra=` fields are kept, tracebacks as text."""
    out: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    request_id = getattr(record, "request_id", None) or request_id_var.get()
    if request_id:
        out["request_id"] = request_id
    for key, value in record.__dict__.items():
        if key not in _STANDARD and key not in out and not key.startswith("_"):
            out[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
    if record.exc_info and record.exc_info[0] is not None:
        out["exc_type"] = record.exc_info[0].__name__
        out["traceback"] = logging.Formatter().formatException(record.exc_info)
    return out


def _cached_dict(record: logging.LogRecord) -> dict[str, Any]:
    """`record_to_dict`, built once per record however many handlers read it."""
    cached: dict[str, Any] | None = getattr(record, "_brx_dict", None)
    if cached is None:
        cached = record_to_dict(record)
        record._brx_dict = cached
    return cached


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers parse without a regex."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_cached_dict(record), default=str)


class RequestIdFilter(logging.Filter):
    """Stamps the current request id on the record (so buffered records keep it later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


class RingBufferHandler(logging.Handler):
    """The last `capacity` records of this process, for the operator's `/debug-logs`."""

    def __init__(self, capacity: int = 500) -> None:
        super().__init__()
        self.records: deque[dict[str, Any]] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = dict(_cached_dict(record))
            entry.pop("traceback", None)  # operators see the type; stack traces stay in logs
            self.records.append(entry)
        except Exception:  # a log handler must never break the caller
            self.handleError(record)

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first."""
        return list(reversed(self.records))[: max(limit, 0)]


RING = RingBufferHandler()
_FILTER = RequestIdFilter()


def configure_logging(level: int | str = logging.INFO, *, stream: Any = None) -> None:
    """JSON on stderr plus the ring buffer, on the root logger; safe to call twice."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_brx", False):
            root.removeHandler(handler)
    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(JsonFormatter())
    for handler in (console, RING):
        handler.addFilter(_FILTER)
        setattr(handler, "_brx", True)  # noqa: B010 (marks our handlers for reconfiguration)
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
