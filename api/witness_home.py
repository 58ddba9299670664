"""The witness's own home: its name and key, the logs it witnesses, its database.

It shares nothing with an evidence home: the body that runs it (the supervision platform)
keeps it on its own machine. ``witness.json`` names the logs (origin -> verifier key),
``witness.key`` (0600) holds the cosigning key, ``witness.db`` the latest checkpoint
cosigned per log and the refused requests kept as evidence.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from custody.cosignature import Cosigner
from custody.note import NoteError, Verifier
from custody.witness import Witness
from domain.errors import ConfigError
from domain.messages import msg
from storage.db import make_engine, sqlite_url

CONFIG = "witness.json"
KEY = "witness.key"


@dataclass(frozen=True)
class WitnessHome:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG

    def _config(self) -> dict[str, object]:
        try:
            loaded: dict[str, object] = json.loads(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(msg("{root} is not a witness home", root=self.root),
                              hint=msg("run `evidence witness init --name NAME` first")) from None
        return loaded

    def logs(self) -> dict[str, Verifier]:
        logs = self._config().get("logs", {})
        assert isinstance(logs, dict)
        return {origin: Verifier.from_vkey(str(vkey)) for origin, vkey in logs.items()}

    def add_log(self, vkey: str) -> str:
        try:
            verifier = Verifier.from_vkey(vkey)
        except NoteError as exc:
            raise ConfigError(msg("not a log verifier key: {reason}", reason=exc.message),
                              hint=msg("give the key `evidence log key` printed at the log")) from None
        config = self._config()
        logs = dict(config.get("logs", {}))  # type: ignore[call-overload]
        logs[verifier.name] = verifier.vkey()
        config["logs"] = logs
        self.config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return verifier.name

    def cosigner(self) -> Cosigner:
        try:
            return Cosigner.from_secret((self.root / KEY).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(msg("the witness key {value} is missing", value=self.root / KEY),
                              hint=msg("restore it from the witness's backup")) from None
        except (NoteError, ValueError) as exc:
            raise ConfigError(msg("{value} is not a witness key: {reason}", value=self.root / KEY,
                                  reason=exc),
                              hint=msg("restore it from the witness's backup")) from None

    def engine(self, database_url: str | None = None) -> Engine:
        return make_engine(database_url or sqlite_url(self.root / "witness.db"))

    def witness(self, engine: Engine) -> Witness:
        return Witness(engine, self.cosigner(), self.logs())


def init_witness(root: Path, name: str) -> WitnessHome:
    home = WitnessHome(root.resolve())
    if home.config_path.exists():
        return home
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    cosigner = Cosigner.generate(name)
    descriptor = os.open(root / KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
        key_file.write(cosigner.secret() + "\n")
    home.config_path.write_text(json.dumps({"name": name, "logs": {}}, indent=2) + "\n",
                                encoding="utf-8")
    return home
