"""The API's hot paths on the real services: the one-statement inventory page, the pool's
cheap checkout guard (instead of pre-ping) and the one retry of a call that lost its connection
before anything was done, and arq's enqueue as one Redis script."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import Job
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from brx_adapters.postgres import PostgresUnitOfWorkFactory, create_engine
from brx_adapters.postgres.engine import _loads
from brx_adapters.queue import ArqTaskQueue, queue_key
from brx_domain.errors import DependencyUnavailable
from brx_domain.inventory import Properties
from brx_domain.jobs import Priority
from tests.contracts.fixtures import add_items, new_item
from tests.integration.fixtures_postgres import terminate_service_backends
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


async def test_the_service_connections_never_jit_compile(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        settings = (await conn.exec_driver_sql("SELECT current_setting('jit')")).scalar_one()
        name = (await conn.exec_driver_sql("SELECT current_setting('application_name')")).one()

    assert settings == "off" and name[0] == "brx-sync"


async def test_a_page_past_the_end_is_empty_and_still_counts_the_total(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user = uuid.uuid4()
    await add_items(uow_factory, *(new_item(user, external_stock_id=str(n)) for n in range(3)))

    async with uow_factory() as uow:
        page = await uow.items.list(user, 10, 50)

    assert page == ([], 3)


async def test_a_page_shows_the_units_own_uncommitted_items(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user = uuid.uuid4()
    async with uow_factory() as uow:
        added = await uow.items.add(new_item(user, external_stock_id="9"))
        items, total = await uow.items.list(user, 10, 0)

    async with uow_factory() as uow:
        after_rollback = await uow.items.list(user, 10, 0)

    assert ([i.id for i in items], total) == ([added.id], 1)
    assert after_rollback == ([], 0)


@pytest.mark.parametrize(
    "text",
    [
        '{"condition": "Near Mint", "mtg_foil": false, "n": 18446744073709551615, "x": null}',
        '{"n": 1180591620717411303425}',
        '{"price": 1.5, "big": 1e400}',
        '{"nested": {"n": 1180591620717411303425}, "list": [1, 2]}',
        '[1, "two"]',
        '"text"',
    ],
)
def test_jsonb_decodes_exactly_as_the_standard_library_does(text: str) -> None:
    assert _loads(text) == json.loads(text)


async def test_properties_with_an_integer_beyond_64_bits_come_back_exactly(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user, huge = uuid.uuid4(), 2**70 + 1
    await add_items(
        uow_factory,
        replace(new_item(user), properties=Properties.trusted({"serial": huge, "ratio": 0.1})),
    )

    async with uow_factory() as uow:
        (item,), _ = await uow.items.list(user, 10, 0)

    assert dict(item.properties.values) == {"serial": huge, "ratio": 0.1}


async def test_a_connection_killed_while_idle_is_replaced_without_an_error(
    engine: AsyncEngine, uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    user = uuid.uuid4()
    await add_items(uow_factory, new_item(user, external_stock_id="1"))
    await _kill_pooled_backends(postgres_url)

    async with uow_factory() as uow:
        _, total = await uow.items.list(user, 10, 0)

    assert total == 1


async def _kill_pooled_backends(postgres_url: str) -> None:
    """Terminate this database's brx-sync backends, as a Postgres restart would."""
    assert await terminate_service_backends(postgres_url) >= 1
    await asyncio.sleep(0.2)  # often the client has seen the closed sockets by now; not always


@pytest.fixture
async def proxied(postgres_url: str) -> AsyncIterator[tuple[PostgresUnitOfWorkFactory, TcpProxy]]:
    """A unit-of-work factory whose connections go through a proxy that can sever them."""
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    engine = create_engine(
        url.set(port=proxy.port).render_as_string(hide_password=False),
        pool_size=5,
        max_overflow=0,
    )
    try:
        yield PostgresUnitOfWorkFactory(engine), proxy
    finally:
        await engine.dispose()
        await proxy.cut()


async def _pool_of(factory: PostgresUnitOfWorkFactory, user: uuid.UUID, n: int) -> None:
    """`n` connections opened at once, used, and idle in the pool afterwards."""

    async def use() -> None:
        async with factory() as uow:
            await uow.items.count(user)
            await asyncio.sleep(0.05)  # held together, so the pool opens n of them

    await asyncio.gather(*(use() for _ in range(n)))


@pytest.mark.parametrize("read", ["page", "get"], ids=["driver-level read", "sqlalchemy read"])
async def test_a_first_statement_on_a_connection_lost_unseen_runs_again_on_a_new_one(
    proxied: tuple[PostgresUnitOfWorkFactory, TcpProxy], read: str
) -> None:
    factory, proxy = proxied
    user = uuid.uuid4()
    (added,) = await add_items(factory, new_item(user, external_stock_id="1"))
    await _pool_of(factory, user, 3)
    assert proxy.sever_open() == 3  # alive at checkout, dead on the first packet

    async with factory() as uow:
        if read == "page":
            found = [item.id for item in (await uow.items.list(user, 10, 0))[0]]
        else:
            found = [item.id for item in [await uow.items.get(user, added.id)] if item]
    async with factory() as uow:  # the other severed connections are never handed out
        assert await uow.items.count(user) == 1

    assert found == [added.id]
    # One statement met a severed connection; its retry and the next unit of work did not (the
    # other packets dropped are Terminate messages, "X", of the connections replaced unused).
    assert len(_statements(proxy.dropped)) == 1


async def test_a_connection_lost_inside_a_transaction_is_unavailable_and_nothing_is_kept(
    proxied: tuple[PostgresUnitOfWorkFactory, TcpProxy],
) -> None:
    factory, proxy = proxied
    user = uuid.uuid4()

    with pytest.raises(DependencyUnavailable):
        async with factory() as uow:
            await uow.items.add(new_item(user, external_stock_id="1"))
            proxy.sever_open()
            await uow.items.add(new_item(user, external_stock_id="2"))  # never run twice
            await uow.commit()
    async with factory() as uow:
        after = await uow.items.count(user)

    assert (len(_statements(proxy.dropped)), after) == (1, 0)


def _statements(packets: list[bytes]) -> list[bytes]:
    """Client packets other than the protocol's Terminate message (a connection being closed)."""
    return [packet for packet in packets if packet[:1] != b"X"]


@pytest.fixture
async def queue(redis_url: str, redis_prefix: str) -> AsyncIterator[ArqTaskQueue]:
    queue = ArqTaskQueue.from_url(redis_url, namespace=redis_prefix)
    yield queue
    await queue.close()


@pytest.fixture
async def arq_redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    client: ArqRedis = ArqRedis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_an_enqueued_job_reads_back_through_arq_as_arq_would_have_stored_it(
    queue: ArqTaskQueue, arq_redis: ArqRedis, redis_prefix: str
) -> None:
    job_id = f"op-{uuid.uuid4()}"
    try:
        assert await queue.enqueue("push_update", job_id=job_id, priority=Priority.HIGH)

        info = await Job(
            job_id, arq_redis, _queue_name=queue_key(Priority.HIGH, redis_prefix)
        ).info()
        ttl = await arq_redis.pttl(job_key_prefix + job_id)
    finally:
        await arq_redis.delete(job_key_prefix + job_id)

    assert info is not None
    assert (info.function, info.args, info.kwargs) == ("push_update", (), {"operation_id": job_id})
    assert 0 < ttl <= 86_400_000  # arq's default expiry for a job that is not deferred


async def test_a_job_whose_result_is_still_kept_is_not_queued_again(
    queue: ArqTaskQueue, arq_redis: ArqRedis
) -> None:
    job_id = f"op-{uuid.uuid4()}"
    await arq_redis.set(result_key_prefix + job_id, b"done", px=60_000)
    try:
        queued = await queue.enqueue("push_update", job_id=job_id, priority=Priority.HIGH)
    finally:
        await arq_redis.delete(result_key_prefix + job_id, job_key_prefix + job_id)

    assert queued is False
    assert (await queue.depth())["brx:high"] == 0
