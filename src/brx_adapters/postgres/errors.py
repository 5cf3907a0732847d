"""Driver errors become the domain's port-level errors (the ports' promise): a duplicate is a
Conflict, a broken CHECK an InvalidInput naming the field, a lost database or an exhausted pool
DependencyUnavailable (503 in the API, a retry in the worker). A repository call that lost its
connection before anything of a transaction was done is run once more on a new one."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, ParamSpec, TypeVar

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection

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
# PoolTimeout: every pooled connection stayed checked out for the pool's whole wait (more
# concurrent work than connections); trying again later is the answer, as for a lost server.
_UNAVAILABLE_ERRORS = (
    OSError,
    TimeoutError,
    PoolTimeout,
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
# The connection itself is gone or unusable (not the statement refused): the server closed it
# (class 08, or 57P01-57P03 as it terminates the backend), the socket was lost, or asyncpg's
# protocol is in a state that refuses every further statement.
_LOST_ERRORS = (ConnectionError, asyncpg.ConnectionDoesNotExistError, asyncpg.InternalClientError)
_LOST_STATES = ("57P01", "57P02", "57P03")


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


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` says the connection is gone (as opposed to one statement failing on it)."""
    for seen in _chain(exc):
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, _LOST_ERRORS):
            return True
        if isinstance(seen, asyncpg.InterfaceError) and "connection is closed" in str(seen):
            return True
    code = sqlstate(exc) or ""
    return code[:2] == "08" or code in _LOST_STATES


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


def reconnecting(fn: Callable[..., Awaitable[R]]) -> Callable[..., Coroutine[Any, Any, R]]:
    """Run a repository method (its `_conn` the unit of work's connection) once more on a new
    connection when it lost the one it had and no transaction was open when it started.

    That is the race a checkout guard cannot close: `pg_terminate_backend`, a restart or a
    network cut reach the client only when it next reads the socket, so a pooled connection can
    look alive at checkout and fail on its first statement. Nothing is lost by trying again:
    whatever the method began was a transaction of its own, rolled back by the server with the
    connection, and a driver-level read outside a transaction wrote nothing. Inside a
    transaction the earlier statements' work is gone, so the error stands (503, or a retry of
    the whole job). Once only: a database that stays away answers DependencyUnavailable."""

    @functools.wraps(fn)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> R:
        conn: AsyncConnection = self._conn
        if conn.in_transaction():
            return await fn(self, *args, **kwargs)
        try:
            return await fn(self, *args, **kwargs)
        except Exception as exc:
            if not (conn.invalidated or connection_lost(exc)):
                raise
            lost = exc
        if not conn.invalidated:
            await conn.invalidate(lost)  # the next statement checks out a new connection
        if conn.in_transaction():
            await conn.rollback()  # the one the method began, gone with the connection
        return await fn(self, *args, **kwargs)

    return wrapper


def translating(cls: C) -> C:
    """Wrap every public coroutine method of a repository class with `translated`, and with
    `reconnecting` (so a method that lost its connection before anything was done is run
    once more on a new one)."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            setattr(cls, name, translated(reconnecting(member)))
    return cls
