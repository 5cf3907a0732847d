"""Driver errors become the domain's port-level errors (the ports' promise): a duplicate is a
Conflict, a broken CHECK an InvalidInput naming the field, a lost database
DependencyUnavailable (503 in the API, a retry in the worker)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
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
_UNAVAILABLE_ERRORS = (
    OSError,
    TimeoutError,
    OperationalError,
    InterfaceError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,
)


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE from the driver error, wherever SQLAlchemy's wrapping put it."""
    seen: BaseException | None = exc
    while seen is not None:
        code = getattr(seen, "sqlstate", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def translate(exc: BaseException) -> DomainError | None:
    """The domain error for `exc`, or None when it is a bug to let through unchanged."""
    if isinstance(exc, _UNAVAILABLE_ERRORS):
        return DependencyUnavailable(UNAVAILABLE)
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return DependencyUnavailable(UNAVAILABLE)
    elif not isinstance(exc, asyncpg.PostgresError):  # hot reads use the driver directly
        return None
    code = sqlstate(exc)
    if code == UNIQUE_VIOLATION:
        return Conflict("a record with the same key already exists")
    if code == CHECK_VIOLATION:
        text = str(exc.orig)
        field = next((f for name, f in CHECK_FIELDS.items() if name in text), "body")
        return InvalidInput(field, "must not be negative")
    if code is not None and code.startswith("08"):  # connection exceptions
        return DependencyUnavailable(UNAVAILABLE)
    return None


def translated(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
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
