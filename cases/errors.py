"""Errors of the case service, beside the shared ones in ``domain.errors``."""

from __future__ import annotations

from domain.errors import EvidenceError


class NotAuthenticated(EvidenceError):
    """No bearer token, or one that is unknown or revoked (HTTP 401)."""


class AccessDenied(EvidenceError):
    """The user is known but their role or assignment does not allow this (HTTP 403)."""


class InvalidRequest(EvidenceError):
    """The request is well-formed but cannot be carried out as asked (HTTP 400; CLI exit 2)."""

    exit_code = 2


class NotPlayable(EvidenceError):
    """The evidence has no playback copy to stream (HTTP 409)."""


class Conflict(EvidenceError):
    """The resource is already in the state asked for, or in one that forbids it (HTTP 409)."""


class BatchRefused(EvidenceError):
    """Some items of an all-or-nothing request cannot be done, so none was (HTTP: the status
    of the first item's error, with every item's error listed)."""

    def __init__(self, message: str, problems: list[tuple[str, EvidenceError]], *,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems
