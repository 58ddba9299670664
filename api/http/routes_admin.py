"""Users (admin), the caller's own account, and the device registry (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import DateTime, column, inspect, select, table

from api.http.auth import CurrentUser
from api.http.convert import user_out
from api.http.errors import responses
from api.http.models import DeviceList, DeviceOut, NewUserOut, UserIn, UserList, UserName, UserOut
from api.http.services import ServicesDep
from cases import access
from cases.errors import AccessDenied
from cases.times import aware
from cases.users import add_user, list_users, revoke_user
from domain.errors import NotFound

router = APIRouter(tags=["users and devices"])

# The registry's table (migration 0003); named here so this module needs no devices/ import.
_devices = table("devices", column("serial"), column("officer_no"), column("officer_name"),
                 column("unit"), column("label"),
                 column("registered_at", DateTime(timezone=True)))


@router.get("/me", response_model=UserOut, responses=responses(401), summary="Who am I")
def me(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.get("/users", response_model=UserList, responses=responses(401, 403), summary="List users")
def users(services: ServicesDep, user: CurrentUser) -> UserList:
    access.require_role(user, access.MANAGE_USERS, "list users")
    return UserList(items=[user_out(u) for u in list_users(services.engine)])


@router.post("/users", response_model=NewUserOut, status_code=201,
             responses=responses(400, 401, 403, 409), summary="Add a user")
def new_user(body: UserIn, services: ServicesDep, user: CurrentUser) -> NewUserOut:
    """Admin only. The token is in this response and nowhere else. Event `user:account:created`."""
    access.require_role(user, access.MANAGE_USERS, "add users")
    created, token = add_user(services.log, body.name, body.role, body.officer_no, by=user,
                              unit_code=body.unit, auditor_scope=body.auditor_scope,
                              now=services.now())
    return NewUserOut(**user_out(created).model_dump(), token=token)


@router.delete("/users/{name}", response_model=UserOut, responses=responses(400, 401, 403, 404),
               summary="Revoke a user")
def revoke(name: Annotated[UserName, Path()], services: ServicesDep, user: CurrentUser) -> UserOut:
    """Admin only; the token stops working at once. Event `user:account:revoked`."""
    access.require_role(user, access.MANAGE_USERS, "revoke users")
    if name == user.name:
        raise AccessDenied("you cannot revoke your own token",
                             hint="ask another admin, or use `evidence user revoke` on the server")
    return user_out(revoke_user(services.log, name, by=user, now=services.now()))


@router.get("/devices", response_model=DeviceList, responses=responses(401, 403, 404),
            summary="List registered recorders")
def devices(services: ServicesDep, user: CurrentUser) -> DeviceList:
    access.require_role(user, access.LIST_DEVICES, "list devices")
    with services.engine.connect() as conn:
        if not inspect(conn).has_table("devices"):
            raise NotFound("this database has no device registry",
                           hint="run `evidence init` to bring the database up to date")
        rows = conn.execute(select(_devices).order_by(_devices.c.serial)).all()
    return DeviceList(items=[DeviceOut(serial=r.serial, officer_no=r.officer_no,
                                       officer_name=r.officer_name, unit=r.unit, label=r.label,
                                       registered_at=aware(r.registered_at)) for r in rows])
