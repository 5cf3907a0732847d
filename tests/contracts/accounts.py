"""Contract of the idempotency keys and of erasing a user's data (fixture `uow_factory`)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brx_domain.idempotency import IdempotencyRecord, StoredAnswer
from brx_domain.inventory import LedgerEntry, StockReason
from brx_domain.orders import OrderStockRecord, OrderStockState
from brx_domain.ports import UnitOfWorkFactory, WebhookDelivery
from brx_domain.sync import SyncStatus, UserSyncSettings
from tests.contracts.fixtures import T0, add_items, at, done_webhook_operation, new_item

DAY = timedelta(hours=24)


def _record(
    user_id: UUID, key: str = "k-1", fp: str = "a" * 64, at_s: float = 0
) -> IdempotencyRecord:
    return IdempotencyRecord(user_id, key, fp, at(at_s), at(at_s) + DAY)


async def _claim(
    uow_factory: UnitOfWorkFactory, record: IdempotencyRecord
) -> IdempotencyRecord | None:
    async with uow_factory() as uow:
        held = await uow.idempotency.claim(record)
        await uow.commit()
    return held


async def _complete(uow_factory: UnitOfWorkFactory, record: IdempotencyRecord, status: int) -> None:
    async with uow_factory() as uow:
        await uow.idempotency.complete(record.user_id, record.key, StoredAnswer(status, {"n": 1}))
        await uow.commit()


async def test_a_key_is_claimed_once_and_then_holds_its_first_answer(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    first = _record(fresh_user)
    assert await _claim(uow_factory, first) is None
    held = await _claim(uow_factory, _record(fresh_user, fp="b" * 64, at_s=5))
    assert held is not None and held.fingerprint == first.fingerprint and held.answer is None

    await _complete(uow_factory, first, 201)
    again = await _claim(uow_factory, _record(fresh_user, at_s=10))

    assert again is not None and again.answer == StoredAnswer(201, {"n": 1})
    assert again.created_at == first.created_at and again.expires_at == first.expires_at


async def test_keys_are_per_user(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    assert await _claim(uow_factory, _record(fresh_user)) is None
    assert await _claim(uow_factory, _record(other_user)) is None


async def test_an_expired_key_is_claimable_again_and_purged(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    first = _record(fresh_user)
    await _claim(uow_factory, first)
    await _complete(uow_factory, first, 200)
    after_lifetime = DAY.total_seconds()

    reclaimed = _record(fresh_user, fp="c" * 64, at_s=after_lifetime)
    assert await _claim(uow_factory, reclaimed) is None
    held = await _claim(uow_factory, _record(fresh_user, at_s=after_lifetime + 1))
    assert held is not None and held.fingerprint == "c" * 64 and held.answer is None

    async with uow_factory() as uow:
        await uow.idempotency.purge_expired(at(after_lifetime + 60))  # the new claim is live
        await uow.commit()
    assert await _claim(uow_factory, _record(fresh_user, at_s=after_lifetime + 61)) is not None

    async with uow_factory() as uow:
        purged = await uow.idempotency.purge_expired(at(2 * after_lifetime + 1))
        await uow.commit()
    assert purged >= 1
    async with uow_factory() as uow:  # gone from the table, not merely expired
        assert await uow.idempotency.claim(_record(fresh_user, at_s=-1)) is None


async def test_release_drops_only_an_unanswered_claim_of_the_same_request(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    answered, open_claim = _record(fresh_user, "answered"), _record(fresh_user, "open")
    for record in (answered, open_claim):
        await _claim(uow_factory, record)
    await _complete(uow_factory, answered, 200)

    async with uow_factory() as uow:
        await uow.idempotency.release(fresh_user, "answered", answered.fingerprint)
        await uow.idempotency.release(fresh_user, "open", "f" * 64)  # another request's
        await uow.commit()
    assert await _claim(uow_factory, _record(fresh_user, "answered", at_s=1)) is not None
    assert await _claim(uow_factory, _record(fresh_user, "open", at_s=1)) is not None

    async with uow_factory() as uow:
        await uow.idempotency.release(fresh_user, "open", open_claim.fingerprint)
        await uow.commit()
    assert await _claim(uow_factory, _record(fresh_user, "open", at_s=2)) is None


async def test_concurrent_claims_of_one_key_have_exactly_one_winner(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    records = [_record(fresh_user, "race", fp=f"{n:064x}") for n in range(8)]
    held = await asyncio.gather(*(_claim(uow_factory, r) for r in records))

    winners = [r for r, h in zip(records, held, strict=True) if h is None]
    assert len(winners) == 1
    assert {h.fingerprint for h in held if h is not None} == {winners[0].fingerprint}


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 3 * 86400)), max_size=12))
async def test_claims_over_time_match_a_dict_model(
    uow_factory: UnitOfWorkFactory, steps: list[tuple[str, int]]
) -> None:
    """Whatever keys are claimed when: a claim wins exactly when the model has no live record."""
    user = uuid.uuid4()
    model: dict[str, IdempotencyRecord] = {}
    for key, seconds in sorted(steps, key=lambda step: step[1]):
        record = _record(user, key, at_s=seconds)
        held = await _claim(uow_factory, record)
        live = model.get(key)
        if live is not None and live.is_live(record.created_at):
            assert held is not None and held.created_at == live.created_at
        else:
            assert held is None
            model[key] = record


# --- erasure ----------------------------------------------------------------------------------


async def _fill(uow_factory: UnitOfWorkFactory, user_id: UUID) -> None:
    [item] = await add_items(uow_factory, new_item(user_id, external_stock_id=str(uuid.uuid4())))
    async with uow_factory() as uow:
        await uow.settings.put(UserSyncSettings(user_id, "token", "secret", created_at=T0))
        await uow.ledger.add([LedgerEntry(user_id, item.id, -1, StockReason.PURCHASE, "op", T0, 3)])
        delivery = WebhookDelivery(str(uuid.uuid4()), user_id, T0, {}, "live")
        await uow.webhooks.commit_if_new(delivery, done_webhook_operation(user_id))  # + operation
        await uow.orders.save(user_id, OrderStockRecord(42, OrderStockState.TAKEN, {1: 1}))
        await uow.idempotency.claim(_record(user_id))
        await uow.commit()


async def test_erasing_a_user_removes_all_of_their_rows_and_nobody_elses(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    await _fill(uow_factory, fresh_user)
    await _fill(uow_factory, other_user)

    async with uow_factory() as uow:
        removed = await uow.erasure.erase_user(fresh_user)
        await uow.commit()

    assert removed == {
        "settings": 1,
        "items": 1,
        "ledger": 1,
        "operations": 1,
        "webhooks": 1,
        "orders": 1,
        "idempotency": 1,
    }
    async with uow_factory() as uow:
        assert await uow.settings.get(fresh_user) is None
        assert await uow.items.count(fresh_user) == 0
        assert (await uow.operations.list(fresh_user, limit=10, offset=0))[1] == 0
        assert (await uow.orders.lock(fresh_user, 42)).state is OrderStockState.NONE
        assert await uow.idempotency.claim(_record(fresh_user, at_s=1)) is None
        assert await uow.settings.get(other_user) is not None
        assert await uow.items.count(other_user) == 1
        assert (await uow.operations.list(other_user, limit=10, offset=0))[1] == 1


async def test_erasure_rolls_back_with_its_unit_of_work(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    await _fill(uow_factory, fresh_user)
    async with uow_factory() as uow:
        await uow.erasure.erase_user(fresh_user)

    async with uow_factory() as uow:
        assert await uow.settings.get(fresh_user) is not None
        assert await uow.items.count(fresh_user) == 1


# --- the disconnected state -------------------------------------------------------------------


async def test_a_disconnected_user_is_stored_and_still_found_by_status(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    connected = UserSyncSettings(fresh_user, "t", "s", SyncStatus.ACTIVE, created_at=T0)
    gone = replace(connected, user_id=other_user, disconnected_at=at(30))
    async with uow_factory() as uow:
        await uow.settings.put(connected)
        await uow.settings.put(gone)
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.settings.get(other_user)
        active = await uow.settings.user_ids_with_status(SyncStatus.ACTIVE)

    assert stored is not None and stored.disconnected_at == at(30) and not stored.connected
    assert {fresh_user, other_user} <= set(active)  # key rotation must reach every user
