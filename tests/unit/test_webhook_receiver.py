"""`receive_webhook`: signature, freshness and dedup, over the in-memory adapters."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from brx_adapters.memory.records import MemorySettingsRepository
from brx_domain.errors import InvalidInput, Unauthenticated
from brx_domain.orders import Order, OrderLine
from brx_domain.sync import OperationStatus, RemoteProduct
from brx_domain.testing import event_body
from brx_domain.usecases import Ports
from brx_domain.usecases.users import connect_user, disconnect_user
from brx_domain.usecases.webhooks import receive_webhook, sign
from brx_domain.webhook_secrets import WebhookSecrets
from tests.unit.world import TOKEN, World

ORDER = Order(733733, "paid", False, (OrderLine(101, 2),))


@pytest.fixture
async def world() -> World:
    world = World()
    await world.register()
    return world


def _signed(world: World, **changes: object) -> tuple[bytes, str]:
    body = json.dumps(
        {**event_body("d-1", "order.create", ORDER, time=world.clock.now()), **changes}
    )
    raw = body.encode()
    return raw, sign(raw, world.account.shared_secret)


def _nothing_stored(world: World) -> bool:
    return not world.store.webhooks and not world.store.operations and not world.queue.enqueued


async def test_a_signed_fresh_delivery_is_stored_and_queued(world: World) -> None:
    body, signature = _signed(world)

    receipt = await receive_webhook(world.ports, world.user_id, body, signature)

    assert (receipt.webhook_id, receipt.duplicate) == ("d-1", False)
    assert (world.user_id, "d-1") in world.store.webhooks
    assert [job.job for job in world.queue.enqueued] == ["apply_webhook"]


async def test_the_same_delivery_twice_is_stored_and_queued_once(world: World) -> None:
    body, signature = _signed(world)

    await receive_webhook(world.ports, world.user_id, body, signature)
    again = await receive_webhook(world.ports, world.user_id, body, signature)

    assert again.duplicate and again.task_id is None
    assert len(world.queue.enqueued) == 1


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU="])
async def test_a_missing_or_wrong_signature_is_refused_with_nothing_stored(
    world: World, signature: str | None
) -> None:
    body, _ = _signed(world)

    with pytest.raises(Unauthenticated, match="invalid webhook signature"):
        await receive_webhook(world.ports, world.user_id, body, signature)

    assert _nothing_stored(world)


async def test_an_unknown_user_gets_the_same_refusal(world: World) -> None:
    body, signature = _signed(world)

    with pytest.raises(Unauthenticated, match="invalid webhook signature"):
        await receive_webhook(world.ports, uuid.uuid4(), body, signature)


async def test_a_tampered_body_is_refused(world: World) -> None:
    body, signature = _signed(world)

    with pytest.raises(Unauthenticated):
        await receive_webhook(world.ports, world.user_id, body.replace(b"733733", b"1"), signature)

    assert _nothing_stored(world)


@pytest.mark.parametrize("age", [timedelta(days=8), -timedelta(minutes=6)])
async def test_a_stale_or_future_delivery_is_refused_with_nothing_stored(
    world: World, age: timedelta
) -> None:
    body, signature = _signed(world, time=int((world.clock.now() - age).timestamp()))

    with pytest.raises(Unauthenticated):
        await receive_webhook(world.ports, world.user_id, body, signature)

    assert _nothing_stored(world)


async def test_a_signed_body_that_is_not_json_is_bad_input(world: World) -> None:
    body = b"{not json"

    with pytest.raises(InvalidInput, match="body: is not valid JSON"):
        await receive_webhook(
            world.ports, world.user_id, body, sign(body, world.account.shared_secret)
        )


async def test_a_signed_envelope_with_a_bad_field_names_it(world: World) -> None:
    body, signature = _signed(world, cause="order.explode")

    with pytest.raises(InvalidInput) as raised:
        await receive_webhook(world.ports, world.user_id, body, signature)

    assert raised.value.field == "cause"


async def test_a_test_mode_delivery_is_recorded_but_never_queued(world: World) -> None:
    body, signature = _signed(world, mode="test")

    receipt = await receive_webhook(world.ports, world.user_id, body, signature)

    assert receipt.task_id is not None
    assert world.operation(receipt.task_id).status is OperationStatus.COMPLETED
    assert world.queue.enqueued == []


async def test_an_applied_order_decrements_stock_once_and_lists_unknown_products(
    world: World,
) -> None:
    await world.seed(RemoteProduct(101, 16, 5, 100))
    order = Order(7, "paid", False, (OrderLine(101, 2), OrderLine(999, 1)))
    raw = json.dumps(event_body("d-9", "order.create", order, time=world.clock.now())).encode()

    receipt = await receive_webhook(
        world.ports, world.user_id, raw, sign(raw, world.account.shared_secret)
    )
    await world.run_jobs()

    assert world.quantities() == {"101": 3}
    assert receipt.task_id is not None
    assert world.result(receipt.task_id)["unknown_products"] == [999]


def _other_process(world: World) -> Ports:
    """Another API process over the same database: its own remembered secrets."""
    return replace(world.ports, webhook_secrets=WebhookSecrets())


async def test_a_remembered_secret_saves_the_settings_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = []
    real_get = MemorySettingsRepository.get

    async def counted(self: MemorySettingsRepository, user_id: uuid.UUID) -> object:
        reads.append(user_id)
        return await real_get(self, user_id)

    monkeypatch.setattr(MemorySettingsRepository, "get", counted)
    for delivery_id in ("d-1", "d-2", "d-3"):
        body, signature = _signed(world, id=delivery_id)
        await receive_webhook(world.ports, world.user_id, body, signature)

    assert len(reads) == 1  # only the first delivery read the settings
    assert len(world.queue.enqueued) == 3


async def test_a_secret_rotated_elsewhere_is_honoured_at_once_with_a_warm_cache(
    world: World,
) -> None:
    body, signature = _signed(world)
    await receive_webhook(world.ports, world.user_id, body, signature)  # remembered
    old_secret = world.account.shared_secret
    world.account.shared_secret = "the-rotated-secret"
    await connect_user(_other_process(world), world.user_id, TOKEN)
    stale_body, _ = _signed(world, id="d-2")

    with pytest.raises(Unauthenticated):
        await receive_webhook(world.ports, world.user_id, stale_body, sign(stale_body, old_secret))
    assert (world.user_id, "d-2") not in world.store.webhooks
    body, signature = _signed(world, id="d-3")
    receipt = await receive_webhook(world.ports, world.user_id, body, signature)

    assert not receipt.duplicate and (world.user_id, "d-3") in world.store.webhooks


async def test_a_disconnect_elsewhere_refuses_webhooks_at_once_with_a_warm_cache(
    world: World,
) -> None:
    body, signature = _signed(world)
    await receive_webhook(world.ports, world.user_id, body, signature)  # remembered
    await disconnect_user(_other_process(world), world.user_id)
    body, signature = _signed(world, id="d-2")

    with pytest.raises(Unauthenticated, match="invalid webhook signature"):
        await receive_webhook(world.ports, world.user_id, body, signature)

    assert (world.user_id, "d-2") not in world.store.webhooks
    assert len(world.store.operations) == 1


async def test_a_wrong_signature_with_a_warm_cache_stores_nothing(world: World) -> None:
    body, signature = _signed(world)
    await receive_webhook(world.ports, world.user_id, body, signature)  # remembered
    body, _ = _signed(world, id="d-2")

    with pytest.raises(Unauthenticated):
        await receive_webhook(world.ports, world.user_id, body, sign(body, "not-the-secret"))

    assert (world.user_id, "d-2") not in world.store.webhooks
