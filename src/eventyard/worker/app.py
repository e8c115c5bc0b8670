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
import tempfile
from pathlib import Path

import faust
import mode
from faust.app.base import BootStrategy

from eventyard.kafka.topics import ensure_topics
from eventyard.settings import Settings
from eventyard.telemetry import Telemetry
from eventyard.worker import http
from eventyard.worker.loop import Pipeline
from eventyard.worker.policy_watch import PolicyWatcher

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
        self.pipeline.gc.start()

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
    http.register(
        app, telemetry,
        lambda: http.loop_health(
            lambda: pipeline.running, lambda: pipeline.last_progress, watcher.status
        ),
    )
    app.add_dependency(RouterService(pipeline, watcher))
    return app


def temp_datadir() -> Path:
    # faust insists on a data directory; nothing of ours lives there.
    return Path(tempfile.mkdtemp(prefix="eventyard-faust-"))
