"""The embedded default: `brx-sync demo` serves the API, the worker and the sandbox in one
process, and its printed tour succeeds step by step, in order: a sync, a purchase and its
idempotent replay, a CardTrader order with its webhook, and a missed webhook whose item the shop
then refuses to sell (409) and corrects."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TOUR = [
    "sync",
    "pick_items",
    "purchase",
    "purchase_replayed",
    "order_webhook",
    "missed_webhook",
    "purchase_refused_and_corrected",
    "status",
]


def test_the_demo_tour_succeeds_step_by_step(free_port: Callable[[], int]) -> None:
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
    assert tour["purchase"]["cardtrader_confirmed"] is True
    assert tour["status"]["sync_status"] == "active" and tour["status"]["connected"] is True
    assert [step["step"] for step in tour["steps"]] == TOUR
    assert [step["step"] for step in tour["steps"] if not step["ok"]] == []
    assert tour["all_ok"] is True
    refused = tour["steps"][TOUR.index("purchase_refused_and_corrected")]
    assert refused["status"] == 409 and refused["code"] == "not_available_on_cardtrader"
    assert refused["quantity_after"] == 0 and "correction" in refused["history"]
    kinds = {o["operation_type"] for o in tour["operations"]}
    assert {"purchase", "webhook"} <= kinds


def test_sigterm_stops_the_demo_with_exit_0_and_it_prints_an_operator_token(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "brx_app.cli", "demo", "--products", "200",
         "--port", str(free_port()), "--sandbox-port", str(free_port())],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    seen = []
    try:
        for line in demo.stdout:
            seen.append(line)
            if "export OPERATOR=" in line:  # the instructions are out: both servers are up
                break
        demo.send_signal(signal.SIGTERM)
        returncode = demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    text = "".join(seen)
    operator = text.split("export OPERATOR=", 1)[1].split()[0]

    assert returncode == 0
    assert "operator token" in text and operator.count(".") == 2  # a JWT
    assert (tmp_path / "logs" / "brx_sync.log").exists()  # development: the local log file
