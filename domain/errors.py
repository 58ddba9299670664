"""The project's error hierarchy.

Every error says what happened and what to do about it; entry points catch
``EvidenceError`` in one place and render it. Vendor errors (botocore,
SQLAlchemy, ffmpeg, libmtp, OS) are translated into these at the adapter.
"""

from __future__ import annotations

from domain.messages import Message, msg, plain


class EvidenceError(Exception):
    """Root of all project errors. ``str(err)`` is a sentence for a person.

    ``message`` and ``hint`` are ``domain.messages.Message``: write them with
    ``msg("English template {name}", name=...)`` so entry points can translate them (a plain
    ``str`` is kept as it is, untranslated; tests/test_i18n.py refuses one at a raise site).
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message: Message = plain(message)
        self.hint: Message | None = None if hint is None else plain(hint)
        super().__init__(msg("{message} {hint}", message=self.message, hint=self.hint)
                         if self.hint else self.message)


class ConfigError(EvidenceError):
    """Usage or configuration problem: the CLI exits 2."""

    exit_code = 2


class NotFound(EvidenceError):
    """A requested object, entry or record does not exist (a usage error at the CLI)."""

    exit_code = 2


class IntegrityError(EvidenceError):
    """Stored data does not match what was recorded (hash, size, signature)."""


class StorageError(EvidenceError):
    """The object store or database failed; the operation may be retried."""


class StorageUnavailable(StorageError):
    """The store cannot be reached right now; retry later."""


class AlreadyExists(EvidenceError):
    """Refused to overwrite something that must never be overwritten."""


class RetentionLocked(EvidenceError):
    """Deletion or shortening refused: retention or legal hold is in force."""


class DeviceError(EvidenceError):
    """A recorder failed, was unplugged, or refused a request."""


class MediaError(EvidenceError):
    """A media file could not be probed, remuxed or transcoded."""
