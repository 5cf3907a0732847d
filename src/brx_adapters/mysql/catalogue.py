"""`BlueprintCatalogue` over the shop's MySQL/MariaDB catalogue (read-only).

One query per batch across every configured table (a UNION of `IN (...)` lookups), answers
cached both ways with a bounded TTL. The pool is created on first use, so building the
adapter does no I/O, and its sessions are READ ONLY: the service never writes the catalogue.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Sequence
from typing import Any

import aiomysql

from brx_adapters.mysql.cache import AnswerCache
from brx_domain.errors import DependencyUnavailable

DEFAULT_TABLES = ("cards_prints", "pk_prints", "sealed_products")
MAX_IDS_PER_QUERY = 20_000  # keeps one statement well under max_allowed_packet
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")
_DRIVER_ERRORS = (aiomysql.Error, OSError, asyncio.TimeoutError)


def lookup_sql(tables: Sequence[str], ids: Sequence[int]) -> str:
    """`SELECT cardtrader_id ... UNION ...` with the ids written as integer literals: `int()`
    lets nothing else into the text, and the driver no longer escapes every id once per table
    (20,000 calls per 5,000-product chunk over four tables, a third of the lookup's time)."""
    literals = ", ".join(str(int(i)) for i in ids)
    return " UNION ".join(
        f"SELECT cardtrader_id FROM `{table}` WHERE cardtrader_id IN ({literals})"  # noqa: S608
        for table in tables
    )


def checked_tables(tables: Sequence[str]) -> tuple[str, ...]:
    """Table names go into SQL text, so only plain identifiers are accepted."""
    if not tables:
        raise ValueError("the catalogue needs at least one table")
    for table in tables:
        if not _IDENTIFIER.match(table):
            raise ValueError(f"not a valid catalogue table name: {table!r}")
    return tuple(tables)


class MySqlCatalogue:
    """The blueprints the shop knows, from `cardtrader_id` columns of the catalogue tables."""

    def __init__(
        self,
        pool_options: dict[str, Any],
        *,
        tables: Sequence[str] = DEFAULT_TABLES,
        cache: AnswerCache | None = None,
    ) -> None:
        self._options = pool_options
        self.tables = checked_tables(tables)
        self.cache = cache if cache is not None else AnswerCache(300)
        self.queries = 0  # lookups sent to the database (the cache's effect is visible)
        self._pool: Any = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_config(
        cls,
        *,
        host: str,
        port: int = 3306,
        user: str = "root",
        password: str = "",
        database: str = "cards_db",
        pool_size: int = 5,
        max_overflow: int = 5,
        tables: Sequence[str] = DEFAULT_TABLES,
        cache_seconds: float = 300,
    ) -> MySqlCatalogue:
        options = {
            "host": host,
            "port": port,
            "user": user,
            "password": password,
            "db": database,
            "minsize": 0,
            "maxsize": pool_size + max_overflow,
            "autocommit": True,
            "connect_timeout": 5,
            "pool_recycle": 3600,
            "init_command": "SET SESSION TRANSACTION READ ONLY",
        }
        return cls(options, tables=tables, cache=AnswerCache(cache_seconds))

    async def known(self, blueprint_ids: Collection[int]) -> set[int]:
        known, missing = self.cache.split(blueprint_ids)
        if missing:
            found = await self._lookup(sorted(missing))
            self.cache.store(missing, found)
            known |= found
        return known

    async def ping(self) -> None:
        """Raises `DependencyUnavailable` when the catalogue does not answer."""
        await self._query("SELECT 1")

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            await pool.wait_closed()

    async def _lookup(self, ids: list[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(ids), MAX_IDS_PER_QUERY):
            batch = ids[start : start + MAX_IDS_PER_QUERY]
            rows = await self._query(lookup_sql(self.tables, batch))
            found.update(int(row[0]) for row in rows if row[0] is not None)
        return found

    async def _query(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            pool = await self._pool_or_create()
            async with pool.acquire() as conn, conn.cursor() as cursor:
                await cursor.execute(sql)
                rows: list[tuple[Any, ...]] = list(await cursor.fetchall())
        except _DRIVER_ERRORS as exc:
            raise DependencyUnavailable(
                f"the card catalogue is unavailable ({type(exc).__name__})"
            ) from None
        self.queries += 1
        return rows

    async def _pool_or_create(self) -> Any:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await aiomysql.create_pool(**self._options)
        return self._pool
