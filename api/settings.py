"""Settings, read only by entry points (EVIDENCE_ prefix)."""

from __future__ import annotations

import socket
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cases.tables import DEFAULT_UNIT
from domain.errors import ConfigError
from domain.messages import msg

DEFAULT_PAGE_TIME_ZONE = "Asia/Shanghai"


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
    time_zone: str | None = None
    """IANA zone the web pages show and take times in; default EVIDENCE_STATION_TZ, else Asia/Shanghai."""
    s3_endpoint: str | None = None
    """S3 endpoint URL (Ceph RGW, MinIO, AWS); unset = the local object folder."""
    s3_bucket: str = "evidence"
    """Bucket with Object Lock; created with Object Lock on first use."""
    s3_access_key: str | None = None
    """S3 access key (or AWS_ACCESS_KEY_ID)."""
    s3_secret_key: str | None = None
    """S3 secret key (or AWS_SECRET_ACCESS_KEY)."""
    s3_region: str = "us-east-1"
    """S3 region name."""
    dock_retry_seconds: float = 1.0
    """First wait before retrying a dock when the store or database is down (doubles, max 60)."""
    dock_poll_seconds: float = 1.0
    """How often `evidence dock` looks for recorders under its mount roots."""
    dock_volume_timeout: float = 60.0
    """Seconds to wait for a recorder's volume after the SDK switched it to mass storage."""
    dock_parallel: int = 8
    """Recorders docked at once (at least 8)."""
    dock_wipe: bool = False
    """Default wipe policy of `evidence dock` (--wipe / --keep override it)."""
    recorder_sdk: str | None = None
    """Path of the recorder vendor's GA/T 947.4 SDK library (for `evidence dock --sdk-id`)."""
    recorder_password: str | None = None
    """The station's recorder password, given to the GA/T 947.4 SDK."""
    retention_days: int = 183
    """Retention of footage not attached to a case, in days (at least six months)."""
    token_days: int = 90
    """Days a bearer token works after it is issued or renewed (`evidence user rotate`)."""
    station_unit: str = DEFAULT_UNIT
    """Code of the station's unit: footage of a recorder the registry gives no unit belongs to it."""
    station_name: str = Field(default_factory=socket.gethostname)
    """Name of this docking station on the station screen (default: the host name)."""
    trusted_vkey: str | None = None
    """Verifier key `evidence verify-bundle` trusts when no --vkey is given (the agency's key)."""
    signin_max_failures: int = 5
    """Wrong passwords in a row that lock an account."""
    signin_lock_minutes: int = 15
    """How long a locked account stays locked (an admin can unlock it sooner)."""
    session_idle_minutes: int = 30
    """A browser session ends after this long without a request."""
    session_hours: int = 12
    """A browser session ends this long after sign-in, however it is used."""
    cookie_secure: bool = False
    """Mark the session cookie Secure on every response (set it behind a TLS proxy)."""
    oidc_issuer: str | None = None
    """Single sign-on: the OpenID provider's issuer URL (unset: no single sign-on)."""
    oidc_client_id: str | None = None
    """Single sign-on: this server's client id at the provider."""
    oidc_client_secret: str | None = None
    """Single sign-on: this server's client secret at the provider."""
    oidc_claim: str = "preferred_username"
    """Single sign-on: the ID token (or userinfo) claim whose value is the local user name."""
    oidc_redirect_url: str | None = None
    """Single sign-on: the callback URL registered at the provider (default: from the request)."""

    def page_time_zone(self) -> str:
        """The zone the pages use until a person picks another: EVIDENCE_TIME_ZONE, else the
        station's (EVIDENCE_STATION_TZ), else Asia/Shanghai. An unknown name is refused."""
        name, variable = ((self.time_zone, "EVIDENCE_TIME_ZONE") if self.time_zone
                          else (self.station_tz, "EVIDENCE_STATION_TZ") if self.station_tz
                          else (DEFAULT_PAGE_TIME_ZONE, None))
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(msg("unknown time zone {variable}={name!r}", variable=variable, name=name),
                              hint=msg("use an IANA zone name such as Asia/Shanghai or Asia/Urumqi")) from exc
        return name
