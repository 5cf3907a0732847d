"""The JSON reader's fast path (byte scans that skip the walk) never lets through what the full
walk refuses: for any JSON object, `decode_object` refuses exactly when `check_tree` does, and
names the same place."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brx_domain.errors import InvalidInput
from brx_domain.json_input import check_tree, decode_object

TEXT = st.text(st.sampled_from(["a", '"', "\\", "[", "]", "{", "}", "\x00", "\ud800", "é"]))
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=40,
)


def _nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = {"a": value}
    return value


@given(st.dictionaries(TEXT, VALUES, max_size=4), st.integers(0, 40), st.booleans())
def test_the_fast_path_refuses_exactly_what_the_walk_refuses(
    raw: dict[str, Any], extra_depth: int, ascii_only: bool
) -> None:
    document = {"x": _nested(raw, extra_depth)}
    text = json.dumps(document, ensure_ascii=ascii_only)
    body = text.encode("utf-8", "surrogatepass")
    if "\ud800" in text:  # written raw, a surrogate is not UTF-8 at all
        with pytest.raises(InvalidInput, match="body: is not valid JSON"):
            decode_object(body)
        return
    try:
        check_tree(document)
    except InvalidInput as expected:
        with pytest.raises(InvalidInput) as raised:
            decode_object(body)
        assert raised.value.field == expected.field
    else:
        assert decode_object(body) == document
