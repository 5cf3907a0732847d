"""The durable job queue: the `TaskQueue` port over arq and Redis."""

from brx_adapters.queue.arq_queue import ArqTaskQueue
from brx_adapters.queue_keys import queue_key

__all__ = ["ArqTaskQueue", "queue_key"]
