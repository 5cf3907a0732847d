"""A fake CardTrader, one account per token. PUBLIC API for other services' tests.

Follows CARDTRADER_API.md: creating an identical product increments it (not idempotent);
`increment` to a quantity <= 0 deletes the product; deleting a missing product answers False.
Inspect `products` and `calls`; inject failures with `fail_next(exc)` (or `applied=True` to
fail *after* the write took effect, like an answer lost on the way back: pass a
`MarketplaceOutcomeUnknown` for that); `sell` plays a buyer's order.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any, NamedTuple

from brx_domain.errors import MarketplaceNotFound, MarketplaceUnauthorized, MarketplaceValidation
from brx_domain.inventory import Properties
from brx_domain.ports import MarketplaceInfo, ProductDraft
from brx_domain.sync import RemoteProduct

# What the fake reports as downloaded for its export: CardTrader's is about 625 bytes a product
# (149 MiB for 250,000).
EXPORT_BYTES_PER_PRODUCT = 625


class Call(NamedTuple):
    method: str
    args: dict[str, Any]


class MemoryExport:
    """`ProductExport` over a snapshot; `expected_total` is exact from the start."""

    def __init__(self, products: list[RemoteProduct]) -> None:
        self._products = products
        self.expected_total: int | None = len(products)

    async def __aiter__(self) -> AsyncIterator[RemoteProduct]:
        for product in self._products:
            yield product


class MemoryMarketplace:
    """One seller's CardTrader account. `authorized=False` plays an unknown token."""

    def __init__(
        self,
        products: Iterable[RemoteProduct] = (),
        *,
        shared_secret: str | None = None,
        seller_id: int = 1,
        authorized: bool = True,
    ) -> None:
        self.products: dict[int, RemoteProduct] = {p.id: p for p in products}
        self.shared_secret = shared_secret or secrets.token_hex(16)
        self.seller_id = seller_id
        self.authorized = authorized
        self.calls: list[Call] = []
        self._next_id = max(self.products, default=100_000) + 1
        self._failures: list[list[Any]] = []  # [exc, applied, method, calls to let pass]

    # --- test helpers ---------------------------------------------------------------------

    def add_product(
        self,
        blueprint_id: int,
        quantity: int,
        price_cents: int = 100,
        properties: Properties | None = None,
        **extra: Any,
    ) -> RemoteProduct:
        """Put a product on the account as if the seller listed it on CardTrader."""
        product = RemoteProduct(
            self._new_id(), blueprint_id, quantity, price_cents, properties or Properties(), **extra
        )
        self.products[product.id] = product
        return product

    def fail_next(
        self,
        exc: BaseException,
        *,
        applied: bool = False,
        times: int = 1,
        method: str | None = None,
        skip: int = 0,
    ) -> None:
        """The next call (of `method`, if given; after `skip` such calls) raises `exc`;
        after writing when `applied`."""
        self._failures += [[exc, applied, method, skip] for _ in range(times)]

    def method_calls(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _enter(self, method: str, **args: Any) -> BaseException | None:
        """Log the call; raise an injected failure now, or return one to raise after the write."""
        self.calls.append(Call(method, args))
        if not self.authorized:
            raise MarketplaceUnauthorized("CardTrader refused the token")
        index = next((i for i, f in enumerate(self._failures) if f[2] in (None, method)), None)
        if index is None:
            return None
        if self._failures[index][3] > 0:
            self._failures[index][3] -= 1
            return None
        exc, applied, _, _ = self._failures.pop(index)
        failure: BaseException = exc
        if not applied:
            raise failure
        return failure

    # --- the Marketplace port -------------------------------------------------------------

    async def info(self) -> MarketplaceInfo:
        self._enter("info")
        return MarketplaceInfo(
            self.seller_id, f"seller {self.seller_id}", self.shared_secret, self.seller_id
        )

    async def export_products(
        self,
        *,
        blueprint_id: int | None = None,
        on_download: Callable[[int], Awaitable[None]] | None = None,
    ) -> MemoryExport:
        self._enter("export_products", blueprint_id=blueprint_id)
        chosen = [
            p
            for p in self.products.values()
            if blueprint_id is None or p.blueprint_id == blueprint_id
        ]
        if on_download is not None:  # the whole snapshot "arrives" at once
            await on_download(EXPORT_BYTES_PER_PRODUCT * len(chosen))
        return MemoryExport(chosen)

    async def create_product(self, draft: ProductDraft) -> RemoteProduct:
        late = self._enter("create_product", draft=draft)
        _validate(draft, minimum_quantity=1)
        twin = next((p for p in self.products.values() if _same_listing(p, draft)), None)
        if twin is not None:  # CardTrader increments an identical product: not idempotent
            product = replace(twin, quantity=twin.quantity + draft.quantity)
        else:
            product = _from_draft(self._new_id(), draft)
        self.products[product.id] = product
        if late:
            raise late
        return product

    async def update_product(self, product_id: int, draft: ProductDraft) -> RemoteProduct:
        late = self._enter("update_product", product_id=product_id, draft=draft)
        _validate(draft, minimum_quantity=0)
        if product_id not in self.products:
            raise MarketplaceNotFound(f"product {product_id} not found")
        product = _from_draft(product_id, draft)
        self.products[product_id] = product
        if late:
            raise late
        return product

    async def delete_product(self, product_id: int) -> bool:
        late = self._enter("delete_product", product_id=product_id)
        existed = self.products.pop(product_id, None) is not None
        if late:
            raise late
        return existed

    async def find_product(self, product_id: int, *, blueprint_id: int) -> RemoteProduct | None:
        self._enter("find_product", product_id=product_id, blueprint_id=blueprint_id)
        product = self.products.get(product_id)
        return product if product is not None and product.blueprint_id == blueprint_id else None

    async def increment_quantity(self, product_id: int, delta: int) -> RemoteProduct | None:
        late = self._enter("increment_quantity", product_id=product_id, delta=delta)
        current = self.products.get(product_id)
        if current is None:
            raise MarketplaceNotFound(f"product {product_id} not found")
        result = self._increment(current, delta)
        if late:
            raise late
        return result

    def sell(self, product_id: int, quantity: int = 1) -> None:
        """A buyer's order on CardTrader (the webhook is the test's to deliver)."""
        current = self.products[product_id]
        self._increment(current, -quantity)

    def _increment(self, current: RemoteProduct, delta: int) -> RemoteProduct | None:
        quantity = current.quantity + delta
        if quantity <= 0:
            del self.products[current.id]
            return None
        self.products[current.id] = replace(current, quantity=quantity)
        return self.products[current.id]


def _validate(draft: ProductDraft, *, minimum_quantity: int) -> None:
    errors: dict[str, list[str]] = {}
    if draft.quantity < minimum_quantity:
        errors["quantity"] = [f"must be greater than or equal to {minimum_quantity}"]
    if draft.price_cents < 0:
        errors["price"] = ["must be greater than or equal to 0"]
    if errors:
        raise MarketplaceValidation("CardTrader refused the product", errors)


def _same_listing(product: RemoteProduct, draft: ProductDraft) -> bool:
    return (
        product.blueprint_id == draft.blueprint_id
        and product.price_cents == draft.price_cents
        and product.properties == draft.properties
        and product.description == draft.description
        and product.user_data_field == draft.user_data_field
        and product.graded == draft.graded
    )


def _from_draft(product_id: int, draft: ProductDraft) -> RemoteProduct:
    return RemoteProduct(
        product_id,
        draft.blueprint_id,
        draft.quantity,
        draft.price_cents,
        draft.properties,
        draft.description,
        draft.user_data_field,
        draft.graded,
    )


class MemoryMarketplaceGateway:
    """`MarketplaceGateway`: `accounts` maps each known token to its account; any other token
    gets an account that answers MarketplaceUnauthorized (as CardTrader would, on first call)."""

    def __init__(self, accounts: dict[str, MemoryMarketplace] | None = None) -> None:
        self.accounts: dict[str, MemoryMarketplace] = dict(accounts or {})
        self.rejected: list[MemoryMarketplace] = []

    def add_account(self, token: str, **options: Any) -> MemoryMarketplace:
        account = MemoryMarketplace(seller_id=len(self.accounts) + 1, **options)
        self.accounts[token] = account
        return account

    def for_token(self, token: str) -> MemoryMarketplace:
        account = self.accounts.get(token)
        if account is None:
            account = MemoryMarketplace(authorized=False)
            self.rejected.append(account)
        return account


__all__ = ["Call", "MemoryExport", "MemoryMarketplace", "MemoryMarketplaceGateway"]
