"""Refuse query parameters a route does not declare.

A misspelt filter (``?offcer=...``) would otherwise be ignored silently and the
caller would read an unfiltered result as if it were filtered.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from cases.errors import InvalidRequest

_ALLOWED = "_evidence_allowed_query"


def reject_unknown_query(request: Request) -> None:
    """A router dependency: 400 when the query names a parameter the route lacks."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed: frozenset[str] | None = getattr(route, _ALLOWED, None)
    if allowed is None:
        allowed = frozenset(_query_names(route.dependant))
        setattr(route, _ALLOWED, allowed)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidRequest(f"unknown query parameter(s): {', '.join(unknown[:5])}",
                             hint="allowed here: " + (", ".join(sorted(allowed)) or "none"))


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
