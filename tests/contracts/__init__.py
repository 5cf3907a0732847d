"""Contract suites: one per port, written against the ports only, run against every adapter.

Use: in a test module, `from tests.contracts.repositories import *` and define a `uow_factory`
fixture (a `UnitOfWorkFactory` over a fresh store); for CardTrader, `from
tests.contracts.marketplace import *` and define `marketplace`.
"""
