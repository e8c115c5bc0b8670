"""Time bounds of a scan: `--since 2h`, `--since 2026-12-02T14:00:00Z`, `--until now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eventyard.errors import ConfigError
from eventyard.policy.schema import duration_ms


def parse_when(text: str, now_ms: int, *, flag: str) -> int:
    """A duration ago (30m, 2h, 7d), `now`, or an RFC 3339 time -> epoch ms."""
    if text == "now":
        return now_ms
    try:
        return now_ms - duration_ms(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{flag} {text!r}: expected a duration ago (30m, 2h, 7d), now, or a time such "
            "as 2026-12-02T14:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Window:
    """Record timestamps in [since_ms, until_ms]; None is open."""

    since_ms: int | None = None
    until_ms: int | None = None

    def contains(self, ts_ms: int) -> bool:
        return (self.since_ms is None or ts_ms >= self.since_ms) and (
            self.until_ms is None or ts_ms <= self.until_ms)

    def describe(self) -> str:
        since = iso_ms(self.since_ms) if self.since_ms is not None else "the beginning"
        until = iso_ms(self.until_ms) if self.until_ms is not None else "now"
        return f"{since} → {until}"


def window_from(since: str | None, until: str | None, now_ms: int) -> Window:
    w = Window(
        parse_when(since, now_ms, flag="--since") if since else None,
        parse_when(until, now_ms, flag="--until") if until else None,
    )
    if w.since_ms is not None and w.until_ms is not None and w.since_ms > w.until_ms:
        raise ConfigError(f"--since is after --until ({w.describe()})")
    return w
