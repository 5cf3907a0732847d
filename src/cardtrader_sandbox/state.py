"""Everything the simulator knows: sellers (one per accepted token) with their products, jobs and
orders; the webhook target; injected faults; rate-limit windows and the request log."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from cardtrader_sandbox.generator import generate_products
from cardtrader_sandbox.inventory import SellerInventory
from cardtrader_sandbox.jobs import Job, JobTiming
from cardtrader_sandbox.limits import RequestLog, SandboxRateLimiter, token_hash
from cardtrader_sandbox.orders import OrderBook

FIRST_PRODUCT_ID = 100_000_001
FIRST_ORDER_ID = 733_733
SeedProgress = Callable[[str, int, int], None]
RETRY_AFTER_MODES = ("absent", "seconds", "http-date")


@dataclass
class Faults:
    """Injected misbehaviour of the /api/v2 surface (the control surface is never affected)."""

    error_rate: float = 0.0
    latency_ms: float = 0.0
    drop_rate: float = 0.0
    storm_until: float = 0.0
    fail_next: int = 0
    drop_next: int = 0
    lose_answer_next: int = 0  # the next writes (not GETs) are applied, then their answer cut
    fail_after_lost_answer: int = 0  # then this many requests answer 500 (the outage after)
    retry_after: str = "seconds"

    def as_dict(self, now: float) -> dict[str, object]:
        out = asdict(self)
        out["storm_seconds_left"] = round(max(0.0, self.storm_until - now), 3)
        del out["storm_until"]
        return out


@dataclass
class Seller:
    """One CardTrader account as seen through one token."""

    number: int
    user_id: int
    app_id: int
    shared_secret: str
    inventory: SellerInventory
    book: OrderBook
    jobs: dict[str, Job] = field(default_factory=dict)


def derived_secret(seed: int, token: str) -> str:
    """The 32-hex-char shared secret of a token, stable for a given seed."""
    return hashlib.sha256(f"brx-sandbox-secret:{seed}:{token}".encode()).hexdigest()[:32]


def _user_id(token: str) -> int:
    return 50_000 + int(hashlib.sha256(f"user:{token}".encode()).hexdigest()[:8], 16) % 50_000


class SandboxState:
    """Mutable state of one simulator; build it (seeding happens here), then serve it."""

    def __init__(
        self,
        tokens: Sequence[str] = ("demo",),
        products: int = 1000,
        seed: int = 1,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        job_timing: JobTiming | None = None,
        foil_false_refused: bool = True,
        progress: SeedProgress | None = None,
        **faults: object,
    ) -> None:
        if not tokens:
            raise ValueError("the sandbox needs at least one token")
        self.seed = seed
        self.webhook_url = webhook_url
        self.job_timing = job_timing or JobTiming()
        self.foil_false_refused = foil_false_refused
        self.faults = Faults()
        self.configure_faults(**faults)
        self.limiter = SandboxRateLimiter()
        self.log = RequestLog()
        self.rng = random.Random(f"brx-sandbox-faults:{seed}")  # noqa: S311 (simulation)
        self._next_product = FIRST_PRODUCT_ID
        self._next_order = FIRST_ORDER_ID
        self._next_item = 9001
        self.sellers: dict[str, Seller] = {}
        for number, token in enumerate(dict.fromkeys(tokens)):
            secret = webhook_secret or derived_secret(seed, token)
            self.sellers[token] = self._seed_seller(number, token, secret, products, progress)

    def _seed_seller(
        self, number: int, token: str, secret: str, count: int, progress: SeedProgress | None
    ) -> Seller:
        user_id = _user_id(token)
        inv = SellerInventory(user_id)
        report = (lambda done, total: progress("generate", done, total)) if progress else None
        for product in generate_products(self.seed, number, count, self._next_product, report):
            inv.add(product)
        self._next_product += count
        inv.warm()
        if progress is not None:
            progress("ready", count, count)
        seller_info: dict[str, object] = {"id": user_id, "username": f"sandbox_shop_{number}"}
        return Seller(number, user_id, 9000 + number, secret, inv, OrderBook(seller_info))

    def seller(self, token: str | None) -> Seller | None:
        return self.sellers.get(token) if token is not None else None

    def seller_or_first(self, token: str | None) -> Seller:
        """Control endpoints name a seller by token; default: the first one."""
        return self.sellers.get(token or "") or next(iter(self.sellers.values()))

    def new_product_id(self) -> int:
        return self.reserve_product_ids(1)

    def reserve_product_ids(self, count: int) -> int:
        """First of `count` consecutive fresh product ids."""
        self._next_product += count
        return self._next_product - count

    def new_order_ids(self) -> tuple[int, int]:
        """(order id, first order item id)."""
        self._next_order += 1
        self._next_item += 1
        return self._next_order - 1, self._next_item - 1

    def configure_faults(self, **changes: object) -> None:
        """Set fault options by name; `storm_seconds` starts a 429 storm from now."""
        for name, value in changes.items():
            if name == "storm_seconds":
                self.faults.storm_until = time.monotonic() + float(value)  # type: ignore[arg-type]
            elif name == "retry_after":
                if value not in RETRY_AFTER_MODES:
                    raise ValueError(f"retry_after must be one of {RETRY_AFTER_MODES}")
                self.faults.retry_after = str(value)
            elif name in ("error_rate", "latency_ms", "drop_rate"):
                setattr(self.faults, name, float(value))  # type: ignore[arg-type]
            elif name in ("fail_next", "drop_next", "lose_answer_next", "fail_after_lost_answer"):
                setattr(self.faults, name, int(value))  # type: ignore[call-overload]
            else:
                raise ValueError(f"unknown fault option: {name}")

    def reset(self) -> None:
        """Clear the faults and the rate-limit windows (the products stay as they are)."""
        self.faults = Faults()
        self.limiter.clear()

    def take_lost_answer(self, method: str) -> bool:
        """Whether this write is applied and then left without its answer."""
        if method == "GET" or self.faults.lose_answer_next <= 0:
            return False
        self.faults.lose_answer_next -= 1
        self.faults.fail_next += self.faults.fail_after_lost_answer
        return True

    def pick_fault(self, now: float) -> str | None:
        """What to do to the next /api/v2 request: "drop", "error", "storm" or nothing."""
        f = self.faults
        if f.drop_next > 0:
            f.drop_next -= 1
            return "drop"
        if f.fail_next > 0:
            f.fail_next -= 1
            return "error"
        if now < f.storm_until:
            return "storm"
        if f.drop_rate and self.rng.random() < f.drop_rate:
            return "drop"
        if f.error_rate and self.rng.random() < f.error_rate:
            return "error"
        return None

    def describe(self) -> dict[str, object]:
        """What the control surface shows: never the tokens or secrets themselves."""
        return {
            "seed": self.seed,
            "webhook_url": self.webhook_url,
            "faults": self.faults.as_dict(time.monotonic()),
            "sellers": [
                {
                    "token_hash": token_hash(token),
                    "user_id": s.user_id,
                    "products": len(s.inventory),
                    "orders": len(s.book.orders),
                    "jobs": len(s.jobs),
                }
                for token, s in self.sellers.items()
            ],
        }
