"""In-process client for the simulator (falcon.testing over the ASGI app: no network).
Shared by the test_sandbox_* modules; it holds no tests itself."""

from __future__ import annotations

from typing import Any

from falcon import testing

from cardtrader_sandbox import JobTiming, SandboxState, create_sandbox_app


class Sandbox:
    """A simulator and a client authenticated as its first token."""

    def __init__(self, products: int = 50, tokens: tuple[str, ...] = ("t1",), **kw: Any) -> None:
        kw.setdefault("job_timing", JobTiming(pending=0.05, running=0.05, per_item=0.0))
        self.state = SandboxState(tokens, products, 3, **kw)
        self.client = testing.TestClient(create_sandbox_app(self.state))
        self.token = tokens[0]

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.client.simulate_request(method, f"/api/v2{path}", headers=headers, **kw)

    def control(self, method: str, path: str, **kw: Any) -> Any:
        return self.client.simulate_request(method, f"/_sandbox{path}", **kw)

    def export(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "/products/export").json
        return result

    def first_magic(self) -> dict[str, Any]:
        return next(p for p in self.export() if "mtg_language" in p["properties_hash"])
