"""Driver errors become the domain's port-level errors (the ports' promise): a duplicate is a
Conflict, a broken CHECK an InvalidInput naming the field, a lost database
DependencyUnavailable (503 in the API, a retry in the worker)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, ParamSpec, TypeVar

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from brx_domain.errors import Conflict, DependencyUnavailable, DomainError, InvalidInput

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)

UNIQUE_VIOLATION = "23505"
CHECK_VIOLATION = "23514"
CHECK_FIELDS = {
    "ck_inventory_quantity_non_negative": "quantity",
    "ck_inventory_price_cents_non_negative": "price_cents",
}
UNAVAILABLE = "the database is unavailable"
# A lost or broken connection, raised by SQLAlchemy or by asyncpg itself (hot reads use the
# driver directly). A connection killed mid-statement can leave asyncpg's protocol in a state
# that refuses the next statement (InternalClientError "cannot switch to state 12"): that is a
# broken connection too, and the unit of work throws it away rather than pooling it again.
_UNAVAILABLE_ERRORS = (
    OSError,
    TimeoutError,
    OperationalError,
    InterfaceError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
# SQLSTATE classes of a lost server: 08 connection exception, 57 operator intervention
# (57P01 admin_shutdown is what pg_terminate_backend sends), 53 insufficient resources.
_UNAVAILABLE_CLASSES = ("08", "57", "53")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps: SQLAlchemy's `orig`, then each `__cause__`."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = getattr(seen, "orig", None) or seen.__cause__


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE from the driver error, wherever SQLAlchemy's wrapping put it."""
    for seen in _chain(exc):
        code = getattr(seen, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def translate(exc: BaseException) -> DomainError | None:
    """The domain error for `exc` (SQLAlchemy's or asyncpg's own), or None when it is a bug to
    let through unchanged."""
    if isinstance(exc, DomainError):
        return exc
    if any(isinstance(seen, _UNAVAILABLE_ERRORS) for seen in _chain(exc)):
        return DependencyUnavailable(UNAVAILABLE)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DependencyUnavailable(UNAVAILABLE)
    if not isinstance(exc, DBAPIError | asyncpg.PostgresError):
        return None
    code = sqlstate(exc) or ""
    if code == UNIQUE_VIOLATION:
        return Conflict("a record with the same key already exists")
    if code == CHECK_VIOLATION:
        text = str(getattr(exc, "orig", None) or exc)
        field = next((f for name, f in CHECK_FIELDS.items() if name in text), "body")
        return InvalidInput(field, "must not be negative")
    if code[:2] in _UNAVAILABLE_CLASSES:
        return DependencyUnavailable(UNAVAILABLE)
    return None


def translated(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except DomainError:
            raise
        except Exception as exc:
            domain = translate(exc)
            if domain is None:
                raise
            raise domain from exc

    return wrapper


def translating(cls: C) -> C:
    """Wrap every public coroutine method of a repository class with `translated`."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            setattr(cls, name, translated(member))
    return cls
