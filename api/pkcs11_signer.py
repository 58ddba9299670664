"""The checkpoint signer in a PKCS#11 token (an HSM, a smart card, SoftHSM2 in the tests).

The Ed25519 private key is made inside the token as a token object that is sensitive and
never extractable, so no file on the machine ever holds it: whoever has the PIN can sign,
nobody can copy the key. python-pkcs11's errors are translated here, at the adapter, into
``ConfigError`` that say what to do.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from api.signing import Pkcs11Setup
from custody.note import Verifier, compute_key_id
from domain.errors import ConfigError
from domain.messages import msg

ED25519_OID = "1.3.101.112"  # RFC 8410 id-Ed25519
_LIBRARIES: dict[Path, Any] = {}  # a PKCS#11 module is initialised once per process
_LIBRARIES_LOCK = threading.Lock()


class _TokenSession:
    """The process's one logged-in session on a token (PKCS#11 logs in per application,
    not per session), shared by every key on it; one call at a time."""

    def __init__(self, session: Any, pin: str) -> None:
        self.session = session
        self.pin = pin
        self.lock = threading.Lock()


_SESSIONS: dict[tuple[Path, str], _TokenSession] = {}


def _library(module: Path) -> Any:
    with _LIBRARIES_LOCK:
        lib = _LIBRARIES.get(module)
        if lib is None:
            if not module.is_file():
                raise ConfigError(msg("the PKCS#11 module {module} does not exist", module=module),
                                  hint=msg("set EVIDENCE_PKCS11_MODULE to the HSM vendor's library "
                                           "(SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)"))
            try:
                lib = _LIBRARIES[module] = pkcs11.lib(str(module))
            except (RuntimeError, OSError, pkcs11.PKCS11Error) as exc:
                raise ConfigError(msg("the PKCS#11 module {module} cannot be loaded: {reason!r}",
                                      module=module, reason=exc),
                                  hint=msg("check EVIDENCE_PKCS11_MODULE names the HSM vendor's library "
                                           "for this machine")) from None
        return lib


def _public_bytes(public_key: Any) -> bytes:
    """The 32-byte Ed25519 point; tokens give it DER-wrapped (04 20 ...) or raw."""
    point = bytes(public_key[Attribute.EC_POINT])
    if len(point) == 34 and point[:2] == b"\x04\x20":
        return point[2:]
    if len(point) == 32:
        return point
    raise ConfigError(msg("the token's public key is not an Ed25519 key"),
                      hint=msg("give EVIDENCE_PKCS11_KEY_LABEL the label of an Ed25519 key pair"))


class Pkcs11Signer:
    """Signs note text in the token. One session per signer, one signature at a time."""

    def __init__(self, setup: Pkcs11Setup, name: str, *, create: bool = False) -> None:
        self._setup = setup
        self._name = name
        self._token = self._open()
        self._session = self._token.session
        with self._token.lock:
            self._private, public = self._find_or_create(create)
            self._public = _public_bytes(public)
        self._key_id = compute_key_id(name, self._public)

    def _open(self) -> _TokenSession:
        with _LIBRARIES_LOCK:
            opened = _SESSIONS.get((self._setup.module, self._setup.token))
        if opened is not None:
            if opened.pin != self._setup.pin:
                raise ConfigError(msg("PKCS#11 token {token!r} is already open in this process with "
                                      "another PIN", token=self._setup.token),
                                  hint=msg("give every key on one token the "
                                                                       "same EVIDENCE_PKCS11_PIN_FILE"))
            return opened
        session = self._login()
        with _LIBRARIES_LOCK:
            opened = _SESSIONS.setdefault((self._setup.module, self._setup.token),
                                          _TokenSession(session, self._setup.pin))
        if opened.session is not session:  # another thread logged in first
            session.close()
        return opened

    def _login(self) -> Any:
        lib = _library(self._setup.module)
        try:
            token = lib.get_token(token_label=self._setup.token)
        except pkcs11.NoSuchToken:
            raise ConfigError(msg("no PKCS#11 token is labelled {token!r} in {module}",
                                  token=self._setup.token, module=self._setup.module),
                              hint=msg("check EVIDENCE_PKCS11_TOKEN and that the HSM is connected")) from None
        except pkcs11.MultipleTokensReturned:
            raise ConfigError(msg("several PKCS#11 tokens are labelled {token!r}", token=self._setup.token),
                              hint=msg("give each token its own label")) from None
        try:
            return token.open(user_pin=self._setup.pin, rw=True)
        except pkcs11.PinIncorrect:
            raise ConfigError(msg("the PIN of PKCS#11 token {token!r} is wrong", token=self._setup.token),
                              hint=msg("check EVIDENCE_PKCS11_PIN_FILE; repeated wrong PINs "
                                       "lock the token")) from None
        except pkcs11.PinLocked:
            raise ConfigError(msg("PKCS#11 token {token!r} is locked", token=self._setup.token),
                              hint=msg("its security officer must unlock it")) from None
        except pkcs11.PKCS11Error as exc:
            raise ConfigError(msg("PKCS#11 token {token!r} cannot be opened: {name}",
                                  token=self._setup.token, name=type(exc).__name__),
                              hint=msg("check the HSM and its PIN")) from None

    def _find(self, object_class: ObjectClass) -> Any | None:
        found = list(self._session.get_objects({Attribute.CLASS: object_class,
                                                 Attribute.LABEL: self._setup.key_label}))
        if len(found) > 1:
            raise ConfigError(msg("several keys in token {token!r} are labelled {key_label!r}",
                                  token=self._setup.token, key_label=self._setup.key_label),
                              hint=msg("give the log's key its own label"))
        return found[0] if found else None

    def _find_or_create(self, create: bool) -> tuple[Any, Any]:
        private, public = self._find(ObjectClass.PRIVATE_KEY), self._find(ObjectClass.PUBLIC_KEY)
        if private is not None and public is not None:
            if private[Attribute.EXTRACTABLE] or not private[Attribute.SENSITIVE]:
                raise ConfigError(msg("the key {key_label!r} in token {token!r} can be copied out of the "
                                      "token", key_label=self._setup.key_label, token=self._setup.token),
                                  hint=msg("make a new key pair with `evidence init` under another label; "
                                           "a key that may be extracted is refused"))
            return private, public
        if private is not None or public is not None or not create:
            raise ConfigError(msg("token {token!r} holds no key pair labelled {key_label!r}",
                                  token=self._setup.token, key_label=self._setup.key_label),
                              hint=msg("`evidence init` makes one in a new home; for an existing home, the "
                                       "key that signed its log is needed"))
        try:
            params = self._session.create_domain_parameters(
                KeyType.EC_EDWARDS,
                {Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)}, local=True)
            public, private = params.generate_keypair(
                store=True, label=self._setup.key_label,
                private_template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True,
                                  Attribute.SIGN: True, Attribute.TOKEN: True},
                public_template={Attribute.VERIFY: True, Attribute.TOKEN: True})
        except pkcs11.PKCS11Error as exc:
            raise ConfigError(msg("token {token!r} cannot make an Ed25519 key: {name}",
                                  token=self._setup.token, name=type(exc).__name__),
                              hint=msg("the HSM must support CKM_EC_EDWARDS_KEY_PAIR_GEN")) from None
        return private, public

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        with self._token.lock:
            try:
                return bytes(self._private.sign(message, mechanism=Mechanism.EDDSA))
            except pkcs11.PKCS11Error as exc:
                raise ConfigError(msg("PKCS#11 token {token!r} refused to sign: {name}",
                                      token=self._setup.token, name=type(exc).__name__),
                                  hint=msg("check the HSM is connected")) from None

    def verifier(self) -> Verifier:
        return Verifier.from_public_key(self._name, self._public)

    def verifier_key(self) -> str:
        return self.verifier().vkey()

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self._name!r}, {self._setup.describe()})"


def close_sessions() -> None:
    """Log out of every token this process opened; signers made before are unusable after."""
    with _LIBRARIES_LOCK:
        opened = list(_SESSIONS.values())
        _SESSIONS.clear()
    for token in opened:
        with token.lock:
            token.session.close()
