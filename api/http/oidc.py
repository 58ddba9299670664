"""OpenID Connect (authorization code flow with PKCE) against one provider, with authlib.

The provider's metadata comes from its discovery document, whose ``issuer`` must be the
configured one. An ID token is accepted only if its signature verifies with a key of the
provider's JWKS (refetched once for an unknown key id), it names the issuer (``iss``) and
this client (``aud``, ``azp``), it has not expired (``exp``, ``iat``) and it carries the
nonce of the request that started the sign-in. The claim that names the local user
(``OidcConfig.claim``) is read from the ID token, else from the userinfo answer for the
same subject. No user is ever created here: the claim must name an existing, active one.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from domain.errors import ConfigError, EvidenceError
from domain.messages import msg

TIMEOUT = 10.0  # seconds for each call to the provider
METADATA_TTL = 3600.0  # seconds a discovery document is reused
LEEWAY = 60  # seconds of clock difference allowed on exp and iat
SCOPE = "openid profile"


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    claim: str = "preferred_username"  # EVIDENCE_OIDC_CLAIM: its value is a local user's name
    redirect_url: str | None = None  # the callback as the provider knows it; None: from the request

    @classmethod
    def from_settings(cls, issuer: str | None, client_id: str | None, client_secret: str | None,
                      claim: str, redirect_url: str | None) -> OidcConfig | None:
        """None when single sign-on is not set up; a ConfigError when it is set up halfway
        or insecurely."""
        given = {"EVIDENCE_OIDC_ISSUER": issuer, "EVIDENCE_OIDC_CLIENT_ID": client_id,
                 "EVIDENCE_OIDC_CLIENT_SECRET": client_secret}
        if not any(given.values()):
            return None
        missing = [name for name, value in given.items() if not value]
        if missing:
            raise ConfigError(msg("single sign-on is set up halfway: {missing} missing",
                                  missing=', '.join(missing)),
                              hint=msg("set the issuer, client id and client secret the provider gave this "
                                       "server, or none of them"))
        assert issuer and client_id and client_secret
        for name, url in (("EVIDENCE_OIDC_ISSUER", issuer),
                          ("EVIDENCE_OIDC_REDIRECT_URL", redirect_url)):
            if url is not None and not _secure_url(url):
                raise ConfigError(msg("{name} {url!r} is not an https URL", name=name, url=url),
                                  hint=msg("use https (plain http only on a loopback address, for tests)"))
        if not claim:
            raise ConfigError(msg("EVIDENCE_OIDC_CLAIM is empty"),
                              hint=msg("name the ID token claim holding the local user name, e.g. "
                                       "preferred_username or sub"))
        return cls(issuer.rstrip("/"), client_id, client_secret, claim, redirect_url)


def _secure_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class OidcFailed(EvidenceError):
    """Single sign-on did not sign anyone in; ``status`` and ``code`` say how to answer."""

    def __init__(self, message: str, *, hint: str, status: int, code: str) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


def _unreachable(what: str) -> OidcFailed:
    return OidcFailed(msg("the single sign-on provider could not be reached ({what})", what=what),
                      hint=msg("try again later; if it keeps failing, tell the administrator"),
                      status=502, code="sso_unavailable")


def _unverified(why: str) -> OidcFailed:
    return OidcFailed(msg("the single sign-on provider's answer could not be verified ({why})", why=why),
                      hint=msg("start the sign-in again; if it keeps failing, tell the administrator"),
                      status=403, code="sso_refused")


@dataclass(frozen=True)
class Identity:
    """What a verified sign-in tells: the local name (the configured claim) and the subject."""

    name: str
    subject: str


class OidcClient:
    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: dict[str, Any] | None = None

    def _session(self, redirect_uri: str | None = None) -> OAuth2Session:
        return OAuth2Session(self.config.client_id, self.config.client_secret, scope=SCOPE,
                             redirect_uri=redirect_uri, code_challenge_method="S256",
                             default_timeout=TIMEOUT)

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=TIMEOUT)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise _unreachable(msg("{what}: {name}", what=what, name=type(exc).__name__)) from None
        if not isinstance(body, dict):
            raise _unreachable(msg("{what} is not a JSON object", what=what))
        return body

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL:
                return self._metadata
        found = self._get_json(self.config.issuer + "/.well-known/openid-configuration",
                               "discovery")
        if found.get("issuer") != self.config.issuer:
            raise OidcFailed(msg("the provider says its issuer is {get!r}, not {issuer!r}",
                                 get=found.get('issuer'), issuer=self.config.issuer),
                             hint=msg("set EVIDENCE_OIDC_ISSUER to the provider's exact issuer"),
                             status=502, code="sso_unavailable")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(found.get(key), str):
                raise _unreachable(msg("its discovery document has no {key}", key=key))
        with self._lock:
            self._metadata, self._metadata_at = found, time.monotonic()
        return found

    def _key_set(self, refresh: bool) -> KeySet:
        with self._lock:
            jwks = None if refresh else self._jwks
        if jwks is None:
            jwks = self._get_json(self.metadata()["jwks_uri"], "its keys")
            with self._lock:
                self._jwks = jwks
        try:
            return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _unverified(msg("its key set cannot be read: {name}", name=type(exc).__name__)) from None

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str,
                          code_verifier: str) -> str:
        url, _ = self._session(redirect_uri).create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, nonce=nonce,
            code_verifier=code_verifier)
        return str(url)

    def sign_in(self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str,
                now: float) -> Identity:
        """Exchange ``code`` and verify the ID token; the identity it proves."""
        metadata = self.metadata()
        try:
            token = self._session(redirect_uri).fetch_token(
                metadata["token_endpoint"], grant_type="authorization_code", code=code,
                code_verifier=code_verifier)
        except requests.RequestException as exc:
            raise _unreachable(msg("token endpoint: {name}", name=type(exc).__name__)) from None
        except Exception as exc:  # authlib's OAuthError and parse errors: the code was refused
            raise OidcFailed(msg("the single sign-on provider refused to complete the sign-in ({name}: "
                                 "{reason})", name=type(exc).__name__, reason=str(exc)[:200]),
                             hint=msg("start the sign-in again"), status=403,
                             code="sso_refused") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise _unverified(msg("no ID token"))
        claims = self.verify_id_token(id_token, nonce=nonce, access_token=token.get("access_token"),
                                      now=now)
        subject = str(claims["sub"])
        value = claims.get(self.config.claim)
        if value is None and isinstance(token.get("access_token"), str):
            value = self._userinfo_claim(metadata, str(token["access_token"]), subject)
        if not isinstance(value, str) or not value:
            raise OidcFailed(msg("the provider's answer has no {claim!r} to name a user here by",
                                 claim=self.config.claim),
                             hint=msg("ask the administrator to map single sign-on to a claim "
                                                 "the provider sends (EVIDENCE_OIDC_CLAIM)"),
                             status=403, code="sso_no_account")
        return Identity(value, subject)

    def verify_id_token(self, id_token: str, *, nonce: str, access_token: Any,
                        now: float) -> dict[str, Any]:
        """The ID token's claims if its signature, issuer, audience, times and nonce hold."""
        algorithms = [alg for alg in self.metadata().get("id_token_signing_alg_values_supported",
                                                          ["RS256"]) if alg != "none"]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(refresh=False), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys
                decoded = jwt.decode(id_token, self._key_set(refresh=True), registry=registry)
        except JoseError as exc:
            raise _unverified(msg("signature: {error}", error=exc.error)) from None
        except ValueError as exc:
            raise _unverified(msg("malformed token: {name}", name=type(exc).__name__)) from None
        params: dict[str, Any] = {"nonce": nonce, "client_id": self.config.client_id}
        if isinstance(access_token, str):
            params["access_token"] = access_token
        options: dict[str, Any] = {"iss": {"essential": True, "value": self.config.issuer},
                                   "aud": {"essential": True, "value": self.config.client_id},
                                   "sub": {"essential": True},
                                   "nonce": {"essential": True, "value": nonce}}
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(now=int(now), leeway=LEEWAY)
        except JoseError as exc:
            raise _unverified(f"{exc.error}: {exc.description or ''}".strip(": ")) from None
        return dict(claims)

    def _userinfo_claim(self, metadata: dict[str, Any], access_token: str, subject: str) -> Any:
        endpoint = metadata.get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return None
        try:
            response = requests.get(endpoint, timeout=TIMEOUT,
                                    headers={"Authorization": f"Bearer {access_token}"})
            response.raise_for_status()
            info = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise _unreachable(msg("userinfo: {name}", name=type(exc).__name__)) from None
        if not isinstance(info, dict) or info.get("sub") != subject:
            raise _unverified(msg("the userinfo answer is for another subject"))
        return info.get(self.config.claim)


def new_secret() -> str:
    """A state, nonce or PKCE verifier: 48 random URL-safe characters (about 285 bits)."""
    return str(generate_token(48))
