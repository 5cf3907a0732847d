"""`run_once` beyond the HTTP edge: a write whose outcome is unknown keeps its key (never run
twice), expired keys are purged by the worker's cron, and the fingerprint separates requests."""

from __future__ import annotations

import pytest
from arq.connections import RedisSettings
from hypothesis import given
from hypothesis import strategies as st

from brx_app.worker import PURGE_MINUTE, Lifecycle, build_workers, parse_queues
from brx_domain.idempotency import (
    IdempotencyInProgress,
    IdempotentRequest,
    StoredAnswer,
    fingerprint,
)
from brx_domain.usecases.idempotency import purge_expired_keys, run_once
from tests.unit.world import World


def _request(world: World, key: str = "k") -> IdempotentRequest:
    return IdempotentRequest(world.user_id, key, fingerprint("POST", "/p", b"{}"))


async def test_a_write_that_crashed_keeps_its_key_so_it_is_never_run_twice() -> None:
    world, runs = World(), []

    async def crashing() -> StoredAnswer:
        runs.append(1)
        raise RuntimeError("the process lost its database mid-write")

    with pytest.raises(RuntimeError):
        await run_once(world.ports, _request(world), crashing)
    with pytest.raises(IdempotencyInProgress):
        await run_once(world.ports, _request(world), crashing)
    assert runs == [1]


async def test_expired_keys_are_purged_and_live_ones_kept() -> None:
    world = World()

    async def ok() -> StoredAnswer:
        return StoredAnswer(200, {"ok": True})

    await run_once(world.ports, _request(world, "old"), ok)
    world.clock.advance(hours=23)
    await run_once(world.ports, _request(world, "new"), ok)
    world.clock.advance(hours=2)

    assert await purge_expired_keys(world.ports) == 1
    assert set(world.store.idempotency) == {(world.user_id, "new")}


def test_the_worker_purges_keys_hourly() -> None:
    async def never() -> tuple[object, object]:  # building workers does no I/O
        raise AssertionError

    lifecycle = Lifecycle(never, namespace="t:", periodic_minutes=0)  # type: ignore[arg-type]
    first = build_workers(lifecycle, parse_queues("all"), redis_settings=RedisSettings())[0]

    purges = [job for job in first.cron_jobs if job.name == "brx_purge"]
    assert len(purges) == 1 and purges[0].minute == PURGE_MINUTE


async def test_the_hourly_purge_forgets_expired_keys() -> None:
    world = World()

    async def ok() -> StoredAnswer:
        return StoredAnswer(200, {})

    await run_once(world.ports, _request(world, "old"), ok)
    world.clock.advance(hours=25)
    lifecycle = Lifecycle(None, namespace="t:", periodic_minutes=0)  # type: ignore[arg-type]

    assert await lifecycle.purge({"ports": world.ports}) == 1
    assert world.store.idempotency == {}


Request = tuple[str, str, bytes]
requests = st.tuples(st.sampled_from(["POST", "PUT"]), st.text(max_size=8), st.binary(max_size=8))


@given(requests, requests)
def test_fingerprints_differ_exactly_when_the_requests_do(a: Request, b: Request) -> None:
    assert (fingerprint(*a) == fingerprint(*b)) == (a == b)


def test_a_path_cannot_borrow_from_the_body() -> None:
    assert fingerprint("POST", "/a\0", b"b") != fingerprint("POST", "/a", b"\0b")
