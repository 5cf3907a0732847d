"""The extras split: the library core installs without the HTTP server or any driver, the
`server` extra is the whole service, and constraints.txt pins every dependency of every extra
(the image and the nox sessions install from it, so a build resolves the tested versions)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
SERVER_ONLY = {"falcon", "uvicorn", "pydantic", "pydantic-settings", "dependency-injector"}
DRIVERS = {"sqlalchemy", "asyncpg", "aiomysql", "httpx", "redis", "arq", "boto3"}

# Run in a fresh interpreter: any import outside the standard library, the project's library
# packages and the core dependency fails, as it would on a bare `pip install brx-sync`.
CORE_ONLY = """
import asyncio, importlib, importlib.abc, pkgutil, sys, uuid

ALLOWED = set(sys.stdlib_module_names) | {"brx_domain", "brx_adapters", "cryptography",
                                          "_cffi_backend", "cffi", "pycparser"}

class CoreOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in ALLOWED:
            raise ImportError(f"{name} is not a core dependency")
        return None

sys.meta_path.insert(0, CoreOnly())
import brx_domain, brx_adapters.memory
for info in pkgutil.walk_packages(brx_domain.__path__, "brx_domain."):
    if info.name != "brx_domain.testing":  # the `testing` extra (hypothesis)
        importlib.import_module(info.name)
from brx_adapters.memory import memory_ports, MemoryMarketplaceGateway
from brx_domain.usecases.users import register_user

gateway = MemoryMarketplaceGateway()
gateway.add_account("ct-token")
ports = memory_ports(marketplace=gateway)
settings = asyncio.run(register_user(ports, uuid.uuid4(), "ct-token"))
assert ports.cipher.decrypt(settings.cardtrader_token_encrypted) == "ct-token"
try:  # the guard itself works: the server is out of reach
    import falcon
except ImportError:
    print("core only")
"""


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower()


def _names(requirements: list[str]) -> set[str]:
    return {_name(r) for r in requirements} - {"brx-sync"}


def _with_included(extra: str) -> set[str]:
    """An extra's packages, following its `brx-sync[...]` self-references."""
    names = _names(EXTRAS[extra])
    for requirement in EXTRAS[extra]:
        if _name(requirement) == "brx-sync":
            inner = re.search(r"\[(.*?)\]", requirement)
            for other in (inner.group(1) if inner else "").split(","):
                names |= _with_included(other.strip())
    return names


def test_the_core_install_has_no_server_and_no_driver() -> None:
    assert _names(PROJECT["dependencies"]) == {"cryptography"}


def test_the_server_extra_is_the_whole_service() -> None:
    server = _with_included("server")
    assert SERVER_ONLY | DRIVERS - {"boto3"} <= server
    assert "boto3" in _with_included("aws") and "boto3" not in server
    assert "hypothesis" in _with_included("testing")
    assert _with_included("server") <= _with_included("test")


def test_each_driver_is_behind_its_adapter_extra() -> None:
    expected = {
        "postgres": {"sqlalchemy", "asyncpg", "alembic"},
        "mysql": {"aiomysql"},
        "cardtrader": {"httpx"},
        "redis": {"redis"},
        "queue": {"arq"},
    }
    for extra, packages in expected.items():
        assert packages <= _with_included(extra), extra
        assert not SERVER_ONLY & _with_included(extra), extra


def test_the_domain_and_the_memory_adapters_need_only_the_core_dependency() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CORE_ONLY], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "core only"


def test_the_lock_pins_every_dependency_of_every_extra() -> None:
    lock = (ROOT / "constraints.txt").read_text()
    pinned = {
        m.group(1).lower().replace("_", "-")
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==\S+", lock, re.M)
    }
    declared = _names(PROJECT["dependencies"]).union(*(_names(r) for r in EXTRAS.values()))
    missing = sorted(declared - pinned)
    assert not missing, f"{missing} not in constraints.txt: run `nox -s lock`"
    assert "brx-sync @" not in lock and "\n-e " not in lock, "the project itself is not pinned"
