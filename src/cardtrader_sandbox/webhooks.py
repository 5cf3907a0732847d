"""Delivery of signed webhooks to the configured receiver, with one pooled HTTP client."""

from __future__ import annotations

import httpx

from cardtrader_sandbox.orders import sign


class WebhookSender:
    """POSTs raw bodies with CardTrader's `Signature` header; reports what the receiver said."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def deliver(self, url: str, body: bytes, secret: str) -> dict[str, object]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        headers = {"Content-Type": "application/json", "Signature": sign(body, secret)}
        try:
            answer = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return {"url": url, "status": None, "error": type(exc).__name__}
        return {"url": url, "status": answer.status_code, "response": answer.text[:2000]}

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
