"""`brx-sync sync USER_ID [--force] [--dry-run]`: what `POST /start/{user_id}` does (or, with
`--dry-run`, `POST /sync-from-cardtrader/{user_id}` as a dry run: a reconciliation that counts
what would change and changes nothing — a bulk sync has no dry run), from the command line.

The same use cases and the same queue as the API: a `brx-sync worker` runs the job. This
command follows the operation with a progress bar on stderr (redrawn in place on a terminal,
one line per change otherwise) and prints the outcome on stdout: exit 0 completed, 1 failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO
from uuid import UUID

from brx_app.config import AppConfig, load_config
from brx_domain.sync import OperationStatus, SyncOperation, SyncProgress

NEEDS = ("DATABASE_URL", "REDIS_URL")
BAR_WIDTH = 30


def run(args: argparse.Namespace) -> int:
    config = load_config(require=NEEDS)
    return asyncio.run(_main(config, args))


async def _main(config: AppConfig, args: argparse.Namespace) -> int:
    from brx_app.container import build_container
    from brx_domain.errors import DomainError
    from brx_domain.usecases.sync import get_task, request_reconciliation, start_bulk_sync

    user_id: UUID = args.user_id
    container = build_container(config)
    ports = container.ports()
    try:
        await container.runtime().wait_until_up(
            ("postgresql", "redis"), within=config.startup_wait_seconds
        )
        try:
            if args.dry_run:
                operation = await request_reconciliation(
                    ports, user_id, dry_run=True, force=args.force
                )
            else:
                operation = await start_bulk_sync(ports, user_id, force=args.force)
        except DomainError as exc:
            print(f"brx-sync sync: {exc}", file=sys.stderr)
            return 1
        kind = "dry run" if args.dry_run else "bulk sync"
        print(f"{kind} {operation.operation_id} queued for user {user_id}", file=sys.stderr)
        bar = ProgressBar(sys.stderr)
        while operation.status is OperationStatus.PENDING:
            bar.show(operation)
            await asyncio.sleep(args.interval)
            operation = await get_task(ports, user_id, operation.operation_id)
        bar.show(operation)
        bar.close()
    finally:
        await container.runtime().close()
    print(outcome(operation))
    return 0 if operation.status is OperationStatus.COMPLETED else 1


def counts(progress: SyncProgress) -> str:
    return (
        f"{progress.processed:,}/{progress.total_products:,} products: "
        f"{progress.created:,} created, {progress.updated:,} updated, "
        f"{progress.skipped:,} skipped, {progress.deleted:,} deleted, {progress.failed:,} failed"
    )


def outcome(operation: SyncOperation) -> str:
    """The last line, on stdout: status, counts, and the reason of a failure."""
    line = f"{operation.status.value}: {counts(operation.progress)}"
    if operation.status is OperationStatus.FAILED:
        line += f" ({operation.metadata.get('error') or 'no reason recorded'})"
    return line


class ProgressBar:
    """`[#####-----]  42%  2,100/5,000 products: ...`; redrawn in place on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.last = stream, ""
        self.live = stream.isatty()

    def show(self, operation: SyncOperation) -> None:
        progress = operation.progress
        started = operation.metadata.get("attempts") or progress.processed
        if operation.status is OperationStatus.PENDING and not started:
            line = "queued: waiting for a brx-sync worker to take the job"
        else:
            filled = BAR_WIDTH * progress.progress_percent // 100
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            line = f"[{bar}] {progress.progress_percent:3d}%  {counts(progress)}"
        if line == self.last:
            return
        self.last = line
        if self.live:
            self.stream.write(f"\r\x1b[2K{line}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live and self.last:
            self.stream.write("\n")
            self.stream.flush()
