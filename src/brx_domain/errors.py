"""The domain's exceptions. The HTTP layer maps each family to a status code in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose; `code` is stable and machine-readable.

    `transient` is the one retry rule: True when the same call may succeed later (a store or
    CardTrader that is down, a rate limit), so a job failing with it is retried
    (`brx_domain.retry`); False when repeating cannot help (bad input, not found, conflicts).
    `retry_after` is how long to wait, in seconds, when the failure says so."""

    code = "domain_error"
    transient = False

    def __init__(
        self, message: str, *, details: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.retry_after = retry_after


class InvalidInput(DomainError):
    """Bad input: names the offending field (HTTP 400)."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details={"field": field})
        self.field = field


class NotFound(DomainError):
    """The thing does not exist, or is not the caller's (HTTP 404; never reveals which)."""

    code = "not_found"


class InsufficientStock(DomainError):
    """A purchase asked for more units than are in stock (HTTP 400, as the seed says)."""

    code = "insufficient_stock"

    def __init__(self, requested: int, available: int) -> None:
        super().__init__(
            f"purchaseQuantity: requested {requested} but only {available} available",
            details={"field": "purchaseQuantity", "requested": requested, "available": available},
        )
        self.requested = requested
        self.available = available


class Conflict(DomainError):
    """The request is valid but the current state forbids it (HTTP 409)."""

    code = "conflict"


class NotListedOnCardTrader(Conflict):
    """The item has no CardTrader product, or CardTrader says it is gone or short."""

    code = "not_available_on_cardtrader"


class SyncInProgress(Conflict):
    """A bulk sync of this user is already queued or running."""

    code = "sync_in_progress"


class NotConnected(Conflict):
    """The user disconnected their CardTrader account: nothing is sent to CardTrader until
    they connect again."""

    code = "not_connected"


class DeletionGuardTripped(Conflict):
    """A sync would delete more of the inventory than the guard allows without `force`."""

    code = "deletion_guard"

    def __init__(self, to_delete: int, total: int, max_share: float) -> None:
        super().__init__(
            f"sync would delete {to_delete} of {total} items "
            f"(more than {max_share:.0%}); run it again with force=true to allow it",
            details={"to_delete": to_delete, "total": total, "max_share": max_share},
        )


# --- failures of the outside world, raised by adapters through the ports -------------------


class MarketplaceError(DomainError):
    """CardTrader answered with an error, or could not be reached."""

    code = "marketplace_error"


class MarketplaceUnauthorized(MarketplaceError):
    code = "marketplace_unauthorized"


class MarketplaceNotFound(MarketplaceError):
    code = "marketplace_not_found"


class MarketplaceValidation(MarketplaceError):
    """CardTrader refused the payload; `errors` maps each field to its messages."""

    code = "marketplace_validation"

    def __init__(self, message: str, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message, details={"errors": dict(errors or {})})
        self.errors = dict(errors or {})


class MarketplaceRateLimited(MarketplaceError):
    code = "marketplace_rate_limited"
    transient = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after}, retry_after=retry_after)


class MarketplaceUnavailable(MarketplaceError):
    """5xx, network failure, timeout or an open circuit: worth retrying later."""

    code = "marketplace_unavailable"
    transient = True


class MarketplaceOutcomeUnknown(MarketplaceUnavailable):
    """A non-idempotent write may or may not have been applied (timeout, 5xx, cut answer)."""

    code = "marketplace_outcome_unknown"


class WriteUndetermined(MarketplaceUnavailable):
    """A lost write could not be told applied or not from CardTrader's quantity and the changes
    known meanwhile: it is not sent again (at most once); a later attempt looks again."""

    code = "cardtrader_write_undetermined"


class ProductBusy(MarketplaceUnavailable):
    """Another write to the same CardTrader product held its lock past the deadline."""

    code = "cardtrader_product_busy"


class DependencyUnavailable(DomainError):
    """A store the service needs (database, queue, catalogue) is down (HTTP 503)."""

    code = "dependency_unavailable"
    transient = True


class Unauthenticated(DomainError):
    """The caller could not be authenticated (HTTP 401). Deliberately says nothing more."""

    code = "unauthorized"
