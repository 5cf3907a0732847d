"""Which Redis key serves each domain `Priority`: the one place the queue names live (outside
the `queue` package, so the memory fakes need no arq).

The arq adapter queues into them, the arq workers listen on them, the memory queue reports its
depth under the same names, so metrics and `/health` read alike on every backend.
"""

from __future__ import annotations

from brx_domain.jobs import Priority

QUEUE_KEYS: dict[Priority, str] = {
    Priority.HIGH: "brx:high",
    Priority.BULK: "brx:bulk",
    Priority.DEFAULT: "brx:default",
}


def queue_key(priority: Priority, namespace: str = "") -> str:
    """The Redis key of `priority`'s queue (a namespace keeps deployments and tests apart)."""
    return namespace + QUEUE_KEYS[priority]
