"""GA/T 947.4 recorders docked through the vendor's SDK library (loaded with ctypes).

Vendor SDKs for GA/T 947.4 body-worn recorders export, cdecl on Linux, functions
that return 1 on success and leave an acknowledgement code in ``*iRet``::

    int Init_Device(char *IDCode, int *iRet);         IDCode: maker and model code
    int UnInit_Device(int *iRet);                     some declare (void); see below
    int GetZFYInfo(ZFY_INFO *info, char *sPwd, int *iRet);
    int WriteZFYInfo(ZFY_INFO *info, char *sPwd, int *iRet);
    int SyncDevTime(char *sPwd, int *iRet);           set the device clock to the station's
    int SetMSDC(char *sPwd, int *iRet);               switch to USB mass storage
    int GetDevTime(char *out, char *sPwd, int *iRet); optional: "YYYY-MM-DD hh:mm:ss"

``UnInit_Device`` is declared ``int (void)`` by some vendors and ``int/void (int *iRet)``
by others; it is called with an ``iRet`` pointer (harmless to a cdecl function that
takes none) and its return value is not read. ZFY_INFO is packed GBK text; a field
that fills its array has no terminating NUL.

:func:`dock_sdk_recorder` runs the docking flow: init, read the officer info,
read the device clock (offset recorded before any sync), sync the clock, switch
to mass storage, wait for the volume, and return a mass-storage Recorder whose
identity comes from the SDK.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from devices.errors import (
    PasswordRefused,
    RecorderLibraryError,
    RecorderRefused,
    RecorderUnplugged,
    VolumeMismatch,
    VolumeTimeout,
)
from devices.mass_storage import Lookup, MassStorageRecorder
from devices.names import serials_named
from domain.errors import ConfigError, DeviceError
from domain.messages import msg
from domain.recorder import RecorderIdentity

ENCODING = "gbk"
CLOCK_FORMAT = "%Y-%m-%d %H:%M:%S"
REFUSED_LOGIN_HINT = msg("set EVIDENCE_RECORDER_PASSWORD to the recorders' administrator "
                         "password")

# Acknowledgement codes in *iRet (the vendor header's enum).
CONNECT_SUCCESS = 1
CONNECT_FAILED = 2
CHECK_PWD_SUCCESS = 3
CHECK_PWD_FAILED = 4
SET_SYSTEMTIME_SUCCESS = 5
SET_SYSTEMTIME_FAILED = 6
MSDC_SUCCESS = 7
MSDC_FAILED = 8

REQUIRED_FUNCTIONS = ("Init_Device", "UnInit_Device", "GetZFYInfo", "WriteZFYInfo",
                      "SyncDevTime", "SetMSDC")


class ZFY_INFO(ctypes.Structure):  # the vendor header's name
    _pack_ = 1
    _fields_ = [
        ("cSerial", ctypes.c_ubyte * 8),
        ("userNo", ctypes.c_ubyte * 7),
        ("userName", ctypes.c_ubyte * 33),
        ("unitNo", ctypes.c_ubyte * 13),
        ("unitName", ctypes.c_ubyte * 33),
    ]


@dataclass(frozen=True)
class ZfyInfo:
    """The recorder's own record of whose it is (decoded ZFY_INFO)."""

    serial: str
    officer_no: str
    officer_name: str
    unit_no: str
    unit_name: str


def decode_info(raw: ZFY_INFO) -> ZfyInfo:
    """Decode the packed GBK fields. Serial and officer number must be valid GBK (they
    attribute evidence); names with a bad byte keep U+FFFD in its place."""
    return ZfyInfo(
        serial=_field(raw, "cSerial", strict=True), officer_no=_field(raw, "userNo", strict=True),
        officer_name=_field(raw, "userName"), unit_no=_field(raw, "unitNo"),
        unit_name=_field(raw, "unitName"))


def encode_info(info: ZfyInfo) -> ZFY_INFO:
    """Pack ``info``; each field must fit its array with room for the NUL."""
    raw = ZFY_INFO()
    for name, value in (("cSerial", info.serial), ("userNo", info.officer_no),
                        ("userName", info.officer_name), ("unitNo", info.unit_no),
                        ("unitName", info.unit_name)):
        data = value.encode(ENCODING)
        array = getattr(raw, name)
        if len(data) >= len(array):
            raise ConfigError(msg("{name} {value!r} is {data_count} bytes in GBK; the recorder holds at "
                                  "most {value2}", name=name, value=value, data_count=len(data),
                                  value2=len(array) - 1),
                              hint=msg("shorten it"))
        ctypes.memmove(array, data, len(data))
    return raw


def _field(raw: ZFY_INFO, name: str, *, strict: bool = False) -> str:
    data = bytes(getattr(raw, name)).split(b"\0", 1)[0]
    try:
        return data.decode(ENCODING).strip()
    except UnicodeDecodeError:
        if strict:
            raise RecorderRefused(msg("the recorder's {name} is not GBK text ({data})", name=name,
                                      data=data.hex()),
                                  hint=msg("rewrite the recorder's info with the vendor's tool")) from None
        return data.decode(ENCODING, errors="replace").strip()


@dataclass(frozen=True)
class ClockReading:
    device_clock: datetime  # aware, in the station's time zone
    offset_seconds: int  # device minus station


class Gat947Sdk:
    """One vendor SDK library. Vendor SDKs keep global state, so calls are serialised."""

    def __init__(self, lib_path: str | Path) -> None:
        try:
            self._lib = ctypes.CDLL(str(lib_path))
        except OSError as exc:
            raise RecorderLibraryError(msg("cannot load the recorder vendor library {lib_path}: {reason}",
                                           lib_path=lib_path, reason=exc),
                                       hint=msg("install the vendor's Linux SDK and check the path "
                                                "configured for it")) from None
        missing = [name for name in REQUIRED_FUNCTIONS if not hasattr(self._lib, name)]
        if missing:
            raise RecorderLibraryError(msg("{lib_path} lacks {missing}, so it is not a GA/T 947.4 recorder "
                                           "SDK", lib_path=lib_path, missing=', '.join(missing)),
                                       hint=msg("configure the vendor's GA/T 947.4 library"))
        self.lib_path = str(lib_path)
        self.lock = threading.RLock()
        int_p = ctypes.POINTER(ctypes.c_int)
        text = ctypes.c_char_p
        self._declare("Init_Device", [text, int_p])
        self._declare("UnInit_Device", [int_p], restype=None)
        self._declare("GetZFYInfo", [ctypes.POINTER(ZFY_INFO), text, int_p])
        self._declare("WriteZFYInfo", [ctypes.POINTER(ZFY_INFO), text, int_p])
        self._declare("SyncDevTime", [text, int_p])
        self._declare("SetMSDC", [text, int_p])
        self.reads_clock = hasattr(self._lib, "GetDevTime")
        if self.reads_clock:
            self._declare("GetDevTime", [ctypes.c_char_p, text, int_p])

    def _declare(self, name: str, argtypes: list[type], restype: type | None = ctypes.c_int) -> None:
        function = getattr(self._lib, name)
        function.argtypes = argtypes
        function.restype = restype

    def _call(self, name: str, *args: object) -> None:
        ret = ctypes.c_int(0)
        with self.lock:
            ok = getattr(self._lib, name)(*args, ctypes.byref(ret))
        if ok != 1:
            raise _failure(name, ret.value)

    @contextmanager
    def session(self, id_code: str) -> Iterator[Gat947Sdk]:
        """Init_Device on entry; UnInit_Device on exit, whatever happened."""
        with self.lock:
            # a writable buffer: some vendors write the ID code back through this pointer
            self._call("Init_Device", ctypes.create_string_buffer(id_code.encode(ENCODING), 64))
            try:
                yield self
            finally:
                self._lib.UnInit_Device(ctypes.byref(ctypes.c_int(0)))

    def read_info(self, password: str) -> ZfyInfo:
        raw = ZFY_INFO()
        self._call("GetZFYInfo", ctypes.byref(raw), _password(password))
        return decode_info(raw)

    def write_info(self, info: ZfyInfo, password: str) -> None:
        raw = encode_info(info)
        self._call("WriteZFYInfo", ctypes.byref(raw), _password(password))

    def read_clock(self, password: str, station_clock: Callable[[], datetime],
                   station_tz: tzinfo) -> ClockReading | None:
        """The device clock against the station's (midpoint of the call); None if unreadable."""
        if not self.reads_clock:
            return None
        out = ctypes.create_string_buffer(64)
        before = _aware(station_clock())
        self._call("GetDevTime", out, _password(password))
        after = _aware(station_clock())
        try:
            naive = datetime.strptime(out.value.decode("ascii").strip(), CLOCK_FORMAT)
        except (UnicodeDecodeError, ValueError):
            return None  # an unparseable clock leaves the offset unknown, not the footage
        device = naive.replace(tzinfo=station_tz)
        station = before + (after - before) / 2
        return ClockReading(device, round((device - station).total_seconds()))

    def sync_time(self, password: str) -> bool:
        """Set the device clock; False if the recorder refused (the dock goes on)."""
        try:
            self._call("SyncDevTime", _password(password))
        except RecorderRefused as exc:
            if isinstance(exc, PasswordRefused):
                raise
            return False
        return True

    def switch_to_mass_storage(self, password: str) -> None:
        self._call("SetMSDC", _password(password))


def dock_sdk_recorder(lib: Gat947Sdk | str | Path, id_code: str, password: str,
                      station_clock: Callable[[], datetime],
                      wait_for_volume: Callable[[], Path | None], timeout: float, *,
                      station_tz: tzinfo | None = None, poll_interval: float = 0.5,
                      stop: threading.Event | None = None,
                      lookup: Lookup | None = None) -> MassStorageRecorder:
    """Dock one recorder through its SDK and return it as mass storage with an SDK identity.

    ``station_clock`` gives the station's aware time; ``station_tz`` is the zone the
    recorders' clocks run in (default: this machine's). ``wait_for_volume`` is asked
    every ``poll_interval`` seconds, up to ``timeout``, for the volume that appears
    after the switch (see ``devices.mass_storage.appearing_volume``); setting ``stop``
    abandons the wait. The recorder says who carries it; which of our units it belongs
    to comes from the station's registry (``lookup`` by the serial it reports), never
    from the device.
    """
    sdk = lib if isinstance(lib, Gat947Sdk) else Gat947Sdk(lib)
    zone = station_tz or datetime.now().astimezone().tzinfo
    assert zone is not None  # astimezone() always sets one
    with sdk.session(id_code):
        info = sdk.read_info(password)
        clock = sdk.read_clock(password, station_clock, zone)  # before the sync, always
        synced = sdk.sync_time(password)
        sdk.switch_to_mass_storage(password)
    volume = _await_volume(wait_for_volume, timeout, poll_interval, stop)
    registered = lookup(info.serial) if lookup is not None and info.serial else None
    identity = RecorderIdentity(
        serial=info.serial or None, model=id_code or None, officer_no=info.officer_no or None,
        officer_name=info.officer_name or None, unit_no=info.unit_no or None,
        unit_name=info.unit_name or None,
        device_clock=clock.device_clock if clock else None,
        clock_offset_seconds=clock.offset_seconds if clock else None,
        source="sdk", clock_synced=synced,
        unit_code=registered.unit_code if registered is not None else None)
    recorder = MassStorageRecorder(volume, identity=identity)
    _check_volume_belongs(recorder, info.serial)
    return recorder


def _await_volume(wait_for_volume: Callable[[], Path | None], timeout: float, poll_interval: float,
                  stop: threading.Event | None) -> Path:
    waiter = stop or threading.Event()
    deadline = time.monotonic() + timeout
    while True:
        volume = wait_for_volume()
        if volume is not None:
            return volume
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise VolumeTimeout(msg("the recorder switched to mass storage but no volume appeared within "
                                    "{timeout:g} s", timeout=timeout),
                                hint=msg("check that the station mounts USB disks under its mount roots, "
                                         "then dock the recorder again"))
        if waiter.wait(min(poll_interval, remaining)):
            raise DeviceError(msg("docking was cancelled while waiting for the recorder's volume"),
                              hint=msg("dock the recorder again"))


def _check_volume_belongs(recorder: MassStorageRecorder, serial: str) -> None:
    """Refuse a volume whose footage names only other serials (another recorder docked
    at the same moment): attributing it to this officer would be wrong."""
    named = serials_named(f.path for f in recorder.list_files())
    wanted = serial.casefold()
    if not serial or not named:
        return
    if not any(wanted in s.casefold() or s.casefold() in wanted for s in named):
        raise VolumeMismatch(
            msg("volume {root} holds footage of recorder(s) {named}, not of {serial} that was just docked",
                root=recorder.root, named=', '.join(sorted(named)), serial=serial),
            hint=msg("dock one recorder at a time, then dock this one again"))


def _failure(name: str, code: int) -> DeviceError:
    if code == CHECK_PWD_FAILED:
        return PasswordRefused(msg("the station's recorder password was refused ({name})", name=name),
                               hint=REFUSED_LOGIN_HINT)
    if code == CONNECT_FAILED and name == "Init_Device":
        return RecorderUnplugged(msg("no recorder answered Init_Device: none is plugged in, or it is not "
                                     "the model the station's ID code names"),
                                 hint=msg("check the cable and the recorder ID code, then dock it again"))
    if code == CONNECT_FAILED:
        return RecorderUnplugged(msg("the recorder stopped answering at {name}: it was unplugged",
                                     name=name),
                                 hint=msg("check the cable, then dock the recorder again"))
    if code == SET_SYSTEMTIME_FAILED:
        return RecorderRefused(msg("the recorder refused to set its clock"),
                               hint=msg("check the recorder's clock by hand"))
    if code == MSDC_FAILED:
        return RecorderRefused(msg("the recorder refused to switch to USB mass storage"),
                               hint=msg("unplug it, plug it in again and dock it again"))
    return DeviceError(msg("{name} failed with acknowledgement code {code}", name=name, code=code),
                       hint=msg("dock the recorder again; if it keeps failing, ask its vendor"))


def _password(password: str) -> bytes:
    return password.encode(ENCODING)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConfigError(msg("the station clock returned a time without a time zone"),
                          hint=msg("pass a clock returning aware times, e.g. lambda: datetime.now(UTC)"))
    return moment
