"""The embedded default: `brx-sync demo` serves the API, the worker and the sandbox in one
process, and a sync started through the API completes and can be listed and bought from."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable


def test_demo_syncs_lists_and_sells_through_the_api(free_port: Callable[[], int]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "brx_app.cli",
            "demo",
            "--products",
            "3000",
            "--port",
            str(free_port()),
            "--sandbox-port",
            str(free_port()),
            "--exit-after-sync",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    tour = json.loads(done.stdout[done.stdout.index("\n{") :])

    assert "access token" in done.stdout and "curl" in done.stdout
    assert tour["start"]["status"] == "accepted"
    progress = tour["progress"]
    assert progress["status"] == "completed" and progress["progress_percent"] == 100
    assert progress["total_products"] == 3000
    assert progress["created"] + progress["skipped"] == 3000
    assert progress["skipped"] > 0  # One Piece blueprints are not in the default tables
    assert tour["inventory_total"] == progress["created"]
    assert tour["purchase"]["status"] == "purchased"
    assert tour["status"]["sync_status"] == "active"
