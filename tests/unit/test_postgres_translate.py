"""`postgres.errors.translate` reads asyncpg's own errors (the hot reads use the driver
directly) as well as SQLAlchemy's wrapping of them, and never crashes on either."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from brx_adapters.postgres.errors import connection_lost, translate
from brx_domain.errors import Conflict, DependencyUnavailable, InvalidInput


def test_a_raw_check_violation_names_the_field() -> None:
    raw = asyncpg.CheckViolationError(
        'new row violates check constraint "ck_inventory_quantity_non_negative"'
    )

    translated = translate(raw)

    assert isinstance(translated, InvalidInput) and translated.field == "quantity"


def test_a_raw_unique_violation_is_a_conflict() -> None:
    assert isinstance(translate(asyncpg.UniqueViolationError("duplicate key")), Conflict)


@pytest.mark.parametrize(
    "raw",
    [
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        ConnectionResetError(),
        PoolTimeout("QueuePool limit of size 2 overflow 0 reached, connection timed out"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_killed_or_broken_connection_is_dependency_unavailable(raw: Exception) -> None:
    assert isinstance(translate(raw), DependencyUnavailable)


def test_a_wrapped_broken_connection_is_found_under_the_wrapping() -> None:
    try:
        try:
            raise asyncpg.InternalClientError("cannot switch to state 11")
        except asyncpg.InternalClientError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert isinstance(translate(outer), DependencyUnavailable)


def test_a_bug_is_left_alone() -> None:
    assert translate(KeyError("x")) is None
    assert translate(asyncpg.UndefinedColumnError("column nope does not exist")) is None


@pytest.mark.parametrize(
    ("raw", "lost"),
    [
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
        (
            asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
            True,
        ),
        (asyncpg.InternalClientError("cannot switch to state 12"), True),
        (asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"), True),
        (ConnectionResetError(), True),
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), False),
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), False),
        (asyncpg.UniqueViolationError("duplicate key"), False),
        (TimeoutError(), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_only_a_connection_that_is_gone_counts_as_lost(raw: Exception, lost: bool) -> None:
    """What `reconnecting` runs again on a new connection: never a statement the server
    refused or that timed out (running it again would only repeat or double the wait)."""
    assert connection_lost(raw) is lost
