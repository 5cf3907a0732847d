"""The durable job queue: the `TaskQueue` port over arq and Redis."""

from brx_adapters.queue.arq_queue import ArqTaskQueue, queue_names

__all__ = ["ArqTaskQueue", "queue_names"]
