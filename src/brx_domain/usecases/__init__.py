"""The use cases: one short function each, taking the ports they need through `Ports`."""

from brx_domain.jobs import JobName, Priority
from brx_domain.usecases.common import Ports, Settings

__all__ = ["JobName", "Ports", "Priority", "Settings"]
