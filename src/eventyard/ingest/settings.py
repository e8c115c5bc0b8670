"""Every knob of the ingest edge, read from `EVENTYARD_INGEST_*` environment variables.

Kept apart from the worker's `Settings` (which still provides the Kafka connection, TLS/SASL
and topic names): an edge and a worker share a cluster, not their HTTP settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTYARD_INGEST_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the HTTP server binds.")
    port: int = Field(8088, ge=1, le=65535, description="Port of every endpoint.")
    keys: SecretStr | None = Field(
        None,
        description="Write keys, comma-separated: `KEY` for a server key, `KEY:browser` for a "
        "key a web page may use. Never logged.",
    )
    keys_file: Path | None = Field(
        None, description="Read write keys from this file (one per line, # comments); used "
        "only when EVENTYARD_INGEST_KEYS is unset."
    )
    max_body_bytes: int = Field(
        1048576, ge=1024, description="Largest request body, after gzip decoding (413 above)."
    )
    max_events: int = Field(500, ge=1, description="Most events in one request (413 above).")
    ack_timeout_s: float = Field(
        10.0, gt=0, description="Longest wait for the broker's acknowledgement (503 after)."
    )
    retry_after_s: int = Field(
        5, ge=1, description="Retry-After of a 503 when the broker did not acknowledge in time."
    )
    cors_origins: str | None = Field(
        None, description="Comma-separated origins a web page may send from (`*`: any origin)."
    )
    ip_rate: float = Field(20.0, gt=0, description="Requests per second per client IP.")
    ip_burst: int = Field(40, ge=1, description="Burst of the per-IP token bucket.")
    key_rate: float = Field(200.0, gt=0, description="Requests per second per write key.")
    key_burst: int = Field(400, ge=1, description="Burst of the per-key token bucket.")
    trusted_proxies: int = Field(
        0, ge=0, description="Load balancers in front whose X-Forwarded-For entry is trusted "
        "(0: the client IP is the TCP peer)."
    )

    @model_validator(mode="after")
    def _read_keys_file(self) -> IngestSettings:
        if self.keys is None and self.keys_file is not None:
            object.__setattr__(self, "keys", SecretStr(self.keys_file.read_text()))
        return self

    @property
    def origins(self) -> frozenset[str]:
        spec = self.cors_origins or ""
        return frozenset(o.strip().rstrip("/") for o in spec.split(",") if o.strip())
