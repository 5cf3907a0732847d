"""The README stays true: its library example runs as written (on the library, hypothesis and
the standard library only), its configuration table is AppConfig's names and defaults, its two
quickstart commands are nox sessions, and its links lead to files that exist."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from brx_app.config import AppConfig

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
LIBRARY = {"brx_domain", "brx_adapters", "hypothesis"}


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _library_example() -> str:
    section = _section("Using the library from another service")
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "one python example in the library section"
    return blocks[0]


def test_the_library_example_imports_only_the_library_and_hypothesis() -> None:
    tree = ast.parse(_library_example())
    roots = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).partition(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert roots - set(sys.stdlib_module_names) <= LIBRARY, roots
    assert "memory_ports" in _library_example()
    assert 10 <= len(_library_example().splitlines()) <= 40


def test_the_library_example_runs_as_written() -> None:
    code = _library_example()
    tests = [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]
    assert tests and all(name.startswith("test_") for name in tests)
    program = code + "".join(f"\n{name}()\n" for name in tests) + '\nprint("example ran")\n'
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "example ran"


def _table() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]+) \|", _section("Configuration"), re.M)
    return {name: default.strip() for name, default in rows}


def _default(value: object) -> str:
    if value is None:
        return "—"
    if value == "":
        return "empty"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # written as the environment would: 3, not 3.0
    text = str(getattr(value, "value", value))
    return f"`{text.lower() if isinstance(value, bool) else text}`"


def test_the_configuration_table_has_every_variable_with_its_real_default() -> None:
    table = _table()
    fields = {f.alias: f.default for f in AppConfig.model_fields.values()}
    assert sorted(table) == sorted(fields), "README's table and AppConfig differ"
    wrong = {name: (table[name], _default(fields[name])) for name in fields}
    wrong = {name: pair for name, pair in wrong.items() if pair[0] != pair[1]}
    assert not wrong, f"README default != AppConfig default: {wrong}"


def test_the_quickstart_commands_are_nox_sessions() -> None:
    quickstart = _section("Quickstart")
    noxfile = (ROOT / "noxfile.py").read_text()
    for session in ("demo", "tests"):
        assert f"nox -s {session}" in quickstart
        assert re.search(rf"@nox.session\ndef {session}\(", noxfile), session


def test_every_relative_link_leads_to_a_file() -> None:
    links = re.findall(r"\]\(((?!https?://|#)[^)#]+)", README)
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing
