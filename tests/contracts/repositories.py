"""Every repository contract in one import: `from tests.contracts.repositories import *`, then
define a `uow_factory` fixture returning a `UnitOfWorkFactory` over a clean store."""

from tests.contracts.accounts import *  # noqa: F403
from tests.contracts.deliveries import *  # noqa: F403
from tests.contracts.fixtures import fresh_user, other_user
from tests.contracts.holds import *  # noqa: F403
from tests.contracts.inventory import *  # noqa: F403
from tests.contracts.listing import *  # noqa: F403
from tests.contracts.operations import *  # noqa: F403
from tests.contracts.records import *  # noqa: F403
from tests.contracts.upsert import *  # noqa: F403

__all__ = ["fresh_user", "other_user"]
__all__ += [name for name in dir() if name.startswith("test_")]
