"""`evidence user ...` and `evidence serve`: the case service's accounts and its HTTP server."""

from __future__ import annotations

import getpass
import ipaddress
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from sqlalchemy import inspect

from api.cli_text import cells, console, inert, json_line
from api.home import Home, open_home
from api.settings import Settings
from cases.passwords import require_user, set_password, unlock_user
from cases.users import (
    UNCHANGED,
    Role,
    User,
    add_user,
    change_user,
    list_users,
    operator,
    revoke_token,
    revoke_user,
    rotate_token,
)
from domain.errors import ConfigError
from domain.messages import msg

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.http.services import ApiOptions

user_app = typer.Typer(help="Users of the case service and their bearer tokens.",
                       no_args_is_help=True)
_out = console()
_err = console(stderr=True)


def open_case_home() -> Home:
    """The home, with the case service's tables (users, agencies, units) migrated."""
    home = open_home(Settings())
    with home.engine().connect() as conn:
        if not inspect(conn).has_table("users"):
            raise ConfigError(msg("the database of {root} has no user tables yet", root=home.root),
                              hint=msg("run `evidence init` to bring it up to date"))
    return home


def cli_operator() -> User:
    """Who runs this command line: the operator principal named after the login."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return operator(login)


def _cli_actor() -> str:
    return cli_operator().actor


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name; never reused.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    unit: Annotated[str, typer.Option(help="Code of the unit they belong to (`evidence unit list`).")],
    officer_no: Annotated[str | None, typer.Option(
        "--officer-no", help="Officer number (required for --role officer).")] = None,
    scope: Annotated[str | None, typer.Option(
        help="Auditors only: the agency code they audit, or '*' for every agency.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {name, role, token}.")] = False,
) -> None:
    """Add a user and print their bearer token (shown once; only its hash is stored)."""
    home = open_case_home()
    user, token = add_user(home.custody_log(), name, role, officer_no, by=cli_operator(),
                           unit_code=unit, auditor_scope=scope, token_days=Settings().token_days)
    if as_json:
        sys.stdout.write(json_line({"name": user.name, "role": user.role.value,
                                    "token": token, "token_expires_at": _when(user)},
                                   sort_keys=False) + "\n")
        return
    _out.print(inert(f"Added {user.name} ({user.role.value}). Their bearer token, valid until "
                     f"{_when(user)} and shown only now:"))
    sys.stdout.write(token + "\n")


@user_app.command("rotate")
def user_rotate(
    name: Annotated[str, typer.Argument(help="The user whose token is renewed.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print {name, token, token_expires_at}.")]
    = False,
) -> None:
    """Give a user a new bearer token (shown once); their old token stops working at once."""
    home = open_case_home()
    user, token = rotate_token(home.custody_log(), name, by=cli_operator(),
                               token_days=Settings().token_days)
    if as_json:
        sys.stdout.write(json_line({"name": user.name, "token": token,
                                    "token_expires_at": _when(user)}, sort_keys=False) + "\n")
        return
    _out.print(inert(f"Renewed the token of {user.name}; the old one no longer works. The new one, "
                     f"valid until {_when(user)} and shown only now:"))
    sys.stdout.write(token + "\n")


@user_app.command("password")
def user_password(
    name: Annotated[str, typer.Argument(help="The user whose password is set.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input "
                                 "instead of asking twice.")] = False,
) -> None:
    """Set or reset a user's password for the web pages (only its argon2id hash is stored).

    Lifts a lockout and ends the user's browser sessions (event `user:password:set`).
    """
    home = open_case_home()
    log = home.custody_log()
    require_user(log, name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"New password for {name}", hide_input=True,
                                confirmation_prompt="Repeat it")
    user = set_password(log, name, password, by=cli_operator(), now=datetime.now(UTC))
    _out.print(inert(f"Set the password of {user.name}; their browser sessions were ended."))


@user_app.command("unlock")
def user_unlock(name: Annotated[str, typer.Argument(help="The locked user.")]) -> None:
    """Lift a lockout after repeated failed sign-ins before it ends (`user:account:unlocked`)."""
    home = open_case_home()
    user = unlock_user(home.custody_log(), name, by=cli_operator(), now=datetime.now(UTC))
    _out.print(inert(f"Unlocked {user.name}; they can sign in with their password again."))


def _when(user: User) -> str | None:
    return user.token_expires_at.isoformat(timespec="seconds") if user.token_expires_at else None


@user_app.command("revoke")
def user_revoke(name: Annotated[str, typer.Argument(help="The user to revoke.")]) -> None:
    """End a user's token for good."""
    home = open_case_home()
    revoke_user(home.custody_log(), name, by=cli_operator())
    _out.print(inert(f"Revoked {name}; their token no longer works."))


@user_app.command("change")
def user_change(
    name: Annotated[str, typer.Argument(help="The user to change.")],
    role: Annotated[Role | None, typer.Option(help="A new role.")] = None,
    unit: Annotated[str | None, typer.Option(help="Code of a new unit.")] = None,
    officer_no: Annotated[str | None, typer.Option("--officer-no",
                                                   help="A new officer number.")] = None,
    scope: Annotated[str | None, typer.Option(
        help="Auditors: the agency code they audit, or '*'.")] = None,
) -> None:
    """Change a user's role, unit, officer number or auditor scope (logged with before and
    after; the same as PATCH /api/v1/users/{name})."""
    home = open_case_home()
    user = change_user(home.custody_log(), name, by=cli_operator(), role=role, unit_code=unit,
                       officer_no=officer_no,
                       auditor_scope=scope if scope is not None else UNCHANGED)
    _out.print(inert(f"Changed {user.name}: {user.role.value} of unit {user.unit_code}"
                     f"{f', auditing {user.auditor_scope}' if user.auditor_scope else ''}."))


@user_app.command("revoke-token")
def user_revoke_token(name: Annotated[str, typer.Argument(help="The user whose token ends.")]
                      ) -> None:
    """End a user's bearer token now, keeping the account (`evidence user rotate` issues a
    new one; the same as DELETE /api/v1/users/{name}/token)."""
    home = open_case_home()
    revoke_token(home.custody_log(), name, by=cli_operator())
    _out.print(inert(f"Ended the token of {name}; the account stays. Issue a new one with "
                     f"`evidence user rotate {name}`."))


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False) -> None:
    """Every user, active or revoked, with their unit, agency and scope (tokens never again)."""
    users = list_users(open_case_home().engine(), cli_operator())
    if as_json:
        for user in users:
            sys.stdout.write(json_line({
                "name": user.name, "role": user.role.value, "officer_no": user.officer_no,
                "unit": user.unit_code, "agency": user.agency_code,
                "auditor_scope": user.auditor_scope,
                "created_at": user.created_at.isoformat(),
                "revoked_at": user.revoked_at.isoformat() if user.revoked_at else None,
                "token_expires_at": _when(user)},
                sort_keys=False) + "\n")
        return
    table = Table("name", "role", "officer", "unit", "agency", "scope", "created", "status",
                  "token expires")
    for user in users:
        row = [user.name, user.role.value, user.officer_no, user.unit_code, user.agency_code,
                 user.auditor_scope, user.created_at.isoformat(timespec="seconds"),
                 "active" if user.active else f"revoked {user.revoked_at:%Y-%m-%d}", _when(user)]
        table.add_row(*cells(*row))
    _out.print(table)


def _bounded(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ConfigError(msg("EVIDENCE_{upper} is {value}", upper=name.upper(), value=value),
                          hint=msg("set it to {low}..{high} (or unset it for the default)", low=low,
                                   high=high))
    return value


def api_options(settings: Settings) -> ApiOptions:
    """The HTTP API's options from the settings (refused when out of range or half set)."""
    from api.http.oidc import OidcConfig
    from api.http.services import ApiOptions, SignInOptions
    from cases.passwords import LockoutPolicy
    from cases.web_sessions import SessionPolicy

    lockout = LockoutPolicy(
        max_failures=_bounded("signin_max_failures", settings.signin_max_failures, 1, 100),
        lock=timedelta(minutes=_bounded("signin_lock_minutes", settings.signin_lock_minutes,
                                        1, 24 * 60)))
    sessions = SessionPolicy(
        idle=timedelta(minutes=_bounded("session_idle_minutes", settings.session_idle_minutes,
                                        1, 24 * 60)),
        absolute=timedelta(hours=_bounded("session_hours", settings.session_hours, 1, 24 * 7)))
    oidc = OidcConfig.from_settings(settings.oidc_issuer, settings.oidc_client_id,
                                    settings.oidc_client_secret, settings.oidc_claim,
                                    settings.oidc_redirect_url)
    from api.timestamping import load_roots

    tsa_roots = load_roots(settings.tsa_roots) if settings.tsa_roots else None
    return ApiOptions(token_days=settings.token_days, review_days=settings.review_days,
                      review_witnesses=settings.review_witnesses(),
                      time_zone=settings.page_time_zone(),
                      tsa_roots=tsa_roots, redaction=settings.redaction_tools(),
                      sign_in=SignInOptions(lockout=lockout, sessions=sessions,
                                            cookie_secure=settings.cookie_secure, oidc=oidc))


def serve(host: str, port: int, tls_cert: Path | None = None, tls_key: Path | None = None,
          workers: int | None = None) -> None:
    """Run the HTTP API on the home named by the settings (uvicorn), over TLS when given a
    certificate and key, in ``workers`` processes (default ``EVIDENCE_WORKERS``)."""
    import uvicorn

    from api.http.app import create_app
    from api.http.server import EvidenceServer
    from api.timestamping import timestamping
    from api.witnessing import witnessing

    if (tls_cert is None) != (tls_key is None):
        raise ConfigError(msg("TLS needs both a certificate and its key"),
                          hint=msg("pass --tls-cert FILE and --tls-key FILE, or neither"))
    settings = Settings()
    workers = settings.workers if workers is None else workers
    if not 1 <= workers <= 64:
        raise ConfigError(msg("workers must be 1 to 64, not {workers}", workers=workers),
                          hint=msg("one per CPU core is a good start (EVIDENCE_WORKERS)"))
    options = api_options(settings)
    home = open_case_home()
    if tls_cert is None and not _is_loopback(host) and not settings.cookie_secure:
        _err.print(inert(f"warning: serving on {host} without TLS; passwords, session cookies and "
                         "bearer tokens cross the network in clear text. Pass --tls-cert and "
                         "--tls-key, or put a TLS proxy in front and set "
                         "EVIDENCE_COOKIE_SECURE=true."))
    common = {"host": host, "port": port, "log_level": "info",
              "access_log": settings.access_log, "server_header": False,
              "proxy_headers": False, "ssl_certfile": str(tls_cert) if tls_cert else None,
              "ssl_keyfile": str(tls_key) if tls_key else None}
    # the timestamper and the witnesser run once, in this process (with several workers:
    # the supervisor's), beside the server
    with timestamping(home.engine(), settings), witnessing(home.custody_log(), settings):
        if workers > 1:
            # each worker process builds its own app (and database pool) from the settings;
            # uvicorn's supervisor restarts a worker that dies. A worker's shutdown does not
            # tell the station screen's streams (EvidenceServer does): it waits for them at
            # most WORKER_SHUTDOWN_WAIT seconds.
            uvicorn.run("api.cli_service:app_from_settings", factory=True, workers=workers,
                        timeout_graceful_shutdown=WORKER_SHUTDOWN_WAIT,
                        **common)  # type: ignore[arg-type]
            return
        app = create_app(home, options)
        EvidenceServer(app, uvicorn.Config(app, **common)).run()  # type: ignore[arg-type]


WORKER_SHUTDOWN_WAIT = 10  # seconds a worker waits for open responses when it stops


def app_from_settings() -> FastAPI:
    """The app of one worker process of ``evidence serve --workers N`` (uvicorn's factory)."""
    from api.http.app import create_app

    return create_app(open_case_home(), api_options(Settings()))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
