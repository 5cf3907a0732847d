"""`GET /marketplace/products`: a small, deterministic list of other sellers' offers for one
blueprint, cheapest first (enough for price-checking clients to have something to read)."""

from __future__ import annotations

import random

from cardtrader_sandbox.catalogue import CONDITIONS, blueprint
from cardtrader_sandbox.properties import defaults


def listings(seed: int, blueprint_id: int) -> list[dict[str, object]]:
    """Three to eight offers; none for an id the catalogue does not know."""
    bp = blueprint(blueprint_id)
    if bp is None:
        return []
    rng = random.Random(f"brx-sandbox-market:{seed}:{blueprint_id}")  # noqa: S311 (test data)
    offers: list[dict[str, object]] = []
    for n in range(rng.randint(3, 8)):
        props = {**defaults(bp.kind), **bp.read_only}
        if "condition" in props:
            props["condition"] = rng.choice(CONDITIONS[:4])
        offers.append(
            {
                "id": 900_000_000 + blueprint_id * 10 + n,
                "blueprint_id": blueprint_id,
                "name_en": bp.name_en,
                "quantity": rng.randint(1, 12),
                "price": {"cents": rng.randint(5, 5000), "currency": "EUR"},
                "properties_hash": props,
                "expansion": bp.expansion.as_dict(),
                "user": {
                    "id": 10_000 + rng.randrange(40_000),
                    "username": f"seller{rng.randrange(1000)}",
                    "can_sell_via_hub": rng.random() < 0.5,
                    "country_code": rng.choice(("IT", "DE", "FR", "ES", "NL")),
                    "user_type": rng.choice(("normal", "pro")),
                },
                "graded": False,
                "on_vacation": False,
                "bundle_size": 1,
            }
        )
    offers.sort(key=lambda o: o["price"]["cents"])  # type: ignore[index]
    return offers
