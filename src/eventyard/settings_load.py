"""EVENTYARD_* settings as a command needs them.

- One sentence per wrong value, naming the variable (or the flag that set it) and the rule;
  raised as ConfigError, which the CLI prints on stderr with exit status 2.
- A command validates only the settings it uses: the others stand at their defaults, so a
  bad EVENTYARD_METRICS_PORT does not stop `eventyard send`.
- A misspelt variable (EVENTYARD_BOOTSTRAP_SERVER) is named in a warning with the setting it
  is closest to, since pydantic-settings ignores it silently.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_core import ErrorDetails

from eventyard.errors import ConfigError
from eventyard.settings import Settings

PREFIX = "EVENTYARD_"

# Settings each client needs; a command lists the groups it uses.
KAFKA = frozenset({
    "bootstrap_servers", "group_id", "security_protocol", "sasl_mechanism", "sasl_username",
    "sasl_password", "sasl_password_file", "ssl_cafile", "ssl_certfile", "ssl_keyfile",
    "max_event_bytes",
})
PRODUCER = frozenset({"producer_linger_ms", "producer_max_batch_bytes", "producer_compression"})
TOPICS = frozenset(n for n in Settings.model_fields if n.startswith("topic_")) | {
    "partitions", "replication_factor",
}
# Their values are never echoed in an error.
_SECRET = frozenset(
    n for n, f in Settings.model_fields.items() if SecretStr.__name__ in repr(f.annotation)
)


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def _where(field: str, flags: Mapping[str, Any]) -> str:
    return f"--{field.replace('_', '-')}" if field in flags else env_name(field)


def _rule(err: ErrorDetails) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind == "literal_error":
        return f"must be {ctx['expected']}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")


def _sentences(exc: ValidationError, flags: Mapping[str, Any]) -> Iterator[str]:
    for err in exc.errors(include_url=False):
        rule = _rule(err)
        if not err["loc"]:  # a rule across settings: its sentence names the variables
            yield rule
            continue
        field = str(err["loc"][0])
        shown = "" if field in _SECRET else f" (got {err['input']!r})"
        yield f"{_where(field, flags)}: {rule}{shown}"


def load_settings(uses: Collection[str] | None = None, **flags: Any) -> Settings:
    """Settings from EVENTYARD_* with the given command-line flags on top (None: not
    given). `uses`: the settings the command reads; None means all of them."""
    given = {k: v for k, v in flags.items() if v is not None}
    unused = {} if uses is None else {
        name: field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
        if name not in uses and name not in given
    }
    try:
        return Settings(**unused, **given)
    except ValidationError as exc:
        raise ConfigError("\n".join(_sentences(exc, given))) from None


def misspelt(environ: Mapping[str, str]) -> list[str]:
    """A warning for each EVENTYARD_* variable that is no setting but close to one."""
    known = [env_name(n) for n in Settings.model_fields]
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known:
            continue
        match = difflib.get_close_matches(upper, known, n=1, cutoff=0.85)
        if match:
            warnings.append(
                f"warning: {name} is not an eventyard setting and is ignored; "
                f"did you mean {match[0]}?"
            )
    return warnings
