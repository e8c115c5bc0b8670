"""Group commit: the records of concurrent requests go to the broker in shared rounds.

Each request hands its records over and waits for its own acknowledgement. A round takes
everything pending and hands it to the producer as one record batch per partition
(kafka/producer.py BatchSender). aiokafka keeps one batch per partition in flight and
makes the next one wait until the previous is sent (`add_batch` waits for the drain), so
while a round waits for a busy partition, the records of requests arriving meanwhile gather
into the next round: one event per request costs no more produce requests than a hundred,
the adaptive batching a bare `producer.send()` loop gets from aiokafka's accumulator
(BatchSender closes its batches to skip the linger, so it needs this).

Records of a request that gave up waiting (503) before its round was shipped are not sent:
that request was never acknowledged, and its client retries with the same eventIds.
"""

from __future__ import annotations

import asyncio
import time

from eventyard.kafka.producer import BatchSender, Send


class Shipper:
    def __init__(self, sender: BatchSender) -> None:
        self._sender = sender
        self._pending: list[tuple[list[Send], asyncio.Future[None]]] = []
        self._running: asyncio.Task[None] | None = None
        self.last_ok = True  # did the latest finished round succeed? (for /healthz)
        self._shipped_at: dict[int, float] = {}  # round id -> when it was shipped

    def waiting_s(self) -> float:
        """How long the oldest round still waiting for the broker has waited (0: none)."""
        if not self._shipped_at:
            return 0.0
        return time.monotonic() - min(self._shipped_at.values())

    async def send(self, sends: list[Send]) -> None:
        """Returns once every record is acknowledged; raises if any delivery failed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((sends, future))
        if self._running is None:
            self._running = asyncio.create_task(self._rounds())
        await future

    async def _rounds(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                live = [(s, f) for s, f in batch if not f.done()]
                if not live:
                    continue
                waiters = [f for _, f in live]
                try:
                    acked = await self._sender.ship([s for sends, _ in live for s in sends])
                except Exception as exc:  # metadata or producer failure before any send
                    self._settle(waiters, exc)
                    continue
                done = asyncio.ensure_future(acked)
                self._shipped_at[id(done)] = time.monotonic()
                done.add_done_callback(lambda d, w=waiters: self._finish(d, w))  # type: ignore[misc]
        finally:
            self._running = None

    def _finish(self, done: asyncio.Future[object], waiters: list[asyncio.Future[None]]) -> None:
        self._shipped_at.pop(id(done), None)
        exc = done.exception() if not done.cancelled() else asyncio.CancelledError()
        self._settle(waiters, exc)

    def _settle(self, waiters: list[asyncio.Future[None]], exc: BaseException | None) -> None:
        self.last_ok = exc is None
        for w in waiters:
            if w.done():
                continue
            if exc is None:
                w.set_result(None)
            else:
                w.set_exception(exc)

    async def drain(self, timeout: float) -> None:
        """At shutdown: wait for the rounds under way."""
        task = self._running
        if task is not None:
            await asyncio.wait({task}, timeout=timeout)
