"""What orjson's parse hides: duplicate keys and integers it turned into floats.

orjson keeps the last of two equal keys (`"consent":{"ads":false},"consent":{"ads":true}`
would bypass consent) and silently parses an integer beyond 64 bits as a float. Both are
found here, cheaply in the common case:

- The common case: the text is exactly what orjson writes for the parsed document with
  integers held to 53 bits (compact, keys in order, UTF-8 unescaped), as most producers'
  serialisers write it. Then no key was written twice (each object of the rendering has
  its distinct keys) and every integer in the text is below 2^53 in magnitude: one
  C call and a byte comparison settle it.
- Duplicate keys otherwise: every key in the text ends with `"` directly followed by `:`
  (or by whitespace, then `:`), and inside a string `":` can only appear escaped (`\\":`).
  So when no whitespace precedes a colon, the count of `":` is at least the number of
  keys written, and equal to the number of keys parsed only when no key was written
  twice. Only documents that fail that test (pretty-printed JSON, `\\":` or ` :` in a
  string, or a real duplicate) are parsed again with the standard library to find the key.
- Big integers otherwise: orjson keeps integers of up to 64 bits exact and parses longer
  ones as a float of at least 2^63. Only a document whose `value` is an integer beyond
  ±2^53, or whose properties hold an integer beyond int64 or a float that large, is
  parsed again, with exact integers, to judge it (a float literal like 1e300 stays a
  float).

Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

# Largest integer `value` may carry: beyond it a double (what most JSON consumers parse
# numbers into) is no longer exact.
MAX_EXACT_VALUE = 2**53
# properties keep integers exact; the warehouse (BigQuery INT64, Java long) holds int64.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# The smallest float an integer literal orjson could not hold as int turns into.
_FLOAT_FROM_BIG_INT = float(INT64_MIN * -1)
_dumps = orjson.dumps
_STRICT_INTEGER = orjson.OPT_STRICT_INTEGER
_BLANK = frozenset(b" \n\r\t")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_MANY_DIGITS = re.compile(r"\d{6}")


def safe_name(key: object) -> str | None:
    """`key` when it is safe to print in a DLQ detail (an identifier: letters, digits and
    `_`, at most 40, not a phone-like run of digits; an email has `@` and fails), else None.
    Key names can be user data (`{"jane.doe@example.com": 1}`)."""
    if isinstance(key, int):
        return str(key)
    if isinstance(key, str) and _IDENTIFIER.fullmatch(key) and not _MANY_DIGITS.search(key):
        return key
    return None


def safe_path(path: tuple[object, ...]) -> str:
    """A dotted path whose parts are named only when `safe_name` allows it (`*` else)."""
    return ".".join(safe_name(p) or "*" for p in path)


@dataclass(frozen=True, slots=True)
class Problem:
    rule: str  # "duplicate_key" | "value_range" | "int64_range"
    path: tuple[object, ...]


def _walk(node: Any) -> int:
    """Keys in `node` (properties), or -1 when a number in it may have lost exactness
    (orjson keeps integers up to 64 bits as int and parses longer ones as float)."""
    n = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) is dict:
            n += len(current)
            children: Any = current.values()
        else:
            children = current
        for v in children:
            t = type(v)
            if t is dict or t is list:
                stack.append(v)
            elif t is int:
                if not INT64_MIN <= v <= INT64_MAX:
                    return -1
            elif t is float and abs(v) >= _FLOAT_FROM_BIG_INT:
                return -1
    return n


def check(value: bytes, obj: dict[str, Any]) -> Problem | None:
    """The first duplicate key or out-of-range integer in `value` (already parsed by
    orjson into `obj`, a valid JSON object), or None."""
    # A compact document has no whitespace after its first key's `":`; one that has
    # (`": `, as Python's json.dumps writes) is not orjson's rendering. (A document with
    # no key has no `":`: find gives -1 and the byte after the opening brace is looked at.)
    if value[value.find(b'":') + 2] not in _BLANK:
        try:
            if _dumps(obj, option=_STRICT_INTEGER) == value:
                return None
        except orjson.JSONEncodeError:  # an integer beyond 53 bits
            pass
    keys = len(obj)
    # Only these fields hold objects in a valid event. Objects elsewhere are not counted,
    # which can only send a document to the slow check (a count below the `":` count).
    for name in ("consent", "clickIds"):
        sub = obj.get(name)
        if type(sub) is dict:
            keys += len(sub)
    props = obj.get("properties")
    if type(props) is dict or type(props) is list:
        inner = _walk(props)
        if inner < 0:
            return _slow_check(value)
        keys += inner
    v = obj.get("value")
    if (type(v) is int and abs(v) > MAX_EXACT_VALUE) or (
        type(v) is float and abs(v) >= _FLOAT_FROM_BIG_INT
    ) or (
        # A key written with whitespace before its colon (`"a" :`) has a space or a raw
        # newline or tab there; raw control bytes cannot occur inside a JSON string.
        b" :" in value or b"\n" in value or b"\t" in value or b"\r" in value
    ) or value.count(b'":') != keys:
        return _slow_check(value)
    return None


def _slow_check(value: bytes) -> Problem | None:
    # Objects are built innermost first, so a pairs hook cannot know its own path: mark
    # each duplicate with a sentinel key and find the path in the finished tree.
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                return {_DUP: k}
            out[k] = v
        return out

    try:
        tree = json.loads(value, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None  # orjson accepted it; nothing more to learn
    found = _find_dup(tree, ())
    if found is not None:
        return Problem("duplicate_key", found)
    if isinstance(tree, dict):
        v = tree.get("value")
        if type(v) is int and abs(v) > MAX_EXACT_VALUE:
            return Problem("value_range", ("value",))
        big = _find_big_int(tree.get("properties"), ("properties",))
        if big is not None:
            return Problem("int64_range", big)
    return None


_DUP = "\x00duplicate"


def _first_path(
    node: Any, path: tuple[object, ...], hit: Callable[[Any], tuple[object, ...] | None]
) -> tuple[object, ...] | None:
    """The path of the first node, depth first, for which `hit` gives a tail (appended)."""
    tail = hit(node)
    if tail is not None:
        return (*path, *tail)
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    for k, v in items:
        found = _first_path(v, (*path, k), hit)
        if found is not None:
            return found
    return None


def _duplicate_here(node: Any) -> tuple[object, ...] | None:
    return (node[_DUP],) if isinstance(node, dict) and _DUP in node else None


def _big_int_here(node: Any) -> tuple[object, ...] | None:
    return () if type(node) is int and not INT64_MIN <= node <= INT64_MAX else None


def _find_dup(node: Any, path: tuple[object, ...]) -> tuple[object, ...] | None:
    return _first_path(node, path, _duplicate_here)


def _find_big_int(node: Any, path: tuple[object, ...]) -> tuple[object, ...] | None:
    return _first_path(node, path, _big_int_here)
