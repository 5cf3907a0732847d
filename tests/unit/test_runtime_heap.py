"""The API process's garbage-collector tuning (`settle_heap`, called by its entry points)."""

from __future__ import annotations

import gc

from brx_app.runtime import GC_YOUNG_THRESHOLD, settle_heap


def test_settling_freezes_what_is_alive_and_raises_the_young_threshold() -> None:
    threshold = gc.get_threshold()
    try:
        settle_heap("worker")
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD["worker"] == 50_000
        assert gc.get_threshold()[1:] == threshold[1:]  # the older generations as they were
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
