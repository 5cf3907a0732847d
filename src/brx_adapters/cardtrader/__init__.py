"""The CardTrader API v2 client: the `MarketplaceGateway` / `Marketplace` ports over httpx."""

from brx_adapters.cardtrader.client import CardTraderMarketplace
from brx_adapters.cardtrader.export import StreamedExport
from brx_adapters.cardtrader.gateway import CardTraderGateway, token_key
from brx_adapters.cardtrader.policy import CircuitBreaker, Limit, RetryPolicy
from brx_adapters.cardtrader.transport import CircuitOpen, OutcomeUnknown

__all__ = [
    "CardTraderGateway",
    "CardTraderMarketplace",
    "CircuitBreaker",
    "CircuitOpen",
    "Limit",
    "OutcomeUnknown",
    "RetryPolicy",
    "StreamedExport",
    "token_key",
]
