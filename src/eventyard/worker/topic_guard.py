"""Watch the broker from the worker: is it reachable, and does it still hold our topics as
they were when the worker started?

A broker that lost its data (a memory-only Tansu after a crash, a Kafka cluster rebuilt
from scratch) comes back empty on the same address. The clients reconnect to it as if
nothing happened: the group consumer waits for topics that no longer exist, lag reads 0,
and nothing is consumed. No client may create the topics again (kafka/no_autocreate.py),
and routing on would be wrong anyway (the dedup state is gone with them). So the guard
reads the cluster's metadata every CHECK_INTERVAL_S and, when a topic is missing or has
another partition count than at start, logs one line naming them and stops the worker
with a non-zero exit: the supervisor restarts it, and a fresh worker creates the topics
(or an operator runs `eventyard topics create`; docs/ops.md, "After a broker loss").

While the broker cannot be reached the guard reports it: `eventyard_broker_up` is 0,
the lag gauges are withdrawn (the last high watermark would be a stale number), and
`/healthz` fails once no check has succeeded for DOWN_AFTER_S.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient

from eventyard.errors import BrokerLost

__all__ = ["EXIT_CODE", "BrokerLost", "Counts", "TopicGuard", "describe_counts"]

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 2.0
# A metadata round trip that takes longer than this counts as a failed check: a paused
# broker accepts the connection and never answers.
CHECK_TIMEOUT_S = 5.0
# /healthz fails when no check has succeeded for this long.
DOWN_AFTER_S = 10.0
# A loss must be seen by this many checks in a row: a single odd metadata answer (a
# controller moving) must not stop a worker.
CONFIRMATIONS = 2
EXIT_CODE = 3
UNKNOWN_TOPIC_OR_PARTITION = 3


@dataclass(frozen=True, slots=True)
class TopicChange:
    topic: str
    expected: int
    found: int | None  # None: the topic is gone

    def render(self) -> str:
        if self.found is None:
            return f"{self.topic} is gone"
        return f"{self.topic} has {self.found} partitions, not {self.expected}"


Counts = dict[str, int | None]  # topic -> partition count, None when the broker lacks it
CountsFetch = Callable[[list[str]], Awaitable[Counts]]


def changes(expected: dict[str, int], found: Counts) -> list[TopicChange]:
    return [TopicChange(t, n, found.get(t)) for t, n in sorted(expected.items())
            if found.get(t) != n]


async def describe_counts(admin: AIOKafkaAdminClient, topics: list[str]) -> Counts:
    """Partition counts from one metadata request (never creates a topic)."""
    described = await admin.describe_topics(topics)
    counts: Counts = dict.fromkeys(topics)
    for d in described:
        if d.get("error_code", 0) == UNKNOWN_TOPIC_OR_PARTITION:
            continue
        counts[d["topic"]] = len(d["partitions"])
    return counts


class TopicGuard:
    def __init__(
        self,
        fetch: CountsFetch,
        topics: list[str],
        *,
        set_up: Callable[[bool], None] = lambda up: None,
        interval_s: float = CHECK_INTERVAL_S,
        timeout_s: float = CHECK_TIMEOUT_S,
        down_after_s: float = DOWN_AFTER_S,
    ) -> None:
        self._fetch = fetch
        self._topics = topics
        self._set_up = set_up
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.down_after_s = down_after_s
        self.expected: dict[str, int] = {}
        self.last_ok = time.monotonic()
        self.up = True
        self._seen_lost = 0

    async def start(self) -> None:
        """Record the partition counts to hold the broker to (after ensure_topics)."""
        found = await asyncio.wait_for(self._fetch(self._topics), self.timeout_s)
        missing = [t for t in self._topics if found.get(t) is None]
        if missing:
            raise BrokerLost(f"topics {', '.join(missing)} do not exist at start")
        self.expected = {t: n for t, n in found.items() if n is not None}
        self.last_ok = time.monotonic()
        self._set_up(True)

    def health(self) -> tuple[bool, str]:
        idle = time.monotonic() - self.last_ok
        if idle > self.down_after_s:
            return False, f"broker unreachable for {idle:.0f}s"
        return True, ""

    async def check(self) -> None:
        """One check; raises BrokerLost when topics are gone or changed."""
        try:
            found = await asyncio.wait_for(self._fetch(self._topics), self.timeout_s)
        except Exception as exc:  # refused, timed out, no broker answered: all "down"
            self._mark_down(exc)
            return
        lost = changes(self.expected, found)
        if lost:
            self._seen_lost += 1
            if self._seen_lost >= CONFIRMATIONS:
                raise BrokerLost(
                    "the broker lost this worker's topics ("
                    + "; ".join(c.render() for c in lost)
                    + "): it restarted without its data or was rebuilt; exiting so the "
                    "worker restarts and recreates them (docs/ops.md, After a broker loss)"
                )
        else:
            self._seen_lost = 0
        if not self.up:
            log.warning("broker reachable again after %.0fs", time.monotonic() - self.last_ok)
        self.up = True
        self._set_up(True)
        self.last_ok = time.monotonic()

    def _mark_down(self, exc: BaseException) -> None:
        if self.up:
            log.warning("broker unreachable (%s); /healthz fails after %.0fs of this",
                        type(exc).__name__, self.down_after_s)
        self.up = False
        self._set_up(False)

    async def run(self) -> None:
        """Check every interval until cancelled; raises BrokerLost."""
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()
