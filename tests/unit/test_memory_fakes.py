"""The in-memory fakes' own promises (the parts the contract suites do not cover)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from brx_adapters.memory import (
    FakeClock,
    MemoryCatalogue,
    MemoryMarketplace,
    MemoryMarketplaceGateway,
    MemoryRateLimiter,
    MemoryStore,
    MemoryTaskQueue,
    MemoryUnitOfWorkFactory,
    QueuedJob,
    SequentialIds,
)
from brx_domain.errors import (
    DependencyUnavailable,
    MarketplaceUnauthorized,
    MarketplaceUnavailable,
    MarketplaceValidation,
)
from brx_domain.jobs import JobName, Priority
from brx_domain.ports import ProductDraft
from tests.contracts.fixtures import new_item


async def test_queue_fail_next_simulates_redis_down_without_recording() -> None:
    queue = MemoryTaskQueue()
    queue.fail_next(1)

    with pytest.raises(DependencyUnavailable):
        await queue.enqueue(JobName.PUSH_UPDATE, job_id="t1", priority=Priority.HIGH)
    accepted = await queue.enqueue(JobName.PUSH_UPDATE, job_id="t1", priority=Priority.HIGH)

    assert accepted and queue.failures == 1


async def test_queue_on_enqueue_hands_each_job_to_an_in_process_worker() -> None:
    ran: list[QueuedJob] = []

    async def worker(job: QueuedJob) -> None:
        ran.append(job)

    queue = MemoryTaskQueue(on_enqueue=worker)
    await queue.enqueue(JobName.PUSH_UPDATE, job_id="t1", priority=Priority.HIGH)

    assert [job.job_id for job in ran] == ["t1"]
    assert await queue.depth() == {}


async def test_an_unknown_token_is_refused_on_first_call() -> None:
    gateway = MemoryMarketplaceGateway()

    with pytest.raises(MarketplaceUnauthorized):
        await gateway.for_token("nobody").info()


async def test_a_known_token_reaches_its_own_account() -> None:
    gateway = MemoryMarketplaceGateway()
    account = gateway.add_account("t")

    info = await gateway.for_token("t").info()

    assert info.shared_secret == account.shared_secret and len(info.shared_secret) == 32


async def test_fake_cardtrader_refuses_a_negative_quantity_naming_the_field() -> None:
    with pytest.raises(MarketplaceValidation) as raised:
        await MemoryMarketplace().create_product(ProductDraft(16, 0, 100))

    assert "quantity" in raised.value.errors


async def test_fail_next_after_the_write_keeps_its_effect() -> None:
    market = MemoryMarketplace()
    market.fail_next(MarketplaceUnavailable("timeout"), applied=True)

    with pytest.raises(MarketplaceUnavailable):
        await market.create_product(ProductDraft(16, 2, 100))

    assert [p.quantity for p in market.products.values()] == [2]


async def test_fail_next_before_the_write_changes_nothing() -> None:
    market = MemoryMarketplace()
    market.fail_next(MarketplaceUnavailable("503"))

    with pytest.raises(MarketplaceUnavailable):
        await market.create_product(ProductDraft(16, 2, 100))

    assert market.products == {}


async def test_catalogue_none_accepts_everything_and_a_set_filters() -> None:
    assert await MemoryCatalogue(None).known({1, 2}) == {1, 2}
    assert await MemoryCatalogue({2, 3}).known({1, 2}) == {2}


async def test_rate_limiter_refills_evenly_over_the_clock() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)

    allowed = [(await limiter.try_acquire("u", 2, 10)).allowed for _ in range(3)]
    refused = await limiter.try_acquire("u", 2, 10)
    clock.advance(5)
    refilled = await limiter.try_acquire("u", 2, 10)

    assert allowed == [True, True, False]
    assert refused.retry_after == pytest.approx(5)
    assert refilled.allowed


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2025, 1, 1, tzinfo=UTC))

    clock.advance(minutes=2)

    assert clock.now() == datetime(2025, 1, 1, 0, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(datetime(2025, 1, 1))


def test_sequential_ids_are_predictable() -> None:
    ids = SequentialIds("t-")

    assert [ids.new_id(), ids.new_id()] == ["t-1", "t-2"]


async def test_a_unit_of_work_is_invisible_until_it_commits() -> None:
    store = MemoryStore()
    factory = MemoryUnitOfWorkFactory(store)
    item = new_item(uuid.uuid4())

    async with factory() as uow:
        await uow.items.add(item)
        assert store.items == {}
        await uow.commit()

    assert len(store.items) == 1 and store.commits == 1


async def test_a_unit_of_work_cannot_be_entered_twice() -> None:
    uow = MemoryUnitOfWorkFactory()()
    async with uow:
        pass

    with pytest.raises(RuntimeError):
        async with uow:
            pass
