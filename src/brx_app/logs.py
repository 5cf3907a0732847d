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
from logging.handlers import RotatingFileHandler
from pathlib import Path
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


# Built once: `json.dumps` with `default=` builds a new encoder for every line.
_json_line = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers parse without a regex."""

    def format(self, record: logging.LogRecord) -> str:
        return _json_line(_cached_dict(record))


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


QUIET = ("alembic.runtime.plugins",)  # one INFO line per plugin on import: noise for operators
LOG_FILE = Path("logs") / "brx_sync.log"  # the seed's local file, development only
LOG_FILE_BYTES, LOG_FILE_BACKUPS = 10 * 1024 * 1024, 5


def configure_logging(
    level: int | str = logging.INFO, *, stream: Any = None, development: bool = False
) -> None:
    """JSON on stderr plus the ring buffer, on the root logger; safe to call twice. In
    development (never in production) the same lines also go to `logs/brx_sync.log` under
    the working directory, rotated at 10 MiB with 5 old files kept."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_brx", False):
            root.removeHandler(handler)
            if isinstance(handler, RotatingFileHandler):
                handler.close()
    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(JsonFormatter())
    handlers: list[logging.Handler] = [console, RING]
    if development:
        handlers.extend(_log_file())
    for handler in handlers:
        handler.addFilter(_FILTER)
        setattr(handler, "_brx", True)  # noqa: B010 (marks our handlers for reconfiguration)
        root.addHandler(handler)
    root.setLevel(level)
    # No line carries the thread or process (record_to_dict leaves them out): the standard
    # library's documented switches spare each record looking them up.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def _log_file() -> list[logging.Handler]:
    """The development log file, or nothing when the directory cannot be written (a read-only
    checkout): stderr still has every line."""
    try:
        LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            LOG_FILE, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
        )
    except OSError:
        return []
    handler.setFormatter(JsonFormatter())
    return [handler]
