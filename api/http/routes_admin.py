"""Users (admin), the caller's own account, and the device registry.

The rules (who may add, revoke, register, list what) are in the domain functions.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.http.auth import CurrentUser, web_session_of
from api.http.convert import device_out, summary_out, user_out
from api.http.errors import responses
from api.http.models import (
    MAX_INT,
    DeviceIn,
    DeviceList,
    DeviceOut,
    NewUserOut,
    PasswordIn,
    Reason,
    Serial,
    UserIn,
    UserList,
    UserName,
    UserOut,
)
from api.http.models_audit import DeviceChangeIn, HeldItemOut, HoldPage, UserChangeIn
from api.http.services import ServicesDep
from cases.devices import list_devices, reassign_device, register_device, retire_device
from cases.holds import list_holds
from cases.paging import MAX_PAGE
from cases.passwords import set_password, unlock_user
from cases.users import (
    UNCHANGED,
    add_user,
    change_user,
    list_users,
    revoke_token,
    revoke_user,
    rotate_token,
)

router = APIRouter(tags=["users and devices"])


@router.get("/me", response_model=UserOut, responses=responses(401), summary="Who am I")
def me(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.get("/users", response_model=UserList, responses=responses(401, 403), summary="List users")
def users(services: ServicesDep, user: CurrentUser) -> UserList:
    """Admin: the users of their agency's units."""
    return UserList(items=[user_out(u) for u in list_users(services.engine, user)])


@router.post("/users", response_model=NewUserOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409), summary="Add a user")
def new_user(body: UserIn, services: ServicesDep, user: CurrentUser) -> NewUserOut:
    """Admin: a user of one of their agency's units. The token is in this response and nowhere
    else. Event `user:account:created`."""
    created, token = add_user(services.log, body.name, body.role, body.officer_no, by=user,
                              unit_code=body.unit, auditor_scope=body.auditor_scope,
                              now=services.now(), token_days=services.options.token_days)
    return NewUserOut(**user_out(created).model_dump(), token=token)


@router.delete("/users/{name}", response_model=UserOut, responses=responses(400, 401, 403, 404),
               summary="Revoke a user")
def revoke(name: Annotated[UserName, Path()], services: ServicesDep, user: CurrentUser) -> UserOut:
    """Admin of the user's agency; the token stops working at once. Event `user:account:revoked`."""
    return user_out(revoke_user(services.log, name, by=user, now=services.now()))


@router.post("/users/{name}/token", response_model=NewUserOut,
             responses=responses(400, 401, 403, 404, 409), summary="Renew a user's token")
def renew_token(name: Annotated[UserName, Path()], services: ServicesDep,
                user: CurrentUser) -> NewUserOut:
    """An admin of the user's agency, or the user themselves: a new bearer token, in this
    response only; the old one stops working at once. Event `user:token:rotated`."""
    renewed, token = rotate_token(services.log, name, by=user, now=services.now(),
                                  token_days=services.options.token_days)
    return NewUserOut(**user_out(renewed).model_dump(), token=token)


@router.put("/users/{name}/password", response_model=UserOut,
            responses=responses(400, 401, 403, 404, 409), summary="Set or change a password")
def change_password(name: Annotated[UserName, Path()], body: PasswordIn, request: Request,
                    services: ServicesDep, user: CurrentUser) -> UserOut:
    """An admin of the user's agency sets a new password (event `user:password:set`; it also
    lifts a lockout and ends the user's browser sessions). A user changes their own by also
    giving `old_password` (event `user:password:changed`; their other sessions end). Only the
    argon2id hash is stored."""
    session = web_session_of(request)
    return user_out(set_password(services.log, name, body.password, by=user, now=services.now(),
                                 old_password=body.old_password,
                                 keep_session=session.digest if session else None))


@router.post("/users/{name}/unlock", response_model=UserOut,
             responses=responses(400, 401, 403, 404, 409), summary="Unlock a locked account")
def unlock(name: Annotated[UserName, Path()], services: ServicesDep, user: CurrentUser) -> UserOut:
    """An admin of the user's agency lifts a lockout before it ends (event
    `user:account:unlocked`); 409 when the account is not locked."""
    return user_out(unlock_user(services.log, name, by=user, now=services.now()))


@router.get("/devices", response_model=DeviceList, responses=responses(401, 403),
            summary="List registered recorders")
def devices(services: ServicesDep, user: CurrentUser) -> DeviceList:
    """Their agency's recorders (auditors: the agency they audit)."""
    return DeviceList(items=[device_out(d) for d in list_devices(services.engine, user)])


@router.post("/devices", response_model=DeviceOut, status_code=201,
             responses=responses(400, 401, 403, 404, 409), summary="Register a recorder")
def new_device(body: DeviceIn, services: ServicesDep, user: CurrentUser) -> DeviceOut:
    """Admin of the unit's agency; registering a serial again replaces its entry.
    Event `station:device:registered`."""
    return device_out(register_device(services.log, user, body.serial, body.officer_no, body.unit,
                                      body.officer_name, body.label, now=services.now()))


@router.patch("/users/{name}", response_model=UserOut, responses=responses(400, 401, 403, 404, 409),
              summary="Change a user's role or unit")
def change(name: Annotated[UserName, Path()], body: UserChangeIn, services: ServicesDep,
           user: CurrentUser) -> UserOut:
    """Admin of the user's agency (and of the new unit's): role, unit, officer number, auditor
    scope; what the body leaves out stays. Nobody changes their own account. Event
    `user:account:changed`, with the values before and after."""
    scope = body.auditor_scope if "auditor_scope" in body.model_fields_set else UNCHANGED
    return user_out(change_user(services.log, name, by=user, role=body.role, unit_code=body.unit,
                                officer_no=body.officer_no, auditor_scope=scope,
                                now=services.now()))


@router.delete("/users/{name}/token", response_model=UserOut,
               responses=responses(400, 401, 403, 404, 409), summary="End a user's token")
def end_token(name: Annotated[UserName, Path()], services: ServicesDep,
              user: CurrentUser) -> UserOut:
    """An admin of the user's agency, or the user themselves: the bearer token stops working
    at once and no new one is issued; the account stays (POST /users/{name}/token issues a
    new one). Event `user:token:revoked`."""
    return user_out(revoke_token(services.log, name, by=user, now=services.now()))


@router.patch("/devices/{serial}", response_model=DeviceOut,
              responses=responses(400, 401, 403, 404, 409), summary="Reassign a recorder")
def reassign(serial: Annotated[Serial, Path()], body: DeviceChangeIn, services: ServicesDep,
             user: CurrentUser) -> DeviceOut:
    """Admin of the agency holding the recorder (and of the new unit's): another officer or
    unit; footage already stored keeps its unit. Event `station:device:reassigned`."""
    return device_out(reassign_device(services.log, user, serial, officer_no=body.officer_no,
                                      officer_name=body.officer_name, unit_code=body.unit,
                                      now=services.now()))


@router.delete("/devices/{serial}", response_model=DeviceOut,
               responses=responses(400, 401, 403, 404, 409), summary="Retire a recorder")
def retire(serial: Annotated[Serial, Path()], reason: Annotated[Reason, Query()],
           services: ServicesDep, user: CurrentUser) -> DeviceOut:
    """Admin of the agency holding the recorder: it stays listed, as retired (registering it
    again brings it back). Event `station:device:retired` with the reason."""
    return device_out(retire_device(services.log, user, serial, reason, now=services.now()))


@router.get("/holds", response_model=HoldPage, responses=responses(401, 403),
            summary="Footage under legal hold")
def holds(services: ServicesDep, user: CurrentUser,
          offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
          limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> HoldPage:
    """Admins: the footage of their agency's units under legal hold, with who placed each
    hold, when and why (from its `evidence:hold:placed` event)."""
    page = list_holds(services.engine, user, offset, limit)
    return HoldPage(items=[HeldItemOut(**summary_out(i.evidence).model_dump(), unit=i.unit_code,
                                       hold_placed_at=i.placed_at, hold_placed_by=i.placed_by,
                                       hold_reason=i.reason, hold_seq=i.seq)
                           for i in page.items],
                    total=page.total, offset=page.offset, limit=page.limit,
                    next_offset=page.next_offset)
