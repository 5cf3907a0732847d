"""Runs every `benchmarks/bench_*.py` but the long ones in ON_REQUEST (or those named on the
command line, by any part of their name).

Each module has `main() -> None` (or an async `main`) that prints its own figures, including a
ratio to a raw ceiling measured in the same run, so results compare across machines.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ON_REQUEST = ("bench_million", "bench_scale")  # long: only when named (`-- million`, `-- scale`)


def main(names: list[str]) -> int:
    modules = sorted(HERE.glob("bench_*.py"))
    if names:
        modules = [m for m in modules if any(n in m.stem for n in names)]
    else:
        modules = [m for m in modules if m.stem not in ON_REQUEST]
    failures = 0
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        print(f"\n=== {path.stem} ===", flush=True)
        started = time.perf_counter()
        try:
            result = module.main()
            if inspect.iscoroutine(result):
                asyncio.run(result)
        except Exception as exc:  # one broken benchmark must not hide the others
            failures += 1
            print(f"FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"({time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
