"""`brx-sync`: one entry point, one subcommand per job. Each subcommand's code lives in
`brx_app.commands.<name>` and is imported only when it runs (no I/O at import time).

Exit status: 0 done, 1 the work failed (or a dependency never answered at start), 2 bad
usage or configuration (one line per bad variable on stderr, nothing else), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import uuid
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from brx_app.failures import ConfigError, StartupError

DESCRIPTION = """BRX Sync keeps a card shop's inventory and its CardTrader listing the same.

The configuration is the environment (docs/running.md lists every variable)."""
EPILOG = """`brx-sync COMMAND --help` shows a command's options, their defaults and the
environment variables it reads. Results go to stdout; logs are JSON lines on stderr.

Exit status: 0 done, 1 the work failed (or a dependency never answered at start),
2 bad usage or configuration (one line per bad variable on stderr), 130 interrupted."""
SERVICE_ENV = (
    "reads the whole configuration (every variable of docs/running.md is checked before "
    "anything starts)"
)
ENVIRONMENT = {  # what each command reads from the environment, for its --help
    "serve": f"environment: needs DATABASE_URL, REDIS_URL (and FERNET_KEY, JWT_PUBLIC_KEY "
    f"when ENVIRONMENT=production); {SERVICE_ENV}",
    "worker": f"environment: needs DATABASE_URL, REDIS_URL (and FERNET_KEY when "
    f"ENVIRONMENT=production); serves /metrics on WORKER_METRICS_PORT; waits "
    f"STARTUP_WAIT_SECONDS for Postgres and Redis; {SERVICE_ENV}",
    "migrate": "environment: needs DATABASE_URL; waits STARTUP_WAIT_SECONDS for Postgres; "
    + SERVICE_ENV,
    "sync": "environment: needs DATABASE_URL, REDIS_URL and the FERNET_KEY the service uses; "
    f"a `brx-sync worker` on the same REDIS_URL and BRX_QUEUE_NAMESPACE runs the job; "
    f"{SERVICE_ENV}",
    "reencrypt": "environment: needs DATABASE_URL, REDIS_URL and FERNET_KEY (new key first, "
    f"every older key still listed); {SERVICE_ENV}",
    "demo": "environment: none needed (in-memory stores, ENVIRONMENT forced to development); "
    "optional variables such as SYNC_CHUNK_SIZE or CATALOGUE_TABLES are honoured",
    "sandbox": "environment: none",
    "token": "environment: none",
    "keys": "environment: none",
}


def _version() -> str:
    try:
        return version("brx-sync")
    except PackageNotFoundError:
        return "unknown"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


def _command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str) -> (
    argparse.ArgumentParser
):  # fmt: skip
    return sub.add_parser(
        name,
        help=text,
        description=text[0].upper() + text[1:] + ".",
        epilog=ENVIRONMENT[name],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def _service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = _command(sub, "serve", "serve the HTTP API under uvicorn")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument(
        "--drain-seconds",
        type=_seconds,
        default=5.0,
        help="after SIGTERM, /health/ready answers 503 and the listener keeps accepting this "
        "long, so a load balancer stops sending before it closes (--workers 1 only)",
    )
    serve.add_argument(
        "--grace-seconds",
        type=_seconds,
        default=15.0,
        help="after the drain, requests in flight may take this long before they are cancelled",
    )

    worker = _command(sub, "worker", "run the arq worker (webhooks, pushes, syncs)")
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.add_argument(
        "--queues", default="all", help="queues to serve: all, or a list of high,bulk,default"
    )

    _command(sub, "migrate", "apply the database migrations (idempotent)")

    sync = _command(
        sub, "sync", "start a user's bulk sync (or a dry run) and follow it with a progress bar"
    )
    sync.add_argument("user_id", metavar="USER_ID", type=uuid.UUID, help="the shop user (a UUID)")
    sync.add_argument(
        "--force",
        action="store_true",
        help="start even if a sync looks running, and allow large deletions",
    )
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help="a reconciliation that counts what would change and changes nothing",
    )
    sync.add_argument("--interval", type=float, default=0.5, help="seconds between progress reads")

    _command(sub, "reencrypt", "re-encrypt every stored secret with the newest FERNET_KEY")


def _tool_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = _command(sub, "sandbox", "run the CardTrader API simulator")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sandbox.add_argument("--port", type=int, default=8900, help="port to listen on")
    sandbox.add_argument(
        "--token", action="append", default=None, help="accepted seller token, repeatable "
        "(default: demo)"
    )  # fmt: skip
    sandbox.add_argument("--products", type=int, default=1000, help="products per seller")
    sandbox.add_argument("--seed", type=int, default=1, help="seed of the generated products")
    sandbox.add_argument("--webhook-url", default=None, help="where to send order webhooks")
    sandbox.add_argument("--webhook-secret", default=None, help="their signing secret")
    sandbox.add_argument("--error-rate", type=float, default=0.0, help="share answered 5xx")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="added to each answer")
    sandbox.add_argument(
        "--drop-rate", type=float, default=0.0, help="share closed without an answer"
    )
    sandbox.add_argument(
        "--retry-after",
        choices=["absent", "seconds", "http-date"],
        default="seconds",
        help="Retry-After header on 429 answers",
    )

    demo = _command(sub, "demo", "everything in one process on in-memory adapters")
    demo.add_argument("--host", default="127.0.0.1", help="address of the API and the sandbox")
    demo.add_argument("--port", type=int, default=8000, help="port of the API")
    demo.add_argument("--products", type=int, default=10_000, help="products in the sandbox")
    demo.add_argument("--sandbox-port", type=int, default=8900, help="port of the sandbox")
    demo.add_argument(
        "--exit-after-sync",
        action="store_true",
        help="run one sync through the API, print the result and exit",
    )

    token = _command(sub, "token", "mint a development access token")
    token.add_argument("user_id", help="the user (a UUID): the token's sub")
    token.add_argument("--private-key", required=True, help="PEM file of the RSA private key")
    token.add_argument("--minutes", type=int, default=60, help="lifetime")
    token.add_argument("--admin", action="store_true", help="add the operator claim role=admin")
    token.add_argument("--issuer", default=None, help="iss claim")
    token.add_argument("--audience", default=None, help="aud claim")

    keys = _command(sub, "keys", "generate a Fernet key and a development RSA key pair")
    keys.add_argument("--out", default=".", help="directory for jwt_private.pem/jwt_public.pem")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brx-sync",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"brx-sync {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _service_commands(sub)
    _tool_commands(sub)
    return parser


def _load(command: str) -> ModuleType | None:
    """The command's module, or None (after one line) when the install lacks what it needs:
    a core-only `pip install brx-sync` is the library, not the service."""
    try:
        return importlib.import_module(f"brx_app.commands.{command}")
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] in ("brx_domain", "brx_adapters", "brx_app"):
            raise  # our own module missing is a bug, not an install choice
        print(
            f"brx-sync {command}: this install lacks {exc.name!r}; "
            "the service needs: pip install 'brx-sync[server]'",
            file=sys.stderr,
        )
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = _load(args.command)
    if module is None:
        return 2
    try:
        result = module.run(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"brx-sync {args.command}: configuration error: {problem}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"brx-sync {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
