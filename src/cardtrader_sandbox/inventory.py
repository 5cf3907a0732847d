"""One seller's products in the simulator, with the export body kept pre-serialised in blocks of
ids so a 250,000-product export is streamed from bytes and a change re-serialises one block."""

from __future__ import annotations

from collections.abc import Iterator

from cardtrader_sandbox.export_codec import RowEncoder, dumps
from cardtrader_sandbox.product import Product, export_dict

BLOCK = 1000


class SellerInventory:
    """Products by id plus a by-blueprint index and the export cache (bytes per id block)."""

    def __init__(self, user_id: int, currency: str = "EUR") -> None:
        self.user_id = user_id
        self.currency = currency
        self.products: dict[int, Product] = {}
        self._by_blueprint: dict[int, set[int]] = {}
        self._blocks: dict[int, bytes] = {}
        self._block_keys: list[int] | None = None
        self._encoder = RowEncoder(user_id, currency)

    def __len__(self) -> int:
        return len(self.products)

    def get(self, product_id: int) -> Product | None:
        return self.products.get(product_id)

    def add(self, product: Product) -> None:
        self.products[product.id] = product
        self._by_blueprint.setdefault(product.blueprint.id, set()).add(product.id)
        self.touched(product.id)

    def remove(self, product_id: int) -> Product | None:
        product = self.products.pop(product_id, None)
        if product is not None:
            self._by_blueprint.get(product.blueprint.id, set()).discard(product_id)
            self.touched(product_id)
        return product

    def touched(self, product_id: int) -> None:
        """Invalidate the cached export block holding this id (call after any change)."""
        self._blocks.pop(product_id // BLOCK, None)
        self._block_keys = None

    def find_same(self, candidate: Product) -> Product | None:
        for pid in self._by_blueprint.get(candidate.blueprint.id, ()):
            existing = self.products[pid]
            if existing.same_listing(candidate):
                return existing
        return None

    def ids_of_blueprint(self, blueprint_id: int) -> list[int]:
        return sorted(self._by_blueprint.get(blueprint_id, ()))

    def _keys(self) -> list[int]:
        if self._block_keys is None:
            self._block_keys = sorted({pid // BLOCK for pid in self.products})
        return self._block_keys

    def _block(self, key: int) -> bytes:
        cached = self._blocks.get(key)
        if cached is None:
            start = key * BLOCK
            rows = [
                self._encoder.row(p)
                for pid in range(start, start + BLOCK)
                if (p := self.products.get(pid)) is not None
            ]
            cached = ",".join(rows).encode()
            self._blocks[key] = cached
        return cached

    def warm(self) -> None:
        """Serialise every block now, so the first export does not pay for it."""
        for key in self._keys():
            self._block(key)

    def export_body(self) -> tuple[int | None, Iterator[bytes]]:
        """(content length, chunks) of the full export: `[` block `,` block ... `]`. When every
        block is serialised already the length is known up front; otherwise (after changes) the
        length is None and the missing blocks are serialised as the body streams, so the first
        bytes leave at once however many products changed (re-serialising a million products
        first held the answer back for seconds). A block changed while the body streams is sent
        as it is when its turn comes."""
        keys = self._keys()
        if all(key in self._blocks for key in keys):
            blocks = [b for b in (self._blocks[key] for key in keys) if b]
            length = 2 + sum(len(b) for b in blocks) + max(len(blocks) - 1, 0)
            return length, _joined(iter(blocks))
        return None, _joined(block for key in keys if (block := self._block(key)))

    def export_filtered(self, blueprint_id: int | None, expansion_id: int | None) -> bytes:
        """A filtered export (small): serialised on demand, not cached."""
        if blueprint_id is not None:
            candidates = [self.products[i] for i in self.ids_of_blueprint(blueprint_id)]
        else:
            candidates = [self.products[i] for i in sorted(self.products)]
        rows = [
            export_dict(p, self.user_id, self.currency)
            for p in candidates
            if expansion_id is None or p.blueprint.expansion.id == expansion_id
        ]
        return dumps(rows).encode()


def _joined(blocks: Iterator[bytes]) -> Iterator[bytes]:
    yield b"["
    for i, block in enumerate(blocks):
        yield b"," + block if i else block
    yield b"]"
