"""MariaDB fixtures: a catalogue database with a random name per use, the four tables of the
shop's catalogue (`cards_prints`, `pk_prints`, `sealed_products`, `op_prints`, each `id` +
`cardtrader_id`) filled for chosen blueprint ids, dropped at the end. Nothing else on the
server is touched."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import pymysql
import pytest

from brx_adapters.mysql import MySqlCatalogue

HOST = os.environ.get("BRX_TEST_MYSQL_HOST", "127.0.0.1")
PORT = int(os.environ.get("BRX_TEST_MYSQL_PORT", "3306"))
USER = os.environ.get("BRX_TEST_MYSQL_USER", "root")
PASSWORD = os.environ.get("BRX_TEST_MYSQL_PASSWORD", "")
TABLES = ("cards_prints", "pk_prints", "sealed_products", "op_prints")


def _connect(database: str | None = None) -> pymysql.connections.Connection:  # type: ignore[type-arg]
    return pymysql.connect(
        host=HOST, port=PORT, user=USER, password=PASSWORD, database=database, autocommit=True
    )


@dataclass
class CatalogueDatabase:
    """One throwaway catalogue database; `catalogue()` builds the adapter over it."""

    name: str
    rows: dict[str, set[int]] = field(default_factory=dict)

    def add(self, table: str, blueprint_ids: Iterable[int]) -> None:
        ids = sorted(set(blueprint_ids))
        if not ids:
            return
        conn = _connect(self.name)
        try:
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO `{table}` (cardtrader_id) VALUES (%s)",
                    [(i,) for i in ids],
                )
        finally:
            conn.close()
        self.rows.setdefault(table, set()).update(ids)

    def catalogue(self, **overrides: object) -> MySqlCatalogue:
        options: dict[str, object] = {
            "host": HOST,
            "port": PORT,
            "user": USER,
            "password": PASSWORD,
            "database": self.name,
            "pool_size": 2,
            "max_overflow": 2,
        }
        options.update(overrides)
        return MySqlCatalogue.from_config(**options)  # type: ignore[arg-type]


def create_catalogue_database(ids_by_table: Mapping[str, Iterable[int]]) -> CatalogueDatabase:
    name = f"brx_cat_{uuid.uuid4().hex[:12]}"
    conn = _connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
            for table in TABLES:
                cursor.execute(
                    f"CREATE TABLE `{name}`.`{table}` (id INT AUTO_INCREMENT PRIMARY KEY, "
                    "cardtrader_id INT NULL, KEY (cardtrader_id))"
                )
    finally:
        conn.close()
    database = CatalogueDatabase(name)
    for table, ids in ids_by_table.items():
        database.add(table, ids)
    return database


def drop_catalogue_database(name: str) -> None:
    conn = _connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


@pytest.fixture
def catalogue_factory() -> Iterator[Callable[..., CatalogueDatabase]]:
    """`catalogue_factory({"cards_prints": ids, ...})` -> a filled catalogue database."""
    try:
        _connect().close()
    except pymysql.err.Error as exc:
        pytest.skip(f"MariaDB is not reachable at {HOST}:{PORT}: {exc}")
    made: list[CatalogueDatabase] = []

    def make(ids_by_table: Mapping[str, Iterable[int]] | None = None) -> CatalogueDatabase:
        database = create_catalogue_database(ids_by_table or {})
        made.append(database)
        return database

    yield make
    for database in made:
        drop_catalogue_database(database.name)
