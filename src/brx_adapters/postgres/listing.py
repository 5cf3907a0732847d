"""The filtered inventory page as one SQL statement: `InventoryQuery` translated clause by
clause (the domain's `matches` and `sort_key` are what each clause must mean).

Every fragment is a constant of this module; values are bound parameters, never spliced. The
name sort, the name search (trigram GIN), blueprint, CardTrader id, out of stock and unlisted
are backed by indexes of migration 0003 (or the seed's); condition and language are not (two
jsonb expressions, three keys for the language): their total reads every row of the user, and
reading the rows at all is about 4x the index-only count of them (250k, 2026-12-02), so these
two stay above the 3x target of `bench_inventory_filters` until an index is worth its cost on
every bulk write. A filtered total is exact: it counts the matches in the statement and the
snapshot that shows them (`page_statement`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from brx_domain.inventory import LANGUAGE_KEYS
from brx_domain.listing import InventoryQuery

COLUMNS = (
    "id, user_id, blueprint_id, quantity, price_cents, properties, external_stock_id, "
    "description, user_data_field, graded, updated_at, created_at, card_name, expansion_name"
)

# The key of each sort field before the id that breaks ties, `{t}` standing for the table
# alias. Postgres puts NULLs last ascending and first descending, so the descending sort is the
# exact reverse, as in `sort_key`. COLLATE "C": the code-point order of the lower-cased name.
_ORDER = {
    "id": (),
    "name": ('lower({t}card_name) COLLATE "C"',),
    "price": ("{t}price_cents",),
    "quantity": ("{t}quantity",),
    "updated": ("{t}updated_at",),
}

# The user's whole count ($1 is the user), kept by the database (migration 0005): what an
# unfiltered page shows as its total, however it is sorted, without counting the rows.
USER_TOTAL = "coalesce((SELECT items FROM user_inventory_counts WHERE user_id = $1), 0)"

# The item's language, `Properties.language` in SQL: the first of `LANGUAGE_KEYS` that holds
# a string. The same expression as the index of migration 0007 (or the planner cannot use it).
_WHEN_LANGUAGE = (
    f"WHEN jsonb_typeof(properties->'{key}') = 'string' THEN properties->>'{key}'"
    for key in LANGUAGE_KEYS
)
_LANGUAGE = "(CASE " + " ".join(_WHEN_LANGUAGE) + " END) = ${n}"


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere (its own % and _ taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(query: InventoryQuery) -> tuple[list[str], list[Any]]:
    """Clauses after `user_id = $1` (limit and offset are $2 and $3), with their values."""
    clauses: list[str] = []
    values: list[Any] = []

    def bind(fragment: str, value: Any) -> None:
        values.append(value)
        clauses.append(fragment.format(n=len(values) + 3))

    if query.q is not None:
        bind("lower(card_name) LIKE ${n}", _like(query.q))
    if query.blueprint_id is not None:
        bind("blueprint_id = ${n}", query.blueprint_id)
    if query.external_stock_id is not None:
        bind("external_stock_id = ${n}", query.external_stock_id)
    if query.condition is not None:
        bind("properties->>'condition' = ${n}", query.condition)
    if query.language is not None:
        bind(_LANGUAGE, query.language)
    if query.out_of_stock is not None:
        clauses.append("quantity = 0" if query.out_of_stock else "quantity > 0")
    if query.unlisted is not None:
        clauses.append(
            "external_stock_id IS NULL" if query.unlisted else "external_stock_id IS NOT NULL"
        )
    return clauses, values


def _order(query: InventoryQuery, keys: list[str]) -> str:
    direction = " DESC" if query.sort.descending else ""
    return ", ".join(key + direction for key in keys)


def _keys(query: InventoryQuery, alias: str) -> list[str]:
    """The sort's key on the table's columns, ending with the id."""
    return [*(key.format(t=alias) for key in _ORDER[query.sort.field]), f"{alias}id"]


def page_statement(
    user_id: UUID, limit: int, offset: int, query: InventoryQuery
) -> tuple[str, list[Any]]:
    """The total and one page in one statement and one snapshot (as the plain page query);
    a filtered total counts the matches, an unfiltered one is the user's kept count.

    A filtered page reads its matches once (`m`, materialised: each match's id and sort key),
    counts them, takes the page's ids from them in the sort's order and reads those rows by
    primary key. Counting and paging in two scans read the matches twice whenever the page has
    to see them all: a name search (a bitmap of trigram candidates, re-checked), or a sort
    other than id. Measured at 250k, interleaved, load 2.6: condition+language+q 63.5 -> 32.3
    ms, q + sort=name 25.9 -> 14.1, q + sort=-price 57.4 -> 32.1; at 1M a full card name 25.6
    -> 14.2 ms. `m` is planned to find the matches, never to walk an index in the sort's order
    (a name search sorted by name once walked the name index from "a": 0.88 s, not 20 ms).
    A filter without a name search in id order keeps two scans: its page walks (user_id, id)
    and stops at the limit, where `m` would sort the ids of every match (a fifth of the rows
    for one condition, measured: 67.5 -> 87.8 ms at load 3). A common name in id
    order pays that too, smaller beside its count (q=bolt, 28k matches: 28.0 -> 31.1 ms).

    Run it as a statement prepared for this call, never one cached by the driver: after five
    runs Postgres may switch a cached statement to a generic plan, blind to the values, and for
    a rare name search that plan walks the whole inventory in id order (measured: 1.5 s instead
    of 3 ms on 250k items). A fresh statement is planned for its values, for one round trip."""
    clauses, values = _where(query)
    args = [user_id, limit, offset, *values]
    where = " AND ".join(["user_id = $1", *clauses])
    page = f"ORDER BY {_order(query, _keys(query, 'p.'))}"
    if not clauses or (query.q is None and query.sort.field == "id"):
        counted = f"count(*) FROM user_inventory_items WHERE {where}" if clauses else USER_TOTAL
        sql = (  # composed of this module's constants only; every value is a bound parameter
            f"SELECT p.*, c.total FROM (SELECT {counted}) AS c (total) "  # noqa: S608
            f"LEFT JOIN LATERAL (SELECT {COLUMNS} FROM user_inventory_items WHERE {where} "
            f"ORDER BY {_order(query, _keys(query, ''))} LIMIT $2 OFFSET $3) AS p ON true {page}"
        )
        return sql, args
    key = _ORDER[query.sort.field]
    matched = ["id", *(f"{k.format(t='')} AS k{n}" for n, k in enumerate(key))]
    ranked = [*(f"k{n}" for n in range(len(key))), "id"]
    sql = (  # composed of this module's constants only; every value is a bound parameter
        f"WITH m AS MATERIALIZED (SELECT {', '.join(matched)} "  # noqa: S608
        f"FROM user_inventory_items WHERE {where}) "
        f"SELECT p.*, c.total FROM (SELECT count(*) FROM m) AS c (total) "
        f"LEFT JOIN (SELECT {COLUMNS} FROM user_inventory_items WHERE id IN "
        f"(SELECT id FROM m ORDER BY {_order(query, ranked)} LIMIT $2 OFFSET $3)) AS p ON true "
        f"{page}"
    )
    return sql, args
