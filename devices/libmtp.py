"""ctypes bindings to the parts of libmtp (Debian ``libmtp9``, 1.1.x) that devices.mtp uses.

Structures follow ``libmtp.h`` of libmtp 1.1.20; only the leading fields of
``LIBMTP_mtpdevice_t`` are declared (the adapter reads ``storage`` and never
allocates one). Strings libmtp returns for the caller to free are freed with the
C library's ``free``.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

from devices.errors import RecorderLibraryError
from domain.messages import listing, msg

DEFAULT_LIBRARY = "libmtp.so.9"

# LIBMTP_error_number_t
ERROR_NONE = 0
ERROR_GENERAL = 1
ERROR_PTP_LAYER = 2
ERROR_USB_LAYER = 3
ERROR_MEMORY_ALLOCATION = 4
ERROR_NO_DEVICE_ATTACHED = 5
ERROR_STORAGE_FULL = 6
ERROR_CONNECTING = 7
ERROR_CANCELLED = 8

FILETYPE_FOLDER = 0  # LIBMTP_FILETYPE_FOLDER, first in LIBMTP_filetype_t
FILES_AND_FOLDERS_ROOT = 0xFFFFFFFF
PROPERTY_PROTECTION_STATUS = 2  # LIBMTP_PROPERTY_ProtectionStatus
STORAGE_NOT_SORTED = 0


class DeviceEntry(ctypes.Structure):
    _fields_ = [
        ("vendor", ctypes.c_char_p),
        ("vendor_id", ctypes.c_uint16),
        ("product", ctypes.c_char_p),
        ("product_id", ctypes.c_uint16),
        ("device_flags", ctypes.c_uint32),
    ]


class RawDevice(ctypes.Structure):
    _fields_ = [
        ("device_entry", DeviceEntry),
        ("bus_location", ctypes.c_uint32),
        ("devnum", ctypes.c_uint8),
    ]


class ErrorEntry(ctypes.Structure):
    pass


ErrorEntry._fields_ = [
    ("errornumber", ctypes.c_int),
    ("error_text", ctypes.c_char_p),
    ("next", ctypes.POINTER(ErrorEntry)),
]


class DeviceStorage(ctypes.Structure):
    pass


DeviceStorage._fields_ = [
    ("id", ctypes.c_uint32),
    ("StorageType", ctypes.c_uint16),
    ("FilesystemType", ctypes.c_uint16),
    ("AccessCapability", ctypes.c_uint16),
    ("MaxCapacity", ctypes.c_uint64),
    ("FreeSpaceInBytes", ctypes.c_uint64),
    ("FreeSpaceInObjects", ctypes.c_uint64),
    ("StorageDescription", ctypes.c_char_p),
    ("VolumeIdentifier", ctypes.c_char_p),
    ("next", ctypes.POINTER(DeviceStorage)),
    ("prev", ctypes.POINTER(DeviceStorage)),
]


class DeviceHead(ctypes.Structure):
    """The leading fields of LIBMTP_mtpdevice_t."""

    _fields_ = [
        ("object_bitsize", ctypes.c_uint8),
        ("params", ctypes.c_void_p),
        ("usbinfo", ctypes.c_void_p),
        ("storage", ctypes.POINTER(DeviceStorage)),
        ("errorstack", ctypes.POINTER(ErrorEntry)),
    ]


class FileEntry(ctypes.Structure):
    pass


FileEntry._fields_ = [
    ("item_id", ctypes.c_uint32),
    ("parent_id", ctypes.c_uint32),
    ("storage_id", ctypes.c_uint32),
    ("filename", ctypes.c_char_p),
    ("filesize", ctypes.c_uint64),
    ("modificationdate", ctypes.c_long),  # time_t
    ("filetype", ctypes.c_int),
    ("next", ctypes.POINTER(FileEntry)),
]

_SIGNATURES: dict[str, tuple[list[type], type | None]] = {
    "LIBMTP_Init": ([], None),
    "LIBMTP_Detect_Raw_Devices": ([ctypes.POINTER(ctypes.POINTER(RawDevice)),
                                   ctypes.POINTER(ctypes.c_int)], ctypes.c_int),
    "LIBMTP_Open_Raw_Device_Uncached": ([ctypes.POINTER(RawDevice)], ctypes.c_void_p),
    "LIBMTP_Release_Device": ([ctypes.c_void_p], None),
    "LIBMTP_Get_Serialnumber": ([ctypes.c_void_p], ctypes.c_void_p),
    "LIBMTP_Get_Modelname": ([ctypes.c_void_p], ctypes.c_void_p),
    "LIBMTP_Get_Storage": ([ctypes.c_void_p, ctypes.c_int], ctypes.c_int),
    "LIBMTP_Get_Files_And_Folders": ([ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32],
                                     ctypes.POINTER(FileEntry)),
    "LIBMTP_destroy_file_t": ([ctypes.POINTER(FileEntry)], None),
    "LIBMTP_Get_u16_From_Object": ([ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                    ctypes.c_uint16], ctypes.c_uint16),
    "LIBMTP_Get_File_To_File_Descriptor": ([ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                            ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int),
    "LIBMTP_Delete_Object": ([ctypes.c_void_p, ctypes.c_uint32], ctypes.c_int),
    "LIBMTP_Get_Errorstack": ([ctypes.c_void_p], ctypes.POINTER(ErrorEntry)),
    "LIBMTP_Clear_Errorstack": ([ctypes.c_void_p], None),
}

_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]
_libc.free.restype = None

_loaded: dict[str, ctypes.CDLL] = {}
_load_lock = threading.Lock()


def load(lib_path: str | Path | None = None) -> ctypes.CDLL:
    """libmtp (or a stand-in with the same functions), declared and initialised once per path."""
    name = str(lib_path) if lib_path is not None else DEFAULT_LIBRARY
    with _load_lock:
        if name in _loaded:
            return _loaded[name]
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise RecorderLibraryError(msg("cannot load libmtp ({name}): {reason}", name=name, reason=exc),
                                       hint=msg("install it: apt-get install libmtp9")) from None
        missing = [symbol for symbol in _SIGNATURES if not hasattr(lib, symbol)]
        if missing:
            raise RecorderLibraryError(msg("{name} lacks {missing}", name=name, missing=listing(missing)),
                                       hint=msg("install libmtp 1.1.x (Debian package libmtp9)"))
        for symbol, (argtypes, restype) in _SIGNATURES.items():
            function = getattr(lib, symbol)
            function.argtypes = argtypes
            function.restype = restype
        lib.LIBMTP_Init()
        _loaded[name] = lib
        return lib


def free(pointer: int | None) -> None:
    """Free memory libmtp allocated for the caller."""
    if pointer:
        _libc.free(pointer)


def take_string(pointer: int | None) -> str | None:
    """A C string libmtp allocated for the caller, decoded and freed."""
    if not pointer:
        return None
    try:
        return ctypes.string_at(pointer).decode("utf-8", errors="replace").strip() or None
    finally:
        free(pointer)


def drain_errors(lib: ctypes.CDLL, device: int) -> list[tuple[int, str]]:
    """The device's error stack as (number, text), then cleared."""
    errors = []
    entry = lib.LIBMTP_Get_Errorstack(device)
    while entry:
        text = entry.contents.error_text
        errors.append((entry.contents.errornumber,
                       text.decode("utf-8", errors="replace").strip() if text else ""))
        entry = entry.contents.next
    lib.LIBMTP_Clear_Errorstack(device)
    return errors
