"""Test helpers that change a seller's stock behind the client's back, as a seller editing on
CardTrader's website would: new quantities and prices, removed and added products."""

from __future__ import annotations

from cardtrader_sandbox.generator import generate_products
from cardtrader_sandbox.state import SandboxState, Seller


def mutate(
    state: SandboxState,
    seller: Seller,
    change_quantity: int = 0,
    change_price: int = 0,
    delete: int = 0,
    add: int = 0,
) -> dict[str, list[int]]:
    """Apply the changes to randomly chosen (seeded) products; return the affected ids."""
    inv = seller.inventory
    ids = sorted(inv.products)
    rng = state.rng
    picked = rng.sample(ids, min(len(ids), change_quantity + change_price + delete))
    qty_ids = picked[:change_quantity]
    price_ids = picked[change_quantity : change_quantity + change_price]
    deleted = picked[change_quantity + change_price :]
    for pid in qty_ids:
        inv.products[pid].quantity += rng.randint(1, 5)
        inv.touched(pid)
    for pid in price_ids:
        inv.products[pid].price_cents += rng.randint(1, 500)
        inv.touched(pid)
    for pid in deleted:
        inv.remove(pid)
    added: list[int] = []
    if add > 0:
        first = state.reserve_product_ids(add)
        for product in generate_products(rng.randrange(1 << 30), seller.number, add, first):
            inv.add(product)
            added.append(product.id)
    return {
        "quantity_changed": sorted(qty_ids),
        "price_changed": sorted(price_ids),
        "deleted": sorted(deleted),
        "added": added,
    }
