"""The durable job queue: the `TaskQueue` port over arq and Redis."""

from brx_adapters.queue.arq_queue import ArqTaskQueue

__all__ = ["ArqTaskQueue"]
