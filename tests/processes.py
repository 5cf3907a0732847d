"""What tests start, signal and kill themselves: a `brx-sync` command or a `redis-server` of
their own (never a shared server) as a process with its output in a log file, and `wait_for`,
the one polling loop of the tests that watch them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import _free_port

BRX_SYNC = [sys.executable, "-m", "brx_app.cli"]  # `brx-sync` of this interpreter


async def wait_for(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> float:
    """Poll `check` until it is true; the seconds it took. Fails the test naming `what`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


class Process:
    """One command with its output (stdout and stderr) appended to `logs/<name>.log`: a file,
    not a pipe, so a chatty process never blocks on a pipe nobody reads."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def restarted(self) -> Process:
        """The same command started again (after a kill), logging to the same file."""
        return Process(self.name, self.argv, self.env, self.log_path.parent).start()

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, number: int) -> None:
        if self.alive():
            assert self.popen is not None
            self.popen.send_signal(number)

    def wait(self, seconds: float) -> int | None:
        assert self.popen is not None
        try:
            return self.popen.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        self.signal(signal.SIGKILL)
        self.wait(10)

    def stop(self, seconds: float = 20) -> int | None:
        """SIGTERM, then SIGKILL if it does not leave in time; its exit status."""
        if self.popen is None:
            return None
        self.signal(signal.SIGTERM)
        code = self.wait(seconds)
        if code is None:
            self.kill()
            code = self.wait(10)
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def brx_sync(name: str, args: list[str], env: dict[str, str], logs: Path) -> Process:
    """A `brx-sync` subcommand (not started yet) with the given environment only."""
    return Process(name, [*BRX_SYNC, *args], env, logs)


class RedisServer:
    """A redis-server on a free port: with an append-only file (`persist`, as docs/running.md
    asks: a restart keeps the queues) or with nothing kept (a restart comes back empty).
    `kill()` is an outage; `start()` brings it back on the same port."""

    def __init__(self, logs: Path, *, persist: bool = True) -> None:
        self.port = _free_port()
        self.dir = logs / f"redis-{self.port}"
        self.dir.mkdir()
        kept = ["yes", "--appendfsync", "always"] if persist else ["no"]
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", *kept, "--dir", str(self.dir)]  # fmt: skip
        self.process = Process(f"redis-{self.port}", argv, dict(os.environ), logs)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            )
            if done.stdout.strip() == b"PONG":
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def kill(self) -> None:
        self.process.kill()
