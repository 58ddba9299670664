"""Errors raised by recorder adapters; all are DeviceError, so callers may catch that alone."""

from __future__ import annotations

from domain.errors import DeviceError


class RecorderUnplugged(DeviceError):
    """The recorder vanished: unplugged mid-read, or stopped answering between calls."""


class RecorderRefused(DeviceError):
    """The recorder answered but refused the request."""


class PasswordRefused(RecorderRefused):
    """The recorder rejected the station's password."""


class UnsafePath(DeviceError):
    """A path that would leave the recorder, follow a link, or is not a plain file."""


class RecorderFileMissing(DeviceError):
    """The named file is not (or no longer) on the recorder."""


class RecorderLibraryError(DeviceError):
    """A native library (libmtp, a vendor SDK) is missing or lacks a function we need."""


class RecorderClosed(DeviceError):
    """The recorder was ejected (or released) by this station; dock it again to use it."""


class RecorderBusy(DeviceError):
    """Another transfer on the same recorder is still open."""


class VolumeTimeout(DeviceError):
    """The recorder switched to mass storage, but its volume never appeared."""


class VolumeMismatch(DeviceError):
    """The volume that appeared holds another recorder's footage."""
