"""Reconciliation among everything else, for all interleavings (memory adapters, real use cases):
shop purchases (confirmed, CardTrader down so the decrement is queued, answers lost), CardTrader
sales with and without their webhook, webhook redeliveries and reconciliations, the queued jobs
run one at a time in any order. Always: the ledger sums to the quantity and CardTrader is never
decremented twice for one purchase. Once things are quiet, a reconciliation brings the shop to
exactly CardTrader's quantity. Before `brx_domain.holds`, a reconciliation run while a
purchase's decrement or a sale's webhook was still queued left the two channels apart."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from brx_adapters.memory import QueuedJob
from brx_app.jobs import give_up_job
from brx_domain.errors import DomainError, MarketplaceOutcomeUnknown, MarketplaceUnavailable
from brx_domain.sync import OperationStatus, RemoteProduct
from brx_domain.usecases.purchases import purchase_item
from brx_domain.usecases.sync import request_reconciliation
from brx_domain.usecases.webhooks import receive_webhook, sign
from tests.unit.world import JOBS, World

PRODUCT = 1
START = 200  # more than the steps can sell: the product never runs out (no clamping to model)
MAX_TRIES = 4
QUIET_SECONDS = 10  # past `holds.CLOCK_MARGIN`: nothing happened since the export started

purchase_faults = st.sampled_from(["none", "down", "lost", "lost_then_down"])


class ReconciliationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.pending: list[QueuedJob] = []
        self.bodies: list[bytes] = []
        self.sold = 0  # units the shop sold (purchase answered 200)
        self.sold_there = 0  # units CardTrader sold
        self.tries: dict[str, int] = {}
        self.unreported = False  # a sale went without its webhook (reconciliation's job)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def open_shop(self) -> None:
        self.world = World()
        self.run(self.world.register())
        product = RemoteProduct(PRODUCT, 16, START, 100)
        self.world.account.products[PRODUCT] = product
        (item,) = self.run(self.world.seed(product))
        self.item_id = item.id

    def _collect(self) -> None:
        self.pending += self.world.queue.pop_all()

    @rule(fault=purchase_faults)
    def shop_purchase(self, fault: str) -> None:
        self.world.clock.advance(seconds=3)  # purchases and sales a few seconds apart
        account = self.world.account
        if fault in ("lost", "lost_then_down"):  # CardTrader applies it, the answer is cut
            lost = MarketplaceOutcomeUnknown("answer lost")
            account.fail_next(lost, applied=True, method="increment_quantity")
        if fault in ("down", "lost_then_down"):  # then CardTrader fails until the deadline
            skip = 1 if fault == "lost_then_down" else 0
            down = MarketplaceUnavailable("down")
            account.fail_next(down, method="find_product", skip=skip, times=3)
        self.run(purchase_item(self.world.ports, self.world.user_id, self.item_id, 1))
        account._failures.clear()  # what the purchase did not use is not left for later calls
        self.sold += 1
        self._collect()

    @rule(webhook=st.booleans())
    def cardtrader_sale(self, webhook: bool) -> None:
        self.world.clock.advance(seconds=3)
        self.world.account.sell(PRODUCT, 1)
        self.sold_there += 1
        order_id = len(self.bodies) + 1
        body = json.dumps({
            "id": str(uuid.uuid4()), "time": int(self.world.clock.now().timestamp()),
            "cause": "order.create", "object_id": order_id, "mode": "live",
            "data": {"id": order_id, "state": "paid",
                     "order_items": [{"product_id": PRODUCT, "quantity": 1}]},
        }).encode()  # fmt: skip
        self.bodies.append(body)
        if webhook:
            self._deliver(body)
        else:
            self.unreported = True

    def _deliver(self, body: bytes) -> None:
        secret = self.world.account.shared_secret
        self.run(receive_webhook(self.world.ports, self.world.user_id, body, sign(body, secret)))
        self._collect()

    @precondition(lambda self: bool(self.bodies))
    @rule(data=st.data())
    def webhook_delivered_again_or_late(self, data: st.DataObject) -> None:
        self._deliver(data.draw(st.sampled_from(self.bodies)))

    @rule()
    def reconciliation_requested(self) -> None:
        self.run(request_reconciliation(self.world.ports, self.world.user_id))
        self._collect()

    @precondition(lambda self: bool(self.pending))
    @rule(data=st.data())
    def worker_runs_one_job(self, data: st.DataObject) -> None:
        job = self.pending.pop(data.draw(st.integers(0, len(self.pending) - 1)))
        self._run(job)

    @rule()
    def time_passes(self) -> None:
        self.world.clock.advance(seconds=1)

    def _run(self, job: QueuedJob) -> None:
        """As the worker: a transient failure is retried, up to MAX_TRIES, then given up."""
        self.tries[job.job_id] = self.tries.get(job.job_id, 0) + 1
        try:
            self.run(JOBS[job.job](self.world.ports, job.job_id))
        except Exception as exc:
            assert isinstance(exc, DomainError) and exc.transient, exc
            if self.tries[job.job_id] < MAX_TRIES:
                self.pending.append(job)
            else:
                self.run(give_up_job(self.world.ports, job.job, job.job_id, exc))
        self._collect()

    # --- always ------------------------------------------------------------------------------

    @invariant()
    def the_ledger_sums_to_the_quantity(self) -> None:
        if hasattr(self, "world"):
            item = self.world.store.items[self.item_id]
            ledger = self.world.store.ledger_of(self.world.user_id, self.item_id)
            assert sum(e.delta for e in ledger) == item.quantity

    @invariant()
    def cardtrader_is_decremented_once_per_purchase(self) -> None:
        if hasattr(self, "world"):
            settled = self.sold - self._purchases_in_flight()
            remote = self.world.account.products[PRODUCT].quantity
            # an unsettled purchase may or may not have landed yet: never more than once
            assert START - self.sold_there - self.sold <= remote
            assert remote <= START - self.sold_there - settled

    def _purchases_in_flight(self) -> int:
        return sum(
            1
            for op in self.world.store.operations.values()
            if op.operation_type.value == "purchase" and op.status is OperationStatus.PENDING
        )

    def teardown_checks(self) -> None:
        """Every job runs: with every sale reported, the channels agree whatever the
        reconciliations did meanwhile. Then quiet: one more reconciliation makes them agree
        in any case, and keeps what already agreed."""
        while self.pending:
            self._run(self.pending.pop(0))
        if not self.unreported:
            item = self.world.store.items[self.item_id]
            assert item.quantity == self.world.account.products[PRODUCT].quantity
        self.world.clock.advance(seconds=QUIET_SECONDS)
        self.reconciliation_requested()
        while self.pending:
            self._run(self.pending.pop(0))
        item = self.world.store.items[self.item_id]
        remote = self.world.account.products[PRODUCT].quantity
        assert remote == START - self.sold_there - self.sold  # each purchase exactly once
        assert item.quantity == remote
        self.the_ledger_sums_to_the_quantity()

    @rule()
    def quiet_then_reconciled(self) -> None:
        self.teardown_checks()

    def teardown(self) -> None:
        try:
            if hasattr(self, "world"):
                self.teardown_checks()
        finally:
            self.loop.close()


ReconciliationMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50)
TestReconciliationMachine = ReconciliationMachine.TestCase


async def test_a_quiet_reconciliation_imports_a_sale_nobody_reported() -> None:
    """The rule does not stop reconciliation doing its job: with nothing on its way, a missed
    webhook's sale is imported (a `sync` entry)."""
    world = World()
    await world.register()
    product = RemoteProduct(PRODUCT, 16, 10, 100)
    world.account.products[PRODUCT] = product
    await world.seed(product)
    world.account.sell(PRODUCT, 3)
    world.clock.advance(seconds=QUIET_SECONDS)

    operation = await request_reconciliation(world.ports, world.user_id)
    await world.run_jobs()

    assert world.quantities() == {str(PRODUCT): 7}
    assert world.result(operation.operation_id)["held"] == 0
