"""The worker's periodic work. The periodic reconciliation: every connected, `active` user is
reconciled from CardTrader once per interval, catching whatever a webhook missed. Run from a
once-a-minute cron: it only queues the users whose last periodic run is older than the
interval, so several workers, restarts or a slow queue never pile up runs. And the purge of
stored webhook deliveries older than the freshness window: past it a replay is refused by its
timestamp, so the stored id no longer guards anything."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from brx_domain.sync import OperationType, SyncStatus
from brx_domain.usecases.common import Ports
from brx_domain.usecases.sync import request_reconciliation


async def request_periodic_reconciliations(ports: Ports, *, every_minutes: int) -> list[UUID]:
    """Queue a reconciliation for each active user that is due; returns those users."""
    if every_minutes <= 0:
        return []
    cutoff = ports.clock.now() - timedelta(minutes=every_minutes)
    async with ports.uow() as uow:
        user_ids = await uow.settings.user_ids_with_status(SyncStatus.ACTIVE)
    queued = []
    for user_id in user_ids:
        async with ports.uow() as uow:
            settings = await uow.settings.get(user_id)
            last = await uow.operations.latest(user_id, OperationType.PERIODIC_SYNC)
        if settings is None or not settings.connected:
            continue  # disconnected: nothing is synced until the shop connects again
        if last is not None and last.created_at is not None and last.created_at > cutoff:
            continue
        await request_reconciliation(ports, user_id, periodic=True)
        queued.append(user_id)
    return queued


async def purge_old_webhook_deliveries(ports: Ports) -> int:
    """Delete deliveries received more than `webhook_max_age_seconds` ago; returns how many."""
    cutoff = ports.clock.now() - timedelta(seconds=ports.settings.webhook_max_age_seconds)
    async with ports.uow() as uow:
        purged = await uow.webhooks.purge_older_than(cutoff)
        await uow.commit()
    return purged
