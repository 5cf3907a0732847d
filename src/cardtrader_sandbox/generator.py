"""Deterministic product generation: the same (seed, seller number, count, first id) always gives
the same products, so tests and the MySQL catalogue fixture can rely on them.

Blueprints are drawn from `catalogue.BLUEPRINT_COUNT` blueprints (see `catalogue` for the id
layout); `blueprint_ids_for(seed, seller, count)` lists the ids a seller's stock uses."""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import accumulate

from cardtrader_sandbox.catalogue import (
    BLUEPRINT_COUNT,
    CONDITIONS,
    LANGUAGES,
    MAGIC,
    SEALED,
    Blueprint,
    blueprint_at,
)
from cardtrader_sandbox.product import Product
from cardtrader_sandbox.properties import defaults, editable

Progress = Callable[[int, int], None]
_LANG_CUM = tuple(accumulate((40, 8, 8, 10, 8, 4, 3, 3, 6, 3, 2, 2, 1, 1, 1)))
_COND_CUM = tuple(accumulate((3, 50, 20, 10, 8, 6, 3)))
_GRADED: tuple[bool | int | None, ...] = (None, False, 0)
_DESCRIPTIONS: tuple[str | None, ...] = ("", None, "", "light edge wear")


def product_rng(seed: int, seller: int) -> random.Random:
    """One independent random stream per (seed, seller), stable across Python versions."""
    return random.Random(f"brx-sandbox:{seed}:{seller}")  # noqa: S311 (test data, not security)


def _properties(
    rng: random.Random, bp: Blueprint, cache: dict[tuple[object, ...], dict[str, object]]
) -> dict[str, object]:
    """Editable properties, interned: 250,000 products share a few hundred dicts."""
    props = defaults(bp.kind)
    for key in editable(bp.kind):
        if key == "condition":
            props[key] = rng.choices(CONDITIONS, cum_weights=_COND_CUM)[0]
        elif key.endswith("language"):
            props[key] = rng.choices(LANGUAGES, cum_weights=_LANG_CUM)[0]
        else:
            props[key] = rng.random() < (0.15 if key == "mtg_foil" else 0.03)
    signature = tuple(props.items())
    return cache.setdefault(signature, props)


def _price(rng: random.Random, bp: Blueprint) -> int:
    base = 500 if bp.kind is SEALED else 8
    return max(5, int(base * rng.paretovariate(1.3)))


def generate_products(
    seed: int, seller: int, count: int, first_id: int, progress: Progress | None = None
) -> list[Product]:
    """`count` products with consecutive ids from `first_id`; `progress(done, count)` is called
    every 25,000 products so the CLI can show seeding progress."""
    rng = product_rng(seed, seller)
    cache: dict[tuple[object, ...], dict[str, object]] = {}
    products: list[Product] = []
    for n in range(count):
        bp = blueprint_at(rng.randrange(BLUEPRINT_COUNT))
        products.append(
            Product(
                id=first_id + n,
                blueprint=bp,
                quantity=1 + int(rng.expovariate(0.5)),
                price_cents=_price(rng, bp),
                properties=_properties(rng, bp, cache),
                description=rng.choice(_DESCRIPTIONS),
                graded=rng.choice(_GRADED),
                user_data_field=f"box {rng.randrange(1, 60)}" if rng.random() < 0.6 else None,
                tag=None if bp.kind is MAGIC or rng.random() < 0.8 else "sandbox",
            )
        )
        if progress is not None and (n + 1) % 25_000 == 0:
            progress(n + 1, count)
    return products


def blueprint_ids_for(seed: int, seller: int, count: int) -> set[int]:
    """The blueprint ids a seller's generated stock uses (for building a catalogue subset)."""
    return {p.blueprint.id for p in generate_products(seed, seller, count, first_id=0)}
