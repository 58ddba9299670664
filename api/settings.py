"""Settings, read only by entry points (EVIDENCE_ prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting is documented in the README (a test checks it)."""

    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    home: Path = Path("./evidence-data")
    """Folder holding the database, objects and signing key."""
    database_url: str | None = None
    """SQLAlchemy URL; default sqlite:///$EVIDENCE_HOME/evidence.db."""
    log_origin: str | None = None
    """Checkpoint origin line; default: the one `evidence init` wrote."""
    station_tz: str | None = None
    """IANA time zone of the recorders' clocks (e.g. Asia/Shanghai); default: the system's."""
    retention_days: int = 183
    """Retention of footage not attached to a case, in days (at least six months)."""
