"""Where log lines go: JSON on stderr always; in development also the seed's local file
`logs/brx_sync.log` (rotated), never anywhere else."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from brx_app.logs import LOG_FILE, configure_logging


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield tmp_path
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_development_logs_also_go_to_the_rotated_local_file(here: Path) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream=stream, development=True)

    logging.getLogger("brx.test").info("hello", extra={"operation_id": "op-1"})

    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]
    handler.flush()
    assert handler.maxBytes > 0 and handler.backupCount > 0
    line = json.loads((here / LOG_FILE).read_text().splitlines()[-1])
    assert line["message"] == "hello" and line["operation_id"] == "op-1"
    assert json.loads(stream.getvalue().splitlines()[-1]) == line


def test_elsewhere_only_the_stream_gets_them(here: Path) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream=stream, development=False)

    logging.getLogger("brx.test").warning("only here")

    assert not (here / "logs").exists()
    assert "only here" in stream.getvalue()
