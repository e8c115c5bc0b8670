"""The one exception tree. Every error eventyard raises on purpose is in it; the CLI turns
them into exit codes (2 for usage or configuration, 1 for a failed check or run).

    EventyardError
    ├── PolicyError             a routing policy failed to load; `.problems` lists every
    │                           finding (PolicyProblem: FILE:LINE: PATH: message)
    ├── ConfigError             a setting, deployment file, command-line value or topic
    │   │                       layout is wrong (kafka/topics.py: a topic cannot be created
    │   │                       or has another partition count than EVENTYARD_PARTITIONS;
    │   │                       worker/dedup.py: a window that is not positive; ops/: a bad
    │   │                       --since/--until or topic name)
    │   ├── PiiConfigError      hashing cannot run as configured (routing/pii.py): hmac mode
    │   │                       without EVENTYARD_HMAC_KEY, an unknown hash mode; also a
    │   │                       ValueError
    │   ├── UnknownPlatform     hashing asked for a platform the registry does not hold
    │   │                       (routing/pii.py); also a KeyError
    │   ├── PlatformRegistryError   the platform table is inconsistent, e.g. a platform
    │                           without PII rules (platforms/model.py, at import)
    │   └── WriteKeySpecError   EVENTYARD_INGEST_KEYS cannot be parsed; names the entry by
    │                           its position, never the key (ingest/auth.py)
    ├── UsageError              a function called with arguments that cannot work together
    │                           (ops/redrive.py: a dry run without a policy); also a
    │                           ValueError
    ├── LoadTargetError         `eventyard load --to` cannot be opened or is not a supported
    │                           database URL (load/sinks.py)
    ├── Fenced                  another loader moved a partition's stored offset while a
    │                           batch was in flight (load/sinks.py)
    ├── UnreadableFile          a policy file the reader will not use: not a regular file
    │                           (FIFO, device, directory), too large, or a read that took
    │                           too long (policy/readfile.py)
    ├── AliasExpansion          a YAML document whose aliases expand past the node budget
    │                           (policy/yamlsource.py; reported as a PolicyProblem)
    ├── BrokerLost              the broker no longer holds the worker's topics as created
    │                           (worker/topic_guard.py; the worker exits 3)
    ├── BrokerError             the local Tansu broker could not be started or reached
    │                           (local/broker.py)
    ├── BrokerUnreachable       no Kafka broker answered at the bootstrap servers
    │                           (kafka/reach.py)
    ├── PostgresUnavailable     no Postgres server binaries on this machine
    │                           (local/postgres.py)
    ├── IngestRefused           the ingest edge answers a request with a status other than
    │   │                       per-event results (413, 429, 503…: ingest/); carries the
    │   │                       status, a code, a detail and response headers
    │   └── IngestAuthError     no valid write key on a request: a 401 (ingest/auth.py)
    ├── WorkerDied              a worker process exited or hung while the demo or a test
    │                           harness waited for it (demo/, local/harness.py); also a
    │                           RuntimeError
    └── WaitTimeout             something awaited did not happen in time: a reader did not
                                reach the fetch high watermark (kafka/highwater.py,
                                ops/scan.py), a test condition was not met (local/); also
                                a TimeoutError

Raised by others, on purpose not wrapped:
- Kafka client errors (aiokafka.errors.KafkaError): a failed delivery or restore stops
  the worker's loop with the client's own error (worker/checkpoint.py, rebalance.py).
- pydantic.ValidationError: EVENTYARD_* settings that fail validation (settings.py).

Never escape: validators inside pydantic models raise ValueError or PydanticCustomError
(contract/model.py, policy/schema.py, policy/testing.py, policy/signal_cases.py,
signals/rules.py via the policy schema, settings.py), which pydantic collects; the
contract turns them into dead letters and the policy loader into PolicyProblems. The
pure core returns values (DeadLetter, Routed), never exceptions.
"""

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
    "alias_expansion", "bad_merge",
    # structure (the schema)
    "not_a_mapping", "unknown_key", "missing_key", "bad_value",
    # meaning (taxonomy and platform facts)
    "unknown_event", "unknown_platform", "wrong_class", "pii_mode", "hmac_key_missing",
    "native_name", "exclude_with_map", "empty_properties", "all_names_rejected",
    "alias_shadows", "bad_alias", "ads_properties_all",
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
    """A setting, deployment file or topic layout is wrong."""


class PiiConfigError(ConfigError, ValueError):
    """Hashing cannot run as configured (a missing key, an unknown mode)."""


class UnknownPlatform(ConfigError, KeyError):
    """Hashing asked for a platform the registry does not hold."""


class PlatformRegistryError(ConfigError):
    """The platform table itself is inconsistent (a code error, caught at import)."""


class UsageError(EventyardError, ValueError):
    """A function was called with arguments that cannot work together."""


class LoadTargetError(EventyardError):
    """The --to target cannot be opened or is not a supported database URL."""


class Fenced(EventyardError):
    """Another loader moved a partition's stored offset while this batch was in flight."""


class UnreadableFile(EventyardError):
    """The file cannot be used; str() is one sentence saying why."""


class AliasExpansion(EventyardError):
    """A YAML document expands past the node budget through its aliases."""


class BrokerLost(EventyardError):
    """The broker no longer holds the worker's topics as they were created."""


class BrokerError(EventyardError):
    """The local Tansu broker could not be started or reached."""


class BrokerUnreachable(EventyardError):
    """No Kafka broker answered at the configured bootstrap servers."""


class PostgresUnavailable(EventyardError):
    """No Postgres server binaries on this machine (Debian package `postgresql`)."""


class WriteKeySpecError(ConfigError):
    """The write key setting cannot be parsed; the message names the entry, never the key."""


class IngestRefused(EventyardError):
    """An ingest edge answer other than the per-event one: 401, 403, 413, 429, 503..."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = headers or {}


class IngestAuthError(IngestRefused):
    """No valid write key: the message says what was wrong, never which key was tried."""

    def __init__(self, detail: str) -> None:
        super().__init__(401, "auth.invalid", detail,
                         {"WWW-Authenticate": 'Basic realm="eventyard"'})


class WorkerDied(EventyardError, RuntimeError):
    """A worker process exited or hung while something waited for it."""


class WaitTimeout(EventyardError, TimeoutError):
    """Something awaited did not happen in time."""
