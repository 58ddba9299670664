"""Which signer signs the log's checkpoints: a key file (the embedded default) or a key in
a PKCS#11 token that cannot be copied out of it. python-pkcs11 is imported only when a
token is configured."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.pkcs11_signer import Pkcs11Signer


@dataclass(frozen=True)
class Pkcs11Setup:
    """Where the key is: the vendor's module, the token's label, the key's label, the PIN."""

    module: Path
    token: str
    key_label: str
    pin: str = field(repr=False)

    def describe(self) -> str:
        return f"PKCS#11 token {self.token!r}, key {self.key_label!r} ({self.module})"


_SIGNERS: dict[tuple[Pkcs11Setup, str], Pkcs11Signer] = {}  # one token session per key
_SIGNERS_LOCK = threading.Lock()


def token_signer(setup: Pkcs11Setup, name: str, *, create: bool = False) -> Pkcs11Signer:
    """The signer of key ``setup.key_label`` named ``name``; ``create`` makes the key pair
    in the token if it has none (``evidence init``)."""
    from api.pkcs11_signer import Pkcs11Signer

    with _SIGNERS_LOCK:
        signer = _SIGNERS.get((setup, name))
        if signer is None:
            signer = _SIGNERS[(setup, name)] = Pkcs11Signer(setup, name, create=create)
        return signer


def close_token_signers() -> None:
    """Close every token session this process opened (a test's teardown, shutdown)."""
    with _SIGNERS_LOCK:
        had = bool(_SIGNERS)
        _SIGNERS.clear()
    if had:
        from api.pkcs11_signer import close_sessions

        close_sessions()
