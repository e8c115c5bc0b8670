"""bytes -> validated event, or a dead letter. Never raises (DESIGN.md §2 steps 1-2)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from eventyard.contract import strictjson
from eventyard.contract.deadletter import DeadLetter
from eventyard.contract.forgiving import rule_for as _rule_for
from eventyard.contract.forgiving import validate
from eventyard.contract.model import (
    EPOCH_SECONDS_BELOW,
    FIELDS,
    MAX_PROPERTIES_DEPTH,
    RawEvent,
    properties_too_deep,
    rfc3339_ms,
)
from eventyard.contract.normalise import FieldWarning, fbc_from_fbclid, normalise
from eventyard.contract.reasons import field_reason
from eventyard.contract.strictjson import safe_name, safe_path
from eventyard.taxonomy import TAXONOMY, near_miss

DEFAULT_MAX_EVENT_BYTES = 65536
FUTURE_TOLERANCE_MS = 5 * 60 * 1000
_FIELD_NAMES = list(FIELDS)


# Decoded and Peeked are built once per event and only read; not frozen, because a frozen
# dataclass's __init__ sets each field through object.__setattr__, at several times the
# cost of a plain one.
@dataclass(slots=True)
class Decoded:
    event: RawEvent  # its `event` is the canonical name when the policy aliased the sent one
    event_time_ms: int
    sent_as: str | None = None  # the name the producer sent, when an alias applied
    # What was corrected or dropped on the way (reasons.WARNINGS codes).
    warnings: tuple[FieldWarning, ...] = ()


@lru_cache(maxsize=256)
def _did_you_mean(name: str) -> str:
    """The hint for an unknown top-level field: producers repeat the same typo on every
    event, so the (costly) closest-match search runs once per name."""
    guess = difflib.get_close_matches(name, _FIELD_NAMES, n=1, cutoff=0.6)
    return f" (did you mean '{guess[0]}'?)" if guess else ""


def _problem(err: Any, unknown: int = 1) -> tuple[str, str]:
    """(reason code, detail) for one pydantic error; the detail names field and rule,
    never the value. `unknown`: how many unknown top-level fields the event has."""
    loc: tuple[Any, ...] = err["loc"]
    etype: str = err["type"]
    if not loc:
        if etype == "identity_missing":
            return (
                "contract.identity.missing",
                "identity: at least one of userId, anonymousId, externalId, email is required",
            )
        return ("contract.currency.missing", "currency: required whenever value is present")
    field = str(loc[0])
    if etype == "extra_forbidden" and len(loc) == 1:
        # A key name can itself be user data ({"jane.doe@example.com": 1}): named only
        # when it looks like an identifier (strictjson.safe_name).
        shown = safe_name(field)
        if shown is None:
            return (
                "contract.unknown_field",
                f"{unknown} unknown top-level field(s), names not shown (not identifiers); "
                "free data belongs in properties",
            )
        return (
            "contract.unknown_field",
            f"{shown}: unknown top-level field{_did_you_mean(shown)}; "
            "free data belongs in properties",
        )
    rule = _rule_for(field, etype, nested=len(loc) > 1)
    code = field_reason(field, rule)
    # pydantic's messages state the rule ("String should have at most 320 characters"),
    # never the input, and include_input=False keeps the value out of the error itself.
    message = err.get("msg", "") if etype != "missing" else "required"
    return code, f"{safe_path(loc)}: {message}"


def _hidden_problem(problem: strictjson.Problem) -> DeadLetter:
    where = safe_path(problem.path)
    if problem.rule == "duplicate_key":
        # The last copy would silently win: "consent":{"ads":false},"consent":{"ads":true}.
        return DeadLetter(
            "contract.duplicate_key", f"{where}: the key appears more than once in its object"
        )
    if problem.rule == "value_range":
        return DeadLetter(
            "contract.value.out_of_range",
            "value: an integer beyond ±2^53, which JSON consumers cannot hold exactly",
        )
    return DeadLetter(
        "contract.properties.out_of_range",
        f"{where}: an integer beyond 64 bits; send it as a string",
    )


def _to_ms(ts: str | int | None, record_ts_ms: int) -> int:
    if ts is None:
        return record_ts_ms
    if isinstance(ts, int):
        return ts * 1000 if ts < EPOCH_SECONDS_BELOW else ts
    ms = rfc3339_ms(ts)  # the validator's parse, cached
    return record_ts_ms if ms is None else ms  # None: not validated as a real date


def decode(
    value: bytes | None,
    record_ts_ms: int,
    now_ms: int,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    parsed: Peeked | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Decoded | DeadLetter:
    """`parsed`: what `peek` returned for this very `value`, so it is not parsed twice.
    `aliases`: the policy's sent name -> canonical name map, applied before the taxonomy
    check (an aliased "feature_used" is FeatureUsed, not a near-miss typo)."""
    if not value:
        return DeadLetter("decode.empty", "value: the record has no value")
    if parsed is not None:
        obj = parsed.obj  # peek checked the size and that it is a JSON object
    else:
        if len(value) > max_bytes:
            return DeadLetter(
                "size.too_large", f"value: {len(value)} bytes is over the {max_bytes}-byte limit"
            )
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return DeadLetter("decode.not_utf8", "value: not valid UTF-8")
            if str(exc.args[0]).startswith("depth limit exceeded"):
                # orjson stops at 1024 levels; only properties may nest at all.
                return DeadLetter(
                    "contract.properties.too_deep",
                    f"properties: must nest at most {MAX_PROPERTIES_DEPTH} levels",
                )
            return DeadLetter(
                "decode.invalid_json", f"value: not valid JSON ({exc.args[0][:80]})"
            )
        if not isinstance(obj, dict):
            return DeadLetter(
                "decode.not_object", f"value: a JSON {type(obj).__name__}, not an object"
            )
    hidden = strictjson.check(value, obj)
    if hidden is not None:
        return _hidden_problem(hidden)
    obj, warnings = normalise(obj)
    props = obj.get("properties")
    # A document with at most MAX_PROPERTIES_DEPTH + 1 brackets in all (the root object is
    # one) cannot nest properties too deep; counting bytes in C is far cheaper than walking
    # the tree, and brackets inside strings only make the count conservative.
    too_deep = (
        type(props) is dict
        and value.count(b"{") + value.count(b"[") > MAX_PROPERTIES_DEPTH + 1
        and properties_too_deep(props)
    )
    name = obj.get("event")
    if aliases and isinstance(name, str):
        name = aliases.get(name, name)  # a money event under its producer's name
    result = validate(obj, too_deep, name)
    if isinstance(result, list):
        errors = result
        # An unknown field is usually the cause of a "missing" one ("eventid" for eventId):
        # report the typo first, it is what the producer has to fix.
        errors.sort(key=lambda e: e["type"] != "extra_forbidden" or len(e["loc"]) != 1)
        unknown = sum(e["type"] == "extra_forbidden" and len(e["loc"]) == 1 for e in errors)
        code, detail = _problem(errors[0], unknown)
        if code == "contract.identity.missing" and obj.get("email") is not None:
            detail += " (email was dropped: not a usable address)"
        if len(errors) > 1:
            others = sorted({safe_path(e["loc"]) or "event" for e in errors[1:]})
            detail += f" (+{len(errors) - 1} more: {', '.join(others[:5])})"
        return DeadLetter(code, detail)
    event, dropped = result
    sent_as = None
    if aliases and (alias := aliases.get(event.event)) is not None:
        sent_as, event = event.event, event.model_copy(update={"event": alias})
    canonical = TAXONOMY.get(event.event)
    if canonical is None:
        meant = near_miss(event.event)
        if meant is not None:
            return DeadLetter(
                "taxonomy.unknown_event",
                f"event: '{event.event}' is not canonical; did you mean '{meant}'?",
            )
    elif canonical.requires:
        missing = [f for f in canonical.requires if getattr(event, f) is None]
        if missing:
            return DeadLetter(
                "taxonomy.value.missing" if "value" in missing else "contract.currency.missing",
                f"{missing[0]}: required for {canonical.name} events"
                + (f" (and {', '.join(missing[1:])})" if len(missing) > 1 else ""),
            )
    event_time_ms = _to_ms(event.timestamp, record_ts_ms)
    if event_time_ms > now_ms + FUTURE_TOLERANCE_MS:
        return DeadLetter(
            "timestamp.future", "timestamp: more than 5 minutes in the future"
        )
    warnings += dropped
    if event.clickIds and "fbclid" in event.clickIds:
        clicks = dict(event.clickIds)
        fbclid = clicks.pop("fbclid")
        clicks.setdefault("fbc", fbc_from_fbclid(fbclid, event_time_ms))
        event = event.model_copy(update={"clickIds": clicks})
    if event.value is not None and event.value < 0:
        warnings.append(FieldWarning("value", "value.negative"))
    return Decoded(event, event_time_ms, sent_as, tuple(warnings))


@dataclass(slots=True)
class Peeked:
    event_id: str
    obj: dict[str, Any]  # the whole parsed document, for `decode(parsed=...)`


def peek(value: bytes | None, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> Peeked | None:
    """The record's eventId if it has a well-formed one, without validating the rest.

    The worker's first hop only needs the dedup key; full validation happens once, when
    the event is routed, and its dead letters carry the same bytes, key and source
    coordinates. None means "no usable key": the caller validates fully to learn the
    exact reason.
    """
    if not value or len(value) > max_bytes:
        return None
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    event_id = obj.get("eventId") if isinstance(obj, dict) else None
    # The model's eventId rule (1 to 128 characters, each from `!` to `~`) by string
    # methods: ASCII and printable is U+0020..U+007E, less the space.
    if (
        type(event_id) is str
        and 0 < len(event_id) <= 128
        and event_id.isascii()
        and event_id.isprintable()
        and " " not in event_id
    ):
        return Peeked(event_id, obj)
    return None
