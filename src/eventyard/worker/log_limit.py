"""At most one log line per message and interval for the Kafka client's warnings and errors.

While a broker is unreachable aiokafka logs every failed connection and metadata attempt,
several times a second per client (783 ERROR lines in 10 s of outage). The first line of a
kind is kept; repeats within INTERVAL_S are counted, and the next line of that kind after
the interval says how many were left out. "Of a kind" is the logger, level and message
template (`"Unable connect to %r: %s"`), so different problems are never merged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

INTERVAL_S = 10.0
LIMITED_PREFIXES = ("aiokafka", "kafka")


class RateLimit(logging.Filter):
    def __init__(
        self, interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._clock = clock
        # (logger, level, template) -> (start of its interval, lines left out in it)
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        started, dropped = self._seen.get(key, (float("-inf"), 0))
        if now - started < self.interval_s:
            self._seen[key] = (started, dropped + 1)
            return False
        self._seen[key] = (now, 0)
        if dropped:
            record.msg = (
                f"{record.msg} ({dropped} more like this in the last {self.interval_s:.0f}s)"
            )
        return True


def install(interval_s: float = INTERVAL_S) -> RateLimit:
    """Attach one RateLimit to every Kafka-client logger (aiokafka creates its loggers when
    its modules are imported, before the worker starts; a logger's filters do not apply
    to its children, so each gets it)."""
    limit = RateLimit(interval_s)
    for name in list(logging.Logger.manager.loggerDict):
        if name.startswith(LIMITED_PREFIXES):
            logger = logging.getLogger(name)
            if limit not in logger.filters:
                logger.addFilter(limit)
    return limit
