"""One demo run: broker, worker, paced traffic, topic reader and metrics scraper.

Order matters and is the point of this module:
- children are spawned with SIGINT blocked, so a Ctrl-C in the terminal reaches only the
  demo (the terminal signals the whole foreground process group); the demo then stops
  producing, lets the worker finish, SIGTERMs it (it commits), reads the topics to the end
  and only then stops the broker. A second Ctrl-C skips the wait.
- traffic starts only once the worker holds its partitions, so the first events do not sit
  through a group join and the latency figures mean something.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import ValidationError

from eventyard.demo.funnel import Emitted, Funnel
from eventyard.demo.processes import returncode, sigint_blocked
from eventyard.demo.signals import DemoSignals
from eventyard.demo.state import DemoOptions, DemoState
from eventyard.demo.tally import Tally, WorkerMetrics, reconcile
from eventyard.demo.warehouse import load_and_query
from eventyard.errors import BrokerError, WorkerDied
from eventyard.kafka import clients as kafka
from eventyard.local.broker import LocalBroker, free_port
from eventyard.local.edge import EdgeProcess
from eventyard.local.harness import Record, TopicReader, WorkerProcess
from eventyard.settings import Settings

log = logging.getLogger(__name__)

TICK_S = 0.1  # produce in 100 ms slices: steady to the eye, and few tiny batches (broker.md §2)
SCRAPE_S = 0.5
READY_TIMEOUT_S = 90.0
SETTLE_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 30.0
EDGE_KEY = "demo-server-key"  # a key for this local run only
EDGE_BATCH = 500  # events per request: the edge's default EVENTYARD_INGEST_MAX_EVENTS


class DemoSession:
    def __init__(self, opts: DemoOptions, policy_version: str | None = None) -> None:
        self.opts = opts
        workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="eventyard-demo-"))
        workdir.mkdir(parents=True, exist_ok=True)
        self.run_id = uuid.uuid4().hex[:6]
        self.funnel = Funnel(seed=opts.seed, run_id=self.run_id)
        self.state = DemoState(opts, self.run_id, workdir, Tally({}), self.funnel.stats,
                               policy_version=policy_version)
        self.broker: LocalBroker | None = None
        self.worker: WorkerProcess | None = None
        self.signals: DemoSignals | None = None
        self.edge: EdgeProcess | None = None
        self.settings: Settings | None = None
        self._stop = asyncio.Event()  # first Ctrl-C / SIGTERM / --duration: wind down
        self._abort = asyncio.Event()  # second Ctrl-C: skip the waiting
        self._reading = True

    # --- entry -----------------------------------------------------------------------

    async def run(self, render: Callable[[DemoState], None], refresh_s: float) -> DemoState:
        """Run to the end; `render` is called every `refresh_s` with the state."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._on_signal)
        loop.add_signal_handler(signal.SIGTERM, self._on_signal)
        renderer = asyncio.create_task(self._render_loop(render, refresh_s))
        try:
            await self._run()
        except WorkerDied as exc:
            self.state.error = str(exc)
        except (BrokerError, OSError, TimeoutError, ValidationError) as exc:
            self.state.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._stop.set()
            self._mark_elapsed()
            self.state.phase = "stopping"
            await self._shutdown()
            renderer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renderer
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
            self.state.phase = "done"
        return self.state

    def _mark_elapsed(self) -> None:
        if not self.state.elapsed:
            self.state.elapsed = time.monotonic() - (self.state.producing_since
                                                     or self.state.started)

    def _on_signal(self) -> None:
        if self._stop.is_set():
            self._abort.set()
            self.state.aborted = True
        self.state.interrupted = True
        self._stop.set()

    # --- the run ---------------------------------------------------------------------

    async def _run(self) -> None:
        st, opts = self.state, self.opts
        if opts.bootstrap is None:
            st.phase = "starting broker"
            self.broker = LocalBroker(log_path=st.workdir / "broker.log")
            with sigint_blocked():
                self.broker.start()
            st.bootstrap, st.own_broker = self.broker.bootstrap, True
        else:
            st.bootstrap, st.own_broker = opts.bootstrap, False
        self.settings = s = Settings(  # other EVENTYARD_* (topics, partitions) from the env
            bootstrap_servers=st.bootstrap, policy_path=opts.policy
        )
        st.topics = {"raw": s.topic_raw, "ads": s.topic_ads, "crm": s.topic_crm,
                     "warehouse": s.topic_warehouse, "dlq": s.topic_dlq}
        st.tally = Tally({t: role for role, t in st.topics.items()}, since_ms=_now_ms())

        st.phase = "starting worker"
        port = free_port()
        st.metrics_url = f"http://127.0.0.1:{port}/metrics"
        env = {"EVENTYARD_BOOTSTRAP_SERVERS": st.bootstrap,
               "EVENTYARD_POLICY_PATH": str(opts.policy),
               "EVENTYARD_METRICS_HOST": "127.0.0.1",
               "EVENTYARD_LOG_LEVEL": "INFO"}  # readiness is read from the INFO log
        self.worker = WorkerProcess("demo", env, st.workdir / "worker.log", port)
        self.signals = DemoSignals(env, st.workdir)  # derived events: docs/signals.md
        with sigint_blocked():
            self.worker.start()
            self.signals.start()
        st.worker_pid = self.worker.pid
        st.phase = "starting ingest edge"
        self.edge = EdgeProcess(
            {"EVENTYARD_BOOTSTRAP_SERVERS": st.bootstrap, "EVENTYARD_INGEST_KEYS": EDGE_KEY},
            st.workdir / "ingest.log", free_port(),
        )
        with sigint_blocked():
            self.edge.start(wait=False)
        await asyncio.to_thread(self.edge.wait_ready)
        st.edge_url = self.edge.url
        scraper = asyncio.create_task(self._scrape_loop())
        try:
            ready = asyncio.to_thread(self.worker.wait_assigned, READY_TIMEOUT_S)
            if not await self._until(ready, stop_cancels=True):
                return  # stopped while starting: nothing to summarise
            await asyncio.to_thread(self.signals.wait_ready, READY_TIMEOUT_S)
            async with TopicReader(s, list(st.topics.values())) as reader:
                read = asyncio.create_task(self._read_loop(reader))
                try:
                    st.phase = "routing"
                    st.producing_since = time.monotonic()
                    await self._until(self._produce(s), stop_cancels=False)
                    st.phase = "draining"
                    await self._settle()
                    # Derived events are raw records too: count them, and let them route.
                    st.produced += await self.signals.catch_up(st.tally.routed_events)
                    st.signals = dict(self.signals.fired)
                    await asyncio.to_thread(self.signals.stop)
                    await self._settle()
                    self._mark_elapsed()  # traffic start → all routed; stopping is not routing
                    await self._scrape()  # the last word before the worker goes away
                    st.phase = "stopping worker"
                    await self._stop_worker()
                finally:
                    self._reading = False
                    await read
                if st.aborted:
                    return  # nothing was drained: the totals could not add up
                # Everything the worker published is in now: one last read to the end.
                self._take(await reader.drain())
                st.checks = reconcile(
                    st.produced, st.tally, st.metrics,
                    sent_duplicates=sum(st.funnel.duplicates.values()),
                    sent_malformed=sum(st.funnel.malformed.values()),
                )
                st.phase = "loading into DuckDB"
                st.warehouse = await load_and_query(s, st.workdir / "warehouse.duckdb")
        finally:
            scraper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scraper

    async def _until(self, aw: Awaitable[object], *, stop_cancels: bool) -> bool:
        """Await `aw` while watching the worker; True when it completed. With
        `stop_cancels`, a stop request abandons it (a readiness wait); otherwise `aw`
        winds down by itself on a stop (traffic, so every record sent is counted)."""
        task = asyncio.ensure_future(aw)
        waits: set[asyncio.Future[Any]] = {task, asyncio.create_task(self._watch())}
        if stop_cancels:
            waits.add(asyncio.create_task(self._stop.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits - {task}:
                w.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            for w in waits - {task}:  # a death the watchdog saw wins over a plain stop
                if w.done() and not w.cancelled() and w.exception() is not None:
                    raise w.exception()  # type: ignore[misc]
            return False
        exc = task.exception()
        if isinstance(exc, WorkerDied):  # wait_assigned: the worker exited or never joined
            worker = self.worker
            if worker is not None and not worker.alive():
                raise WorkerDied(f"worker exited while starting, code {returncode(worker)}")
            raise WorkerDied(f"worker did not get its partitions within {READY_TIMEOUT_S:.0f}s")
        if exc is not None:
            raise exc
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.3)
            if self.worker is not None and not self.worker.alive():
                raise WorkerDied(f"worker exited with code {returncode(self.worker)}")
            if self.broker is not None and not self.broker.alive():
                raise WorkerDied("broker exited:\n" + self.broker.log_tail(1500))

    # --- traffic ---------------------------------------------------------------------

    async def _produce(self, s: Settings) -> None:
        st, opts = self.state, self.opts
        producer = kafka.producer(s)
        await producer.start()
        http = aiohttp.ClientSession(headers={"X-Write-Key": EDGE_KEY})
        try:
            start, sent = time.monotonic(), 0
            in_flight: list[asyncio.Future[object]] = []
            while True:
                elapsed = time.monotonic() - start
                due = int(elapsed * opts.rate)
                if opts.events is not None:
                    due = min(due, opts.events)
                now_ms = _now_ms()
                acked_before = len(in_flight)
                browser: list[bytes] = []
                for e in self.funnel.take(due - sent, now_ms):
                    if through_edge(e):
                        browser.append(e.value)
                    else:
                        in_flight.append(await producer.send(s.topic_raw, e.value, key=e.key))
                sent = due
                for i in range(0, len(browser), EDGE_BATCH):  # a slow tick catches up
                    await self._post(http, browser[i:i + EDGE_BATCH])
                # Last slice's deliveries: awaited here, so a broker that stops acking stalls
                # the traffic instead of growing an unbounded buffer.
                await asyncio.gather(*in_flight[:acked_before])
                st.produced += acked_before
                del in_flight[:acked_before]
                if opts.events is not None and sent >= opts.events:
                    break
                if (opts.duration is not None and elapsed >= opts.duration) or self._stop.is_set():
                    break
                await asyncio.sleep(TICK_S)
            await asyncio.gather(*in_flight)
            st.produced += len(in_flight)
        finally:
            await http.close()
            await producer.stop()

    async def _post(self, http: aiohttp.ClientSession, values: list[bytes]) -> None:
        """Browser events go through the ingest edge, as a site's tracker would send them,
        and count as produced once the edge answers (after the broker's acks)."""
        assert self.edge is not None
        body = b"[" + b",".join(values) + b"]"
        for _ in range(10):
            async with http.post(self.edge.url + "/v1/events", data=body) as r:
                answer = await r.json()
                if r.status in (429, 503):  # back-pressure: wait as told, send the same again
                    await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                    continue
                accepted = int(answer.get("accepted", 0)) if r.status == 200 else 0
                self.state.produced += accepted
                self.state.via_edge += accepted
                if accepted != len(values):
                    raise WorkerDied(f"the ingest edge answered {r.status}: {answer}")
                return
        raise WorkerDied("the ingest edge kept refusing (429/503)")

    # --- observing -------------------------------------------------------------------

    async def _read_loop(self, reader: TopicReader) -> None:
        while self._reading:
            try:
                self._take(await reader.drain(timeout=5.0))
            except TimeoutError:  # traffic outpaced one drain: keep what arrived
                self._take(reader.records)
            await asyncio.sleep(0.2)

    def _take(self, records: dict[str, list[Record]]) -> None:
        self.state.tally.add_all(records)
        for recs in records.values():
            recs.clear()  # counted: only the tally's figures are kept, for any run length

    async def _scrape_loop(self) -> None:
        while True:
            await self._scrape()
            await asyncio.sleep(SCRAPE_S)

    async def _scrape(self) -> None:
        worker = self.worker
        if worker is None or not worker.alive():
            return
        try:
            samples = await asyncio.to_thread(worker.metrics)
        except OSError:
            return  # web server not up yet, or going down
        m = WorkerMetrics.from_samples(samples)
        self.state.metrics = m
        self.state.policy_version = m.policy_version or self.state.policy_version

    async def _render_loop(self, render: Callable[[DemoState], None], every_s: float) -> None:
        while True:
            self.state.update_rates()
            render(self.state)
            await asyncio.sleep(every_s)

    def _settled(self) -> bool:
        st, m, t = self.state, self.state.metrics, self.state.tally
        return (
            m.consumed >= st.produced
            and m.consumed == m.unique + m.dead + m.duplicates
            and t.counts["raw"] >= st.produced
            and t.counts["dlq"] == m.dead
            and t.destinations == m.routed
        )

    async def _settle(self) -> None:
        """Until the worker has routed everything produced and the reader has seen it."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not self._settled():
            if self._abort.is_set():
                return
            if time.monotonic() > deadline:
                log.warning("not settled after %.0fs", SETTLE_TIMEOUT_S)
                return
            if self.worker is not None and not self.worker.alive():
                raise WorkerDied(f"worker exited with code {returncode(self.worker)}")
            await asyncio.sleep(0.2)
            await self._scrape()

    # --- stopping --------------------------------------------------------------------

    async def _stop_worker(self) -> None:
        worker = self.worker
        if worker is None or not worker.alive():
            return
        timeout = 3.0 if self._abort.is_set() else WORKER_STOP_TIMEOUT_S
        try:
            code = await asyncio.to_thread(worker.terminate, timeout)
        except subprocess.TimeoutExpired:  # its uncommitted batch would replay next run
            worker.kill()
            raise WorkerDied(f"worker did not stop within {timeout:.0f}s of SIGTERM") from None
        if code != 0:
            self.state.worker_log_tail = worker.log()[-20000:]
            raise WorkerDied(f"worker exited with code {returncode(worker)} on SIGTERM")

    async def _shutdown(self) -> None:
        """Whatever happened: worker first (SIGTERM, then SIGKILL), then our broker."""
        if self.signals is not None:
            await asyncio.to_thread(self.signals.stop)
        worker = self.worker
        if worker is not None and worker.alive():
            try:
                await asyncio.to_thread(worker.terminate, 3.0 if self._abort.is_set() else 10.0)
            except subprocess.TimeoutExpired:
                worker.kill()
        if worker is not None and self.state.error and self.state.worker_log_tail is None:
            self.state.worker_log_tail = worker.log()[-20000:]
        if self.edge is not None and self.edge.proc is not None:
            try:
                await asyncio.to_thread(self.edge.terminate, 5.0)
            except subprocess.TimeoutExpired:
                self.edge.kill()
        if self.broker is not None:
            self.broker.stop()


def through_edge(e: Emitted) -> bool:
    """Browser events travel over HTTP through the ingest edge, as a site's tracker sends
    them; server events and the malformed records go straight to Kafka (the edge would
    refuse the malformed ones itself, and the demo shows the worker dead-lettering them)."""
    return e.kind != "malformed" and b'"source":"browser"' in e.value


def _now_ms() -> int:
    return int(time.time() * 1000)
