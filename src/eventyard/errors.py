"""The one exception tree. Pure code raises these; the CLI turns them into exit codes."""

from __future__ import annotations

from typing import Literal


class EventyardError(Exception):
    """Base of every error eventyard raises on purpose."""


class PolicyError(EventyardError):
    """A routing policy failed to load; `problems` holds every error, not just the first,
    and `warnings` what would have been reported had it loaded."""

    def __init__(
        self, problems: list[PolicyProblem], warnings: tuple[PolicyProblem, ...] = ()
    ) -> None:
        self.problems = problems
        self.warnings = warnings
        shown = sorted([*problems, *warnings], key=lambda p: p.line)
        super().__init__("\n".join(p.render() for p in shown))


# What a policy (or policy test file) problem is about, so callers and tests can tell
# problems apart without parsing their sentences (in the spirit of Benthos's Lint{Type}).
ProblemKind = Literal[
    # reading the file
    "unreadable_file", "not_utf8", "empty_file", "yaml_syntax", "duplicate_key", "bad_key",
    # structure (the schema)
    "not_a_mapping", "unknown_key", "missing_key", "bad_value",
    # meaning (taxonomy and platform facts)
    "unknown_event", "unknown_platform", "wrong_class", "pii_mode", "hmac_key_missing",
    "native_name", "exclude_with_map", "empty_properties", "all_names_rejected",
    "alias_shadows", "bad_alias",
    # warnings: the policy loads, but probably does not do what was meant
    "disabled", "protected_to_ads",
    # policy test files
    "bad_case", "duplicate_case",
    # the worker's reload
    "reload_failed",
]
Severity = Literal["error", "warning"]


class PolicyProblem:
    """One finding in a policy file, rendered as `FILE:LINE: PATH: message` (warnings:
    `FILE:LINE: PATH: warning: message`)."""

    __slots__ = ("file", "kind", "line", "message", "path", "severity")

    def __init__(
        self, file: str, line: int, path: str, message: str,
        kind: ProblemKind = "bad_value", severity: Severity = "error",
    ) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.message = message
        self.kind: ProblemKind = kind
        self.severity: Severity = severity

    def render(self) -> str:
        warn = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {self.path or '<root>'}: {warn}{self.message}"

    def __repr__(self) -> str:
        return f"PolicyProblem({self.render()!r})"


class ConfigError(EventyardError):
    """A setting or deployment file is wrong."""


class BrokerError(EventyardError):
    """The local Tansu broker could not be started or reached."""


class BrokerUnreachable(EventyardError):
    """No Kafka broker answered at the configured bootstrap servers."""
