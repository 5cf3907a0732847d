"""A CardTrader API v2 simulator (tests, demo, docker-compose): `SandboxState` holds the sellers
and faults, `create_sandbox_app(state)` serves it, `server` runs it under uvicorn.

It stands for an outside system the service is checked against, so it is its own package and
imports nothing of the service (an import-linter contract; only the `brx-sync sandbox` and
`brx-sync demo` commands import it).

Besides `/api/v2`, the unauthenticated control surface `/_sandbox` (`control.py`) drives it:
`faults` (error rate, latency, dropped connections, 429 storms), `reset`, `requests` (the log,
to prove a client kept the rate limits), `mutate` (stock changed behind the client's back),
`webhook` (the receiver URL) and `orders`: a simulated buyer order (`kind` paid, hub_pending,
merge, cancel, destroy) moves the stock as CardTrader does and sends the signed webhook. With
`"send_webhook": false` the same order is kept and its stock moves (a product sold to 0 is
removed) but nothing is delivered: a missed webhook, the sale the shop never hears of. The answer
still carries the signed body, so a test can deliver it late."""

from cardtrader_sandbox.app import create_sandbox_app
from cardtrader_sandbox.jobs import JobTiming
from cardtrader_sandbox.state import Faults, SandboxState, derived_secret

__all__ = ["Faults", "JobTiming", "SandboxState", "create_sandbox_app", "derived_secret"]
