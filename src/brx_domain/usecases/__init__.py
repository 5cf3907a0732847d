"""The use cases: one short function each, taking the ports they need through `Ports`."""

from brx_domain.usecases.common import JobName, Ports, QueueName, Settings

__all__ = ["JobName", "Ports", "QueueName", "Settings"]
