"""`brx-sync`: one entry point, one subcommand per job. Each subcommand's code lives in
`brx_app.commands.<name>` and is imported only when it runs (no I/O at import time)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from brx_app.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brx-sync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the HTTP API under uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")

    worker = sub.add_parser("worker", help="run the arq worker (webhooks, pushes, syncs)")
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.add_argument(
        "--queues", default="all", help="comma-separated: high,bulk,default (default: all)"
    )

    sub.add_parser("migrate", help="apply the database migrations (idempotent)")

    sandbox = sub.add_parser("sandbox", help="run the CardTrader API simulator")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8900)
    sandbox.add_argument(
        "--token",
        action="append",
        default=None,
        help="accepted bearer token (repeatable; default: demo)",
    )
    sandbox.add_argument("--products", type=int, default=1000)
    sandbox.add_argument("--seed", type=int, default=1)
    sandbox.add_argument("--webhook-url", default=None)
    sandbox.add_argument("--webhook-secret", default=None)
    sandbox.add_argument("--error-rate", type=float, default=0.0)
    sandbox.add_argument("--latency-ms", type=float, default=0.0)
    sandbox.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of requests whose connection is closed without an answer",
    )
    sandbox.add_argument(
        "--retry-after",
        choices=["absent", "seconds", "http-date"],
        default="seconds",
        help="Retry-After header on 429 answers",
    )

    demo = sub.add_parser("demo", help="everything in one process on in-memory adapters")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--products", type=int, default=10_000)
    demo.add_argument("--sandbox-port", type=int, default=8900)
    demo.add_argument(
        "--exit-after-sync",
        action="store_true",
        help="run one sync through the API, print the result and exit",
    )

    token = sub.add_parser("token", help="mint a development access token")
    token.add_argument("user_id")
    token.add_argument("--private-key", required=True, help="PEM file of the RSA private key")
    token.add_argument("--minutes", type=int, default=60)
    token.add_argument("--admin", action="store_true", help="add the operator claim")
    token.add_argument("--issuer", default=None)
    token.add_argument("--audience", default=None)

    keys = sub.add_parser("keys", help="generate a Fernet key and a development RSA key pair")
    keys.add_argument("--out", default=".", help="directory for jwt_private.pem/jwt_public.pem")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f"brx_app.commands.{args.command}")
    try:
        result = module.run(args)
    except ConfigError as exc:
        print(f"brx-sync: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
