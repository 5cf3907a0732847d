"""A CardTrader API v2 simulator (tests, demo, docker-compose): `SandboxState` holds the sellers
and faults, `create_sandbox_app(state)` serves it, `server` runs it under uvicorn."""

from cardtrader_sandbox.app import create_sandbox_app
from cardtrader_sandbox.jobs import JobTiming
from cardtrader_sandbox.state import Faults, SandboxState, derived_secret

__all__ = ["Faults", "JobTiming", "SandboxState", "create_sandbox_app", "derived_secret"]
