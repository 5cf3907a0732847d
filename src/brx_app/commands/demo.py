"""`brx-sync demo`: the whole service in one process on the embedded default — the API, an
in-process worker and the CardTrader sandbox, over in-memory stores (no Postgres, Redis or
MySQL). Prints the URL, a demo user, a ready access token and copy-paste requests."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from brx_app.config import load_config
from brx_app.logs import configure_logging

DEMO_TOKEN = "demo"  # noqa: S105 - the sandbox seller's CardTrader token (a simulator, not a secret)


@dataclass
class DemoStack:
    api_url: str
    sandbox_url: str
    user_id: str
    access_token: str
    operator_token: str  # the same user with the operator claim (debug logs, index)
    servers: list[Any]


def _build(args: argparse.Namespace) -> tuple[DemoStack, Any]:
    import uvicorn

    from brx_adapters.memory import MemoryCatalogue
    from brx_app.commands.keys import generate_rsa_pem
    from brx_app.commands.token import mint_access_token
    from brx_app.container import build_embedded_container
    from brx_app.http import create_app
    from cardtrader_sandbox import SandboxState
    from cardtrader_sandbox.server import make_server

    api_url = f"http://{args.host}:{args.port}"
    sandbox_url = f"http://{args.host}:{args.sandbox_port}/api/v2"
    user_id = str(uuid.uuid4())
    private_pem, public_pem = generate_rsa_pem()
    config = load_config(
        ENVIRONMENT="development",
        JWT_PUBLIC_KEY=public_pem.decode(),
        CARDTRADER_API_BASE_URL=sandbox_url,
        PUBLIC_BASE_URL=api_url,
    )
    print(f"seeding the CardTrader sandbox with {args.products:,} products ...", flush=True)
    state = SandboxState(
        (DEMO_TOKEN,),
        products=args.products,
        seed=1,
        webhook_url=f"{api_url}/api/v1/sync/webhook/user/{user_id}",
    )
    container = build_embedded_container(
        config, catalogue=MemoryCatalogue(_demo_catalogue(config.catalogue_table_list))
    )
    api = uvicorn.Server(
        uvicorn.Config(
            create_app(container),
            host=args.host,
            port=args.port,
            lifespan="on",
            log_config=None,
            access_log=False,
        )
    )
    sandbox = make_server(state, args.host, args.sandbox_port)
    token = mint_access_token(private_pem, user_id, minutes=24 * 60)
    operator = mint_access_token(private_pem, user_id, minutes=24 * 60, admin=True)
    stack = DemoStack(
        api_url,
        f"http://{args.host}:{args.sandbox_port}",
        user_id,
        token,
        operator,
        [api, sandbox],
    )
    return stack, container


def _demo_catalogue(tables: list[str]) -> set[int]:
    """The sandbox's blueprints that the configured catalogue tables would know."""
    from cardtrader_sandbox import catalogue

    return {
        catalogue.blueprint_id_at(i)
        for i in range(catalogue.BLUEPRINT_COUNT)
        if catalogue.KINDS[i % len(catalogue.KINDS)].table in tables
    }


def _instructions(stack: DemoStack) -> str:
    base, user = f"{stack.api_url}/api/v1/sync", stack.user_id
    return f"""
BRX Sync demo is up (in-memory stores, CardTrader sandbox, in-process worker).

  API:          {stack.api_url}   (OpenAPI: {stack.api_url}/openapi.json)
  console:      {stack.api_url}/console   (paste the access token below to sign in)
  demo user id: {user}
  access token (24 h):
{stack.access_token}
  operator token (24 h, adds role=admin for the operator endpoints):
{stack.operator_token}

Try:
  export TOKEN={stack.access_token}
  curl -s -X POST {base}/start/{user} -H "Authorization: Bearer $TOKEN"        # start a sync
  curl -s {base}/progress/{user} -H "Authorization: Bearer $TOKEN"             # watch progress
  curl -s "{base}/inventory/{user}?limit=5" -H "Authorization: Bearer $TOKEN"  # list inventory
  # buy a card; the Idempotency-Key makes a repeat safe (send it twice: one sale, one answer)
  curl -s -X POST {base}/purchase/{user}/item/1 -H "Authorization: Bearer $TOKEN" \\
       -H "Content-Type: application/json" -H "Idempotency-Key: demo-1" \\
       -d '{{"purchaseQuantity": 1}}'
  curl -s {base}/inventory/{user}/item/1/history -H "Authorization: Bearer $TOKEN"  # why
  # a buyer orders on CardTrader: the sandbox sends the signed webhook, stock drops at once
  curl -s -X POST {stack.sandbox_url}/_sandbox/orders -H "Content-Type: application/json" \\
       -d '{{"kind": "paid", "quantity": 1}}'
  # a sale on CardTrader whose webhook never comes: take item 2's external_stock_id <P> and
  # quantity <Q> from the inventory, sell one unit of <P> silently, then buy all <Q> in the
  # shop: 409, nothing sold, and the stock is corrected to what CardTrader has
  curl -s -X POST {stack.sandbox_url}/_sandbox/orders -H "Content-Type: application/json" \\
       -d '{{"kind": "paid", "product_id": <P>, "quantity": 1, "send_webhook": false}}'
  curl -s -X POST {base}/purchase/{user}/item/2 -H "Authorization: Bearer $TOKEN" \\
       -H "Content-Type: application/json" -d '{{"purchaseQuantity": <Q>}}'
  curl -s "{base}/operations/{user}?limit=5" -H "Authorization: Bearer $TOKEN"  # what ran
  curl -s {base}/status/{user} -H "Authorization: Bearer $TOKEN"
  export OPERATOR={stack.operator_token}
  curl -s "{base}/debug-logs?limit=5" -H "Authorization: Bearer $OPERATOR"    # operator only
`brx-sync demo --exit-after-sync` runs this tour itself, checks every step and prints it.
The demo catalogue mirrors the spec's default tables, so One Piece products (op_prints) are
skipped, as in production. Ctrl-C (or SIGTERM) stops everything.
"""


async def _register(stack: DemoStack, container: Any) -> None:
    from brx_domain.usecases.users import register_user

    await register_user(container.ports(), uuid.UUID(stack.user_id), DEMO_TOKEN)


async def _wait_started(servers: list[Any]) -> None:
    while not all(s.started for s in servers):
        if any(s.should_exit for s in servers):
            raise RuntimeError("a demo server failed to start (is the port in use?)")
        await asyncio.sleep(0.05)


async def _tour(stack: DemoStack) -> dict[str, Any]:
    """What `--exit-after-sync` prints: the tour of `brx_app.commands.tour`, over HTTP."""
    from brx_app.commands.tour import run_tour

    headers = {"Authorization": f"Bearer {stack.access_token}"}
    async with (
        httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=60) as api,
        httpx.AsyncClient(base_url=f"{stack.sandbox_url}/_sandbox", timeout=60) as sandbox,
    ):
        return await run_tour(api, sandbox, stack.user_id)


async def _main(args: argparse.Namespace) -> int:
    import json

    stack, container = _build(args)
    serving = [asyncio.create_task(s.serve()) for s in stack.servers]
    loop = asyncio.get_running_loop()
    try:
        await _wait_started(stack.servers)
        # after uvicorn installed its own handlers: ours replace them, so a SIGTERM stops both
        # servers and the demo exits 0 instead of uvicorn re-raising the signal at the end
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stop, stack.servers)
        await _register(stack, container)
        print(_instructions(stack), flush=True)
        if args.exit_after_sync:
            print(json.dumps(await _tour(stack), indent=2, default=str), flush=True)
            drain = container.runtime().drain
            if drain is not None:
                await drain()
            return 0
        await asyncio.gather(*serving)
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        _stop(stack.servers)
        await asyncio.gather(*serving, return_exceptions=True)


def _stop(servers: list[Any]) -> None:
    for server in servers:
        server.should_exit = True


def run(args: argparse.Namespace) -> int:
    configure_logging(logging.WARNING, development=True)
    return asyncio.run(_main(args))
