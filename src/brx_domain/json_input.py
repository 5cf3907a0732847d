"""The one reader of JSON that comes from outside (API request bodies, CardTrader's webhooks).

The standard library's parser keeps integers of any size exact, but on its own it lets through
what the service cannot store or survive: nesting deep enough to exhaust the interpreter's
stack (a `RecursionError`, deeper than about 1,000 levels), `NaN`/`Infinity`, U+0000 (Postgres
text and jsonb refuse it) and lone surrogates (not encodable as UTF-8). Each is refused here
as `InvalidInput` naming the place, before anything is stored."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from brx_domain.errors import InvalidInput
from brx_domain.limits import JSON_DEPTH_MAX

# Only escapes can put U+0000 or a surrogate into a decoded string (raw control characters and
# encoded surrogates are invalid JSON / UTF-8), so a body without them needs no string walk.
_RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)  # json.loads would build one a call


def decode_object(body: bytes, max_depth: int = JSON_DEPTH_MAX) -> dict[str, Any]:
    """`body` as a JSON object; InvalidInput("body" or the offending path) otherwise."""
    try:
        value = _DECODER.decode(body.decode("utf-8"))
    except RecursionError:
        raise InvalidInput("body", f"nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("body", "is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput("body", "must be a JSON object")
    if _RISKY_ESCAPE.search(body) or _too_deep(body, max_depth):
        check_tree(value, max_depth)  # finds and names the place
    return value


def _too_deep(body: bytes, max_depth: int) -> bool:
    """Whether a valid JSON text nests deeper than `max_depth`, from its brackets outside
    strings; a body with few brackets is not even scanned."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    brackets = _BRACKET.findall(_STRING.sub(b'""', body))
    return max(accumulate(1 if b in (b"[", b"{") else -1 for b in brackets)) > max_depth


def check_tree(value: Any, max_depth: int = JSON_DEPTH_MAX) -> None:
    """Walk a decoded value without recursion: depth, and every key and string storable."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node, path or "body")
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                raise InvalidInput(path or "body", f"nested deeper than {max_depth} levels")
            if isinstance(node, dict):
                for key, child in node.items():
                    where = f"{path}.{key}" if path else str(key)
                    _check_text(key, where)
                    stack.append((child, where, depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(node))


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise InvalidInput(_printable(where), "must not contain U+0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(_printable(where), "must not contain a lone surrogate") from None


def _printable(where: str) -> str:
    """The path as it can be shown back: U+0000 and lone surrogates escaped, long keys cut."""
    shown = where.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()
    return shown if len(shown) <= 200 else shown[:200] + "..."
