"""The domain loads no driver, framework or web library (checked in a clean interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "asyncpg", "aiomysql", "httpx", "redis", "arq", "falcon", "pydantic")

SCRIPT = """
import importlib, json, pkgutil, sys
import brx_domain
for module in pkgutil.walk_packages(brx_domain.__path__, "brx_domain."):
    importlib.import_module(module.name)  # testing too: hypothesis is its one allowed extra
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(loaded))
"""


def test_importing_every_domain_module_loads_no_driver_or_framework() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )

    loaded = set(json.loads(done.stdout))
    assert "brx_domain" in loaded
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
