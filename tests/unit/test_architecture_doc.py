"""docs/architecture.md lists exactly the modules that exist: its module index names every
module of src/ (package __init__ files and migration revisions aside) and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def _modules() -> set[str]:
    return {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "__init__.py" and "versions" not in path.relative_to(SRC).parts
    }


def _indexed() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    index = text.split("## Module index", 1)[1]
    return set(re.findall(r"^- `([\w/]+\.py)`", index, flags=re.MULTILINE))


def test_the_module_index_names_every_module_and_only_those() -> None:
    modules, indexed = _modules(), _indexed()

    assert sorted(modules - indexed) == [], "modules missing from docs/architecture.md"
    assert sorted(indexed - modules) == [], "docs/architecture.md names modules that do not exist"
