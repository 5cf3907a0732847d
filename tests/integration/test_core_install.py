"""A real `pip install .` without extras, in a fresh virtual environment: the domain and the
in-memory adapters work, neither the HTTP server nor a database driver came with them, and
`brx-sync serve` says in one line which extra the service needs (no traceback).
(~20 s: it builds the wheel and installs the core dependency from the package index.)"""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

CHECK = """
import asyncio, importlib.metadata, importlib.util, json, uuid
from brx_adapters.memory import MemoryMarketplaceGateway, memory_ports
from brx_domain.usecases.users import register_user

gateway = MemoryMarketplaceGateway()
gateway.add_account("ct-token")
asyncio.run(register_user(memory_ports(marketplace=gateway), uuid.uuid4(), "ct-token"))
found = [m for m in ("falcon", "uvicorn", "pydantic", "sqlalchemy", "httpx", "redis", "arq")
          if importlib.util.find_spec(m) is not None]
core = [r for r in importlib.metadata.requires("brx-sync") if "extra ==" not in r]
print(json.dumps({"found": found, "core": core}))
"""


def test_a_plain_install_has_the_library_and_no_server(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]

    result = subprocess.run(
        [str(python), "-c", CHECK], capture_output=True, text=True, check=False, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["found"] == [], "the server or a driver came with a plain install"
    assert report["core"] == ["cryptography>=42"]

    served = subprocess.run(
        [str(env_dir / "bin" / "brx-sync"), "serve"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=60,
    )
    assert served.returncode == 2
    assert served.stderr.count("\n") == 1 and "brx-sync[server]" in served.stderr, served.stderr
