"""Settings, read only by entry points (EVIDENCE_ prefix)."""

from __future__ import annotations

import socket
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.signing import Pkcs11Setup
from cases.redactions import RedactionTools
from cases.tables import DEFAULT_UNIT
from custody.cosigned import WitnessQuorum
from domain.errors import ConfigError
from domain.messages import listing, msg
from media.content_credentials import SigningCredentials

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
    review_days: int = Field(default=5, ge=1, le=60)
    """Working days a legal reviewer has for an opinion (on the official holiday calendar)."""
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
    workers: int = 1
    """`evidence serve` worker processes (one per CPU core; rate limits are per worker)."""
    access_log: bool = True
    """`evidence serve` writes a line per request to its standard output."""
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
    tsa_url: str | None = None
    """RFC 3161 time-stamping authority: new checkpoints get its tokens (unset: none)."""
    tsa_roots: Path | None = None
    """PEM file of the CA certificate(s) a TSA token must chain to (kept and checked only then)."""
    tsa_seconds: float = 10.0
    """How often new checkpoints are sent to the TSA (a failure waits longer, up to 10 min)."""
    witnesses_file: Path | None = None
    """File of the witnesses asked to cosign checkpoints: one `URL VKEY` per line."""
    witness_seconds: float = 5.0
    """How often new checkpoints go to the witnesses (batched; appends never wait for them)."""
    witness_quorum: int | None = Field(default=None, ge=1)
    """Witnesses (of EVIDENCE_WITNESSES_FILE) that must cosign before a legal-review
    submission counts a cited item's event as witnessed (default: all of them)."""

    def review_witnesses(self) -> WitnessQuorum | None:
        """The witnesses a legal-review submission waits for (None: the log is not witnessed)."""
        if self.witnesses_file is None:
            return None
        from api.witnessing import load_peers

        keys = tuple(peer.key for peer in load_peers(self.witnesses_file))
        quorum = len(keys) if self.witness_quorum is None else self.witness_quorum
        if keys and not 1 <= quorum <= len(keys):
            raise ConfigError(msg("EVIDENCE_WITNESS_QUORUM {quorum} is not between 1 and the "
                                  "{count} witnesses listed", quorum=quorum, count=len(keys)),
                              hint=msg("name at most as many as EVIDENCE_WITNESSES_FILE lists"))
        return WitnessQuorum(keys, quorum) if keys else None
    signer: str = "file"
    """Who signs checkpoints: `file` (a key file, the embedded default) or `pkcs11` (an HSM)."""
    key_file: Path | None = None
    """The file signer's key; default $EVIDENCE_HOME/keys/log.key (never under objects/)."""
    pkcs11_module: Path | None = None
    """The HSM vendor's PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)."""
    pkcs11_token: str | None = None
    """Label of the PKCS#11 token that holds the log's key."""
    pkcs11_key_label: str = "evidence-log"
    """Label of the log's Ed25519 key pair in the token (`evidence init` makes it)."""
    pkcs11_pin_file: Path | None = None
    """File holding the token's user PIN (mode 0600, readable by the service's user only)."""

    c2pa_cert: Path | None = None
    """PEM file of the C2PA signing certificate chain (the signer's first) redacted copies are
    signed with (unset: no redacted copies are made)."""
    c2pa_key: Path | None = None
    """PEM file of that certificate's EC P-256 private key (mode 0600)."""
    c2pa_tsa_url: str | None = None
    """RFC 3161 time-stamping authority for the C2PA signatures (unset: none)."""
    face_model: Path | None = None
    """The face detector's model (default: the one scripts/install-face-model installed)."""

    def redaction_tools(self) -> RedactionTools:
        """The face model and C2PA credentials redaction uses; a half-set pair is refused."""
        if (self.c2pa_cert is None) != (self.c2pa_key is None):
            raise ConfigError(msg("set both EVIDENCE_C2PA_CERT and EVIDENCE_C2PA_KEY, or neither"),
                              hint=msg("the certificate chain and its private key, PEM files"))
        credentials = None
        if self.c2pa_cert is not None and self.c2pa_key is not None:
            try:
                credentials = SigningCredentials(self.c2pa_cert.read_bytes(),
                                                 self.c2pa_key.read_bytes(), self.c2pa_tsa_url)
            except OSError as exc:
                raise ConfigError(msg("the C2PA certificate or key cannot be read: {reason}",
                                      reason=exc),
                                  hint=msg("make them files the service's user can read")) from None
        return RedactionTools(credentials, self.face_model)

    def pkcs11_setup(self) -> Pkcs11Setup | None:
        """The HSM signer's setup, or None for the file signer; anything missing is refused."""
        if self.signer == "file":
            return None
        if self.signer != "pkcs11":
            raise ConfigError(msg("unknown EVIDENCE_SIGNER={signer!r}", signer=self.signer),
                              hint=msg("use `file` (a key file) or `pkcs11` (an HSM)"))
        missing = [name for name, value in (("EVIDENCE_PKCS11_MODULE", self.pkcs11_module),
                                            ("EVIDENCE_PKCS11_TOKEN", self.pkcs11_token),
                                            ("EVIDENCE_PKCS11_PIN_FILE", self.pkcs11_pin_file))
                   if not value]
        if missing or self.pkcs11_module is None or self.pkcs11_token is None \
                or self.pkcs11_pin_file is None:
            raise ConfigError(msg("EVIDENCE_SIGNER=pkcs11 needs {missing}", missing=listing(missing)),
                              hint=msg("set them to the HSM's library, token label and a PIN file"))
        try:
            pin = self.pkcs11_pin_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(msg("the PIN file {pkcs11_pin_file} cannot be read: {reason}",
                                  pkcs11_pin_file=self.pkcs11_pin_file, reason=exc),
                              hint=msg("make it a file the service's user can read (mode 0600)")) from None
        if not pin:
            raise ConfigError(msg("the PIN file {pkcs11_pin_file} is empty",
                                  pkcs11_pin_file=self.pkcs11_pin_file),
                              hint=msg("write the token's user PIN into it"))
        return Pkcs11Setup(self.pkcs11_module, self.pkcs11_token, self.pkcs11_key_label, pin)

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
