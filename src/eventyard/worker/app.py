"""The faust frame: App lifecycle, signal handling, web server, and the routing Service.

faust runs *no Kafka client of its own* here (BootStrategy with enable_kafka=False): an
agent costs many times the CPU per event of a bare aiokafka loop, so the hot path is
`Pipeline`, a batch
loop on aiokafka run as a mode Service in the app's service tree. Without faust's consumer
nothing joins the worker's group but the pipeline, and no faust topics are created.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path

import faust
import mode
from aiokafka.admin import AIOKafkaAdminClient
from faust.app.base import BootStrategy

from eventyard.kafka import clients as kafka
from eventyard.kafka.topics import ensure_topics
from eventyard.settings import Settings
from eventyard.telemetry import Telemetry
from eventyard.worker import http, log_limit
from eventyard.worker.loop import Pipeline
from eventyard.worker.policy_watch import PolicyWatcher
from eventyard.worker.topic_guard import (
    EXIT_CODE,
    BrokerLost,
    Counts,
    TopicGuard,
    describe_counts,
)

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 60.0


class FrameOnly(BootStrategy):
    """Web, sensors and our services; no faust consumer, producer, agents or tables."""

    enable_kafka = False


class WorkerApp(faust.App):
    BootStrategy = FrameOnly


class RouterService(mode.Service):
    """Creates topics, starts the pipeline's clients, runs its loop, and stops it cleanly."""

    def __init__(self, pipeline: Pipeline, watcher: PolicyWatcher) -> None:
        self.pipeline = pipeline
        self.watcher = watcher
        self._admin: AIOKafkaAdminClient | None = None  # built in on_start: needs the loop
        self.guard = TopicGuard(
            self._partition_counts,
            pipeline.settings.all_topics(),
            set_up=self._broker_up,
            down_after_s=pipeline.settings.broker_down_after_s,
        )
        super().__init__()

    async def on_start(self) -> None:
        s = self.pipeline.settings
        log.info(
            "worker group=%s policy=%s guarantee=%s bootstrap=%s",
            s.group_id, self.pipeline.policy.current.version, s.processing_guarantee,
            s.bootstrap_servers,
        )
        for result in await ensure_topics(self.pipeline.settings):
            if result.created:
                log.info("created topic %s", result.topic)
        await self.pipeline.start()
        self._admin = kafka.admin(s)
        await self._admin.start()
        await self.guard.start()  # the partition counts the broker is held to
        log_limit.install()  # an outage must not write hundreds of client errors a second
        self.pipeline.gc.start()

    async def _partition_counts(self, topics: list[str]) -> Counts:
        assert self._admin is not None, "on_start first"
        return await describe_counts(self._admin, topics)

    def _broker_up(self, up: bool) -> None:
        telemetry = self.pipeline.telemetry
        telemetry.broker_up.set(1 if up else 0)
        # While the broker is away the last high watermark is stale: report no lag rather
        # than a frozen number.
        self.pipeline.lag.paused = not up
        if not up:
            telemetry.consumer_lag.clear()

    @mode.Service.task
    async def _guard_broker(self) -> None:
        try:
            await self.guard.run()
        except BrokerLost as exc:
            # One line, then out: routing on would be wrong (the dedup state went with
            # the topics), and a graceful stop would wait on a broker that lost the
            # batches. Uncommitted batches replay after the restart.
            log.error("%s", exc)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os._exit(EXIT_CODE)

    @mode.Service.task
    async def _route(self) -> None:
        await self.pipeline.run()

    @mode.Service.task
    async def _watch_policy(self) -> None:
        # Reloads compile off the event loop and swap the PolicyHolder between batches.
        await self.watcher.run()

    async def on_stop(self) -> None:
        # SIGTERM: stop fetching, let the in-flight batch publish and commit, then close.
        self.pipeline.request_stop()
        try:
            if self.pipeline.running:
                await asyncio.wait_for(self.pipeline.done.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            log.error("in-flight batch not done in %.0fs; it will be replayed", STOP_TIMEOUT_S)
        finally:
            await self.pipeline.close()
            if self._admin is not None:
                await self._admin.close()


def build_app(
    settings: Settings,
    telemetry: Telemetry,
    pipeline: Pipeline,
    watcher: PolicyWatcher,
    datadir: Path,
) -> faust.App:
    app = WorkerApp(
        f"{settings.group_id}-app",  # distinct from the pipeline's group in any case
        broker=f"kafka://{settings.bootstrap_servers.split(',')[0]}",
        store="memory://",
        datadir=str(datadir),
        web_enabled=True,
        web_bind=settings.metrics_host,
        web_port=settings.metrics_port,
        web_in_thread=False,
        broker_session_timeout=settings.session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.heartbeat_interval_ms / 1000,
    )
    router = RouterService(pipeline, watcher)

    def health() -> tuple[bool, str]:
        ok, detail = http.loop_health(
            lambda: pipeline.running, lambda: pipeline.last_progress, watcher.status
        )
        broker_ok, broker_detail = router.guard.health()
        return (ok and broker_ok), (detail if broker_ok else f"{broker_detail}\n{detail}")

    http.register(app, telemetry, health)
    app.add_dependency(router)
    return app


def temp_datadir() -> Path:
    # faust insists on a data directory; nothing of ours lives there.
    return Path(tempfile.mkdtemp(prefix="eventyard-faust-"))
