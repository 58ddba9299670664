"""The bearer-token dependency: every route but the OpenAPI document needs a user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.services import ServicesDep
from cases.users import User, authenticate

bearer = HTTPBearer(auto_error=False, description="A token from `evidence user add` or "
                                                  "POST /api/v1/users.")


def current_user(services: ServicesDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None,
                                        Depends(bearer)]) -> User:
    return authenticate(services.engine, credentials.credentials if credentials else None)


CurrentUser = Annotated[User, Depends(current_user)]
