"""The evidence home folder: layout, `init`, and opening its parts."""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from api.settings import Settings
from api.signing import Pkcs11Setup, token_signer
from cases.custody_index import refresh as refresh_event_index
from custody.log import CustodyLog
from custody.note import (
    Ed25519Signer,
    NoteError,
    Signer,
    Verifier,
    load_signer_key_file,
    write_signer_key_file,
)
from domain.errors import ConfigError
from domain.messages import msg
from storage.db import make_engine, migrate, sqlite_url
from storage.local import LocalObjectStore
from storage.objects import ObjectStore

CONFIG_FILE = "evidence.json"
KEY_FILE = "keys/log.key"
VKEY_FILE = "keys/log.vkey"
RECORDINGS_CACHE = "cache/recordings"  # joined recordings, rebuilt on demand (not evidence)
EXPORTS = "exports"  # case bundles built on the server, deleted after cases.export_jobs.KEEP


@dataclass(frozen=True)
class S3Target:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str


@dataclass(frozen=True)
class Home:
    root: Path
    database_url: str
    origin: str
    s3: S3Target | None = None
    key_file: Path | None = None  # the file signer's key, when not in keys/
    pkcs11: Pkcs11Setup | None = None  # the key is in a PKCS#11 token instead of a file

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def recordings_cache(self) -> Path:
        return self.root / RECORDINGS_CACHE

    @property
    def exports(self) -> Path:
        return self.root / EXPORTS

    @property
    def key_path(self) -> Path:
        return self.key_file or self.root / KEY_FILE

    @property
    def vkey_path(self) -> Path:
        return self.root / VKEY_FILE

    def object_store(self) -> ObjectStore:
        if self.s3 is None:
            return LocalObjectStore(self.objects)
        return _s3_store(self.s3)

    def engine(self) -> Engine:
        return _engine_for(self.database_url)

    def verifier(self) -> Verifier:
        """The log's verifier key; a missing or broken key file is a configuration error."""
        restore = msg("restore {path} from a backup, or write into it the key this office "
                      "published (`evidence log key` printed it); commands that take --vkey can be "
                      "given the key instead", path=self.vkey_path)
        try:
            text = self.vkey_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise ConfigError(msg("the log's verifier key {vkey_path} is missing", vkey_path=self.vkey_path),
                              hint=restore) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(msg("the log's verifier key {vkey_path} cannot be read: {reason}",
                                  vkey_path=self.vkey_path, reason=exc),
                              hint=msg("check its permissions, or {restore}", restore=restore)) from None
        try:
            return Verifier.from_vkey(text)
        except NoteError as exc:
            raise ConfigError(msg("{vkey_path} is not a verifier key: {reason}", vkey_path=self.vkey_path,
                                  reason=exc.message),
                              hint=restore) from None

    def describe_signer(self) -> str:
        """Which signer signs checkpoints, in words (`evidence init` prints it)."""
        if self.pkcs11 is not None:
            return f"{self.pkcs11.describe()}; the private key cannot be copied out of the token"
        return (f"key file {self.key_path}; anyone who can read this file can sign as this log "
                "(keep it mode 0600, or use an HSM: EVIDENCE_SIGNER=pkcs11)")

    def signer(self) -> Signer:
        """The log's signer: its key in the token, or its key file. A key that is missing,
        broken or not the one whose verifier key was published is a configuration error;
        it is never replaced."""
        if self.pkcs11 is not None:
            return self._token_signer()
        return self._file_signer()

    def _token_signer(self) -> Signer:
        assert self.pkcs11 is not None
        signer = token_signer(self.pkcs11, self.origin)
        if signer.verifier_key() != self.verifier().vkey():
            raise ConfigError(msg("the key {key_label!r} in token {token!r} is not the key of {vkey_path}",
                                  key_label=self.pkcs11.key_label, token=self.pkcs11.token,
                                  vkey_path=self.vkey_path),
                              hint=msg("point EVIDENCE_PKCS11_TOKEN and EVIDENCE_PKCS11_KEY_LABEL at the "
                                       "key that signed this log"))
        return signer

    def _file_signer(self) -> Ed25519Signer:
        restore = (f"restore {self.key_path} from this station's backup (mode 0600); a new key "
                   "would not match the verifier key this office published, so none is made")
        try:
            return load_signer_key_file(self.key_path)
        except ConfigError as exc:
            if not self.key_path.exists() and not self.key_path.is_symlink():
                raise ConfigError(msg("the log's signing key {key_path} is missing", key_path=self.key_path),
                                  hint=restore) from None
            if exc.hint:  # its mode lets others read it: the hint says what to do
                raise
            raise ConfigError(msg("the log's signing key {key_path} cannot be used: {reason}",
                                  key_path=self.key_path, reason=exc.message),
                              hint=msg("make it a regular file the station's user can "
                                                         "read, or {restore}", restore=restore)) from None
        except NoteError as exc:
            raise ConfigError(msg("{key_path} is not a signing key: {reason}", key_path=self.key_path,
                                  reason=exc.message),
                              hint=restore) from None

    def custody_log(self, engine: Engine | None = None) -> CustodyLog:
        return CustodyLog(engine or self.engine(), self.signer(), self.origin)


_ENGINES: dict[str, Engine] = {}  # one per database URL, shared by the homes of this process
_ENGINES_LOCK = threading.Lock()


def _engine_for(url: str) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    """Close the pooled connections of every engine homes opened in this process.

    The engines stay usable (they connect again when used); a test's teardown
    calls this so that no connection outlives the test that opened it.
    """
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
    for engine in engines:
        engine.dispose()


@functools.cache
def _s3_store(target: S3Target) -> ObjectStore:
    from storage.s3 import S3ObjectStore  # boto3 is only imported when S3 is configured

    store = S3ObjectStore.connect(target.endpoint, target.bucket, target.access_key,
                                  target.secret_key, target.region)
    store.ensure_bucket()
    return store


def _s3_target(settings: Settings) -> S3Target | None:
    if not settings.s3_endpoint:
        return None
    access = settings.s3_access_key or os.environ.get("AWS_ACCESS_KEY_ID")
    secret = settings.s3_secret_key or os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not access or not secret:
        raise ConfigError(msg("EVIDENCE_S3_ENDPOINT is set but no S3 credentials are"),
                          hint=msg("set EVIDENCE_S3_ACCESS_KEY and EVIDENCE_S3_SECRET_KEY"))
    return S3Target(settings.s3_endpoint, settings.s3_bucket, access, secret, settings.s3_region)


def default_origin() -> str:
    return f"evidence.local/{socket.gethostname().lower() or 'station'}/custody"


def init_home(settings: Settings, origin: str | None = None) -> tuple[Home, bool]:
    """Create the home, its key and database; returns (home, created)."""
    root = settings.home.resolve()
    config_path = root / CONFIG_FILE
    if config_path.exists():
        home = open_home(settings)
        migrate(home.engine())
        # the custody event index is rebuilt after an upgrade (migration 0014): here, once,
        # rather than in the first request that reads events
        refresh_event_index(home.engine())
        return home, False
    origin = origin or settings.log_origin or default_origin()
    (root / "objects").mkdir(parents=True, exist_ok=True)
    (root / "keys").mkdir(mode=0o700, exist_ok=True)
    setup = settings.pkcs11_setup()
    vkey = _token_key(setup, origin) if setup else _file_key(_key_file(settings, root) or root / KEY_FILE,
                                                              origin)
    vkey_path = root / VKEY_FILE
    if vkey_path.exists() and vkey_path.read_text(encoding="utf-8").strip() != vkey:
        raise ConfigError(msg("{vkey_path} holds another verifier key than the signer's",
                              vkey_path=vkey_path),
                          hint=msg("a half-made home: move it aside and run `evidence init` again"))
    vkey_path.write_text(vkey + "\n", encoding="utf-8")
    database_url = settings.database_url or sqlite_url(root / "evidence.db")
    engine = make_engine(database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()  # the home opens its own; this one's connection must not linger
    config_path.write_text(json.dumps({"origin": origin}, indent=2) + "\n", encoding="utf-8")
    return open_home(settings), True


def _file_key(key_path: Path, origin: str) -> str:
    if key_path.exists():
        return load_signer_key_file(key_path).verifier_key()
    signer = Ed25519Signer.generate(origin)
    key_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_signer_key_file(key_path, signer)
    return signer.verifier_key()


def _token_key(setup: Pkcs11Setup, origin: str) -> str:
    return token_signer(setup, origin, create=True).verifier_key()


def open_home(settings: Settings) -> Home:
    root = settings.home.resolve()
    config_path = root / CONFIG_FILE
    if not config_path.exists():
        raise ConfigError(msg("{root} is not an evidence home", root=root),
                          hint=msg("run `evidence init` first, or set EVIDENCE_HOME"))
    config = json.loads(config_path.read_text(encoding="utf-8"))
    origin = settings.log_origin or config["origin"]
    database_url = settings.database_url or sqlite_url(root / "evidence.db")
    return Home(root=root, database_url=database_url, origin=origin, s3=_s3_target(settings),
                key_file=_key_file(settings, root), pkcs11=settings.pkcs11_setup())


def _key_file(settings: Settings, root: Path) -> Path | None:
    """EVIDENCE_KEY_FILE, refused where footage and copies are kept or served from."""
    if settings.key_file is None:
        return None
    path = settings.key_file.resolve()
    for folder in (root / "objects", root / RECORDINGS_CACHE, root / EXPORTS):
        if path.is_relative_to(folder.resolve()):
            raise ConfigError(msg("EVIDENCE_KEY_FILE={path} is inside {folder}, where evidence is kept",
                                  path=path, folder=folder),
                              hint=msg("keep the signing key outside the object and footage folders, e.g. "
                                       "/etc/evidence/log.key"))
    return path
