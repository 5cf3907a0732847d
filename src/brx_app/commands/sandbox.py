"""`brx-sync sandbox`: the CardTrader API v2 simulator on a port, seeded with deterministic
products (with progress), sending signed webhooks for simulated buyer orders."""

from __future__ import annotations

import argparse
import sys
import time

from cardtrader_sandbox import SandboxState
from cardtrader_sandbox.limits import token_hash
from cardtrader_sandbox.server import serve_forever


def _progress(stage: str, done: int, total: int) -> None:
    """One line rewritten in place while seeding (stderr, so stdout stays parseable)."""
    end = "\n" if stage == "ready" else ""
    print(f"\rseeding: {stage} {done:,}/{total:,} products", end=end, file=sys.stderr, flush=True)


def build_state(args: argparse.Namespace) -> SandboxState:
    return SandboxState(
        args.token or ["demo"],
        args.products,
        args.seed,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        progress=_progress,
        error_rate=args.error_rate,
        latency_ms=args.latency_ms,
        drop_rate=getattr(args, "drop_rate", 0.0),
        retry_after=getattr(args, "retry_after", "seconds"),
    )


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    state = build_state(args)
    seconds = time.perf_counter() - started
    base = f"http://{args.host}:{args.port}"
    print(f"CardTrader sandbox: {base}/api/v2  (control: {base}/_sandbox)")
    for token, seller in state.sellers.items():
        print(
            f"  token #{token_hash(token)} (as given): {len(seller.inventory):,} products, "
            f"user_id {seller.user_id}"
        )
    print(f"  seed {args.seed}, ready in {seconds:.1f} s; webhooks to {args.webhook_url or '-'}")
    serve_forever(state, args.host, args.port)
    return 0
