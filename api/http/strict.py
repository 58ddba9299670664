"""Refuse query parameters a route does not declare, and values loosely of the declared type.

A misspelt filter (``?offcer=...``) would otherwise be ignored silently and the
caller would read an unfiltered result as if it were filtered. And the document
says integer or boolean: pydantic would read ``1.0`` or `` 1`` as the integer 1 and
``1``, ``yes`` or ``on`` as true, so a query integer must be its digits and a query
boolean ``true`` or ``false`` (422, like any other value of the wrong type).
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from cases.errors import InvalidRequest
from domain.messages import Message, listing, msg

_ALLOWED = "_evidence_allowed_query"
_KINDS = "_evidence_query_kinds"
_INTEGER = re.compile(r"-?[0-9]+")
_SHAPES: dict[type, tuple[re.Pattern[str], Message]] = {
    bool: (re.compile(r"true|false"), msg("not a boolean: write true or false")),
    int: (_INTEGER, msg("not an integer: write its digits, e.g. 50")),
}


async def reject_unknown_query(request: Request) -> None:
    """A router dependency: 400 when the query names a parameter the route lacks, 422 when
    an integer or boolean parameter is not written as one. Async: no I/O, so it runs on the
    event loop rather than taking a hop to the thread pool."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed: frozenset[str] | None = getattr(route, _ALLOWED, None)
    kinds: dict[str, type] | None = getattr(route, _KINDS, None)
    if allowed is None or kinds is None:
        allowed = frozenset(_query_names(route.dependant))
        kinds = _query_kinds(route.dependant)
        setattr(route, _ALLOWED, allowed)
        setattr(route, _KINDS, kinds)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidRequest(msg("unknown query parameter(s): {names}",
                                 names=listing(unknown[:5])),
                             hint=msg("allowed here: {names}", names=listing(sorted(allowed)))
                             if allowed else msg("this route takes no query parameters"))
    errors = [{"type": "value_error", "loc": ("query", name), "input": value,
               "msg": f"Value error, {_SHAPES[kinds[name]][1]}",
               "ctx": {"error": ValueError(_SHAPES[kinds[name]][1])}}
              for name, value in request.query_params.multi_items()
              if name in kinds and not _SHAPES[kinds[name]][0].fullmatch(value)]
    if errors:
        raise RequestValidationError(errors)


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _query_kinds(dependant: Dependant) -> dict[str, type]:
    """The integer and boolean query parameters (by alias), optional ones included."""
    kinds = {param.alias: kind for param in dependant.query_params
             if (kind := _scalar(param.field_info.annotation)) is not None}
    for sub in dependant.dependencies:
        kinds |= _query_kinds(sub)
    return kinds


def _scalar(annotation: Any) -> type | None:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        found = {_scalar(arg) for arg in get_args(annotation) if arg is not type(None)}
        return found.pop() if len(found) == 1 else None
    if annotation is bool:  # bool before int: bool is an int
        return bool
    return int if annotation is int else None
