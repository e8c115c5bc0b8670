"""pydantic's validation errors of a policy file, as one plain sentence per problem.

A person editing YAML should read what to write, in the file's own terms: no validator
phrasing ("Input should be a valid dictionary or instance of Destination"), no class names,
no union branches.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic_core import ErrorDetails

from eventyard.errors import ProblemKind

Loc = tuple[str | int, ...]

# What each union field takes, said once (pydantic reports one error per branch).
_UNION_WANTS = {
    "events": "'all' or a mapping of canonical event -> native name",
    "properties": "'all', 'none' or a list of property keys",
    "platform": "a platform name",
}
_DESTINATION_NAME = (
    "destination names are lower-case letters, digits and _, start with a letter and are "
    "at most 40 characters"
)


def _union_tag(part: object) -> bool:
    # pydantic names union branches in error paths ("literal['all']", "dict[str,str]").
    return isinstance(part, str) and part.startswith(("function-", "literal[", "dict[", "list["))


def file_path(loc: Iterable[str | int]) -> Loc:
    """An error's location as a path in the file: union branches and key markers dropped."""
    return tuple(p for p in loc if not _union_tag(p) and p != "[key]")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean {match[0]}?" if match else ""


def sentence(
    err: ErrorDetails, keys_at: Mapping[Loc, Iterable[str]]
) -> tuple[ProblemKind, str]:
    """(kind, message) of one error; `keys_at` lists the keys each mapping accepts."""
    kind = err["type"]
    path = file_path(err["loc"])
    value = err.get("input")
    ctx = err.get("ctx") or {}
    last = path[-1] if path else ""
    if kind == "extra_forbidden":
        return "unknown_key", "unknown key" + _did_you_mean(str(last), keys_at.get(path[:-1], ()))
    if kind == "missing":
        return "missing_key", f"{last} is required"
    if "[key]" in err["loc"] and kind == "string_pattern_mismatch":
        return "bad_value", _DESTINATION_NAME
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "bad_value", f"must be a mapping (indented key: value lines), not {_shown(value)}"
    if kind == "list_type":
        return "bad_value", f"must be a list, not {_shown(value)}"
    if kind == "string_type" and last in ("dedup_window", "max_age"):
        return "bad_value", f"must be a duration such as 30m, 48h or 7d, not {_shown(value)}"
    if kind == "string_type":
        return "bad_value", f"must be a string, not {_shown(value)}"
    if kind == "bool_type":
        return "bad_value", f"must be true or false, not {_shown(value)}"
    if kind == "literal_error":
        return "bad_value", f"must be {ctx.get('expected', 'one of the listed values')}, " \
            f"not {_shown(value)}"
    if kind == "too_short" and path == ("destinations",):
        return "bad_value", "must list at least one destination"
    if kind == "too_short":
        return "bad_value", f"must have at least {ctx.get('min_length', 1)} item(s)"
    if kind == "string_pattern_mismatch":
        return "bad_value", f"{_shown(value)} does not have the expected form"
    if kind == "value_error":
        return "bad_value", str(ctx.get("error", err["msg"]))
    message = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    return "bad_value", message


def union_sentence(path: Loc, errs: list[ErrorDetails]) -> tuple[ProblemKind, str]:
    """One sentence for a union field every branch of which failed at the same path."""
    wants = _UNION_WANTS.get(str(path[-1]) if path else "", "a different value")
    return "bad_value", f"must be {wants}, not {_shown(errs[0].get('input'))}"
