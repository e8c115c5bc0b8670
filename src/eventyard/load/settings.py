"""`eventyard load` settings: EVENTYARD_LOAD_* variables, flags on top (commands/load.py).
The Kafka connection comes from the shared EVENTYARD_* settings (settings.py)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LoadSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTYARD_LOAD_", extra="ignore", frozen=True)

    to: str = Field("duckdb:eventyard.duckdb", description="duckdb:PATH or postgresql://…")
    group_id: str = Field("eventyard-loader", description="Consumer group of the loaders.")
    audit: bool = Field(False, description="Also load the ads and crm topics.")
    batch_records: int = Field(5000, ge=1, description="Write a batch at this many records…")
    batch_ms: int = Field(1000, ge=1, description="…or this long after its first record.")
    metrics_host: str = Field("127.0.0.1", description="Bind address of /metrics, /healthz.")
    metrics_port: int = Field(9110, ge=0, le=65535, description="0: no metrics server.")
