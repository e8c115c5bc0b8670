"""Every knob of a worker, read from `EVENTYARD_*` environment variables.

pydantic-settings gives typed parsing, clear errors naming the variable, and SecretStr so
secrets never reach a log line or a repr.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTYARD_", extra="ignore", frozen=True)

    # --- Kafka connection -------------------------------------------------------------
    bootstrap_servers: str = Field("localhost:9092", description="Comma-separated host:port list.")
    group_id: str = Field(
        "eventyard", description="Consumer group of the workers (faust app id: GROUP_ID-app)."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = Field(None, description="Read the SASL password from a file.")
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    # --- topics -----------------------------------------------------------------------
    topic_raw: str = "eventyard.raw"
    topic_ads: str = "eventyard.ads"
    topic_crm: str = "eventyard.crm"
    topic_warehouse: str = "eventyard.warehouse"
    topic_dlq: str = "eventyard.dlq"
    topic_keyed: str = Field(
        "eventyard.keyed",
        description="Internal: valid events re-keyed by eventId so both copies of a duplicate "
        "meet in one partition, whatever partition the producer chose.",
    )
    topic_dedup: str = Field("eventyard.dedup", description="Internal: dedup state changelog.")
    topic_duplicates: str = Field(
        "eventyard.duplicates",
        description="One small record per duplicate dropped (eventId and the copy's raw "
        "coordinates, no payload), for `eventyard trace`.",
    )
    duplicates_retention_ms: int = Field(
        7 * 86_400_000, ge=60_000,
        description="How long duplicate records are kept (topic retention.ms, set at creation).",
    )
    topic_signals_state: str = Field(
        "eventyard.signals-state",
        description="Internal: signal window state changelog, one partition per warehouse "
        "partition (compacted).",
    )
    partitions: int = Field(8, ge=1, description="Partitions of every topic the worker creates.")
    replication_factor: int = Field(1, ge=1)

    # --- routing ----------------------------------------------------------------------
    policy_path: Path = Path("config/routing.yaml")
    max_event_bytes: int = Field(65536, ge=256, description="Larger raw records are dead-lettered.")
    hmac_key: SecretStr | None = Field(None, description="Key for warehouse pii: hmac.")
    hmac_key_file: Path | None = None
    ads_key_secret: SecretStr | None = Field(
        None, description="Key of the keyed hash that ads records are keyed by (falls back to "
        "the HMAC key, then a public default)."
    )
    ads_key_secret_file: Path | None = None

    # --- runtime ----------------------------------------------------------------------
    metrics_port: int = Field(9108, ge=1, le=65535, description="HTTP port of /metrics, /healthz.")
    metrics_host: str = "0.0.0.0"
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    batch_max_records: int = Field(5000, ge=1)
    # Each event may cross two hops, and Tansu holds a fetch for the whole wait even when
    # records arrive meanwhile, so the wait is a latency floor per hop; at 10 ms an idle
    # worker makes ~100 empty fetches/s, which costs next to nothing.
    fetch_max_wait_ms: int = Field(
        10, ge=0, le=10000, description="Longest a fetch waits for data (latency per hop)."
    )
    gc_full_interval_s: float = Field(
        300.0, ge=1.0, description="Seconds between full garbage collections, run between "
        "batches (worker/gcpolicy.py); each pauses the loop ~0.1-0.3 s."
    )
    session_timeout_ms: int = Field(6000, ge=1000, description="Short: see docs/broker.md §2.")
    heartbeat_interval_ms: int = Field(1000, ge=100)
    fetch_timeout_ms: int = Field(
        200, ge=10, description="Longest wait for a batch; also bounds how long a rebalance "
        "or a shutdown waits for the loop to notice it."
    )
    broker_down_after_s: float = Field(
        10.0, ge=1.0, description="/healthz fails once the broker has been unreachable this "
        "long (worker/topic_guard.py checks it every 2 s)."
    )
    transactional_id: str | None = Field(
        None,
        description="exactly_once only: transactional id of this worker; keep it stable across "
        "restarts of one instance (default: GROUP_ID-HOSTNAME) so a restart fences its zombie.",
    )
    producer_linger_ms: int = Field(5, ge=0)
    producer_max_batch_bytes: int = Field(262144, ge=16384)
    producer_compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"
    log_level: str = "INFO"

    # --- signals processor (eventyard signals) ------------------------------------------
    signals_group_id: str = Field(
        "eventyard-signals", description="Consumer group of the signals processors."
    )
    signals_metrics_port: int = Field(
        9109, ge=1, le=65535, description="HTTP port of the signals processor's /metrics."
    )

    @model_validator(mode="after")
    def _read_secret_files(self) -> Settings:
        # Files win over nothing but never over an explicit value: Kubernetes mounts
        # secrets as files, and an explicit env var is the operator's override.
        if self.sasl_password is None and self.sasl_password_file is not None:
            secret = _read_secret("EVENTYARD_SASL_PASSWORD_FILE", self.sasl_password_file)
            object.__setattr__(self, "sasl_password", secret)
        if self.hmac_key is None and self.hmac_key_file is not None:
            object.__setattr__(
                self, "hmac_key", _read_secret("EVENTYARD_HMAC_KEY_FILE", self.hmac_key_file)
            )
        if self.security_protocol.startswith("SASL") and self.sasl_mechanism is None:
            raise ValueError("EVENTYARD_SASL_MECHANISM is required with a SASL security protocol")
        return self

    @cached_property
    def output_topics(self) -> dict[str, str]:
        """Destination class -> output topic (computed once: the hot path reads it per record)."""
        return {"ads": self.topic_ads, "crm": self.topic_crm, "warehouse": self.topic_warehouse}

    def output_topic(self, klass: str) -> str:
        return self.output_topics[klass]

    def all_topics(self) -> list[str]:
        return [
            self.topic_raw,
            self.topic_keyed,
            self.topic_ads,
            self.topic_crm,
            self.topic_warehouse,
            self.topic_dlq,
            self.topic_dedup,
            self.topic_duplicates,
            self.topic_signals_state,
        ]


def _read_secret(variable: str, path: Path) -> SecretStr:
    try:
        return SecretStr(path.read_text().strip())
    except OSError as exc:
        raise ValueError(f"{variable}: cannot read {path}: {exc.strerror}") from None


def settings_with(**flags: Any) -> Settings:
    """Settings from the environment, with the command-line flags that were given on top
    (a flag left at None means "not given", so the EVENTYARD_* value stands). A bad value
    is a ConfigError naming the variable; settings_load.load_settings also leaves alone
    the settings a command does not use."""
    from eventyard.settings_load import load_settings

    return load_settings(None, **flags)
