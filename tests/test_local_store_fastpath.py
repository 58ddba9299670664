"""The local store's fast path: O_DIRECT staging, hashing on a second thread, disk read-back.

Every test runs on the disk (tmp_path, ext4 here), on tmpfs (/dev/shm) and on a
file system that refuses O_DIRECT (simulated: fcntl answers EINVAL), so the
buffered fallback is covered whatever this machine's tmpfs allows.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import mmap
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import NotFound, StorageError
from ingest.originals import copy_stream
from storage.local import LocalObjectStore
from storage.objects import InvalidStorageRequest, original_key

MIB = 1024 * 1024
ODD_SIZES = [0, 1, 4095, 4096, 4097, 8 * MIB - 1, 8 * MIB, 8 * MIB + 1]
FILESYSTEMS = ["disk", "tmpfs", "no-direct-io"]
# An unaligned ENOSPC trigger: the failure lands in the middle of a staged block.
ENOSPC_AFTER = 3 * MIB + 123

_real_fcntl = fcntl.fcntl


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def refuse_direct_io(fd: int, cmd: int, arg: int = 0) -> Any:
    """fcntl as on a file system without O_DIRECT support."""
    if cmd == fcntl.F_SETFL and arg & os.O_DIRECT:
        raise OSError(errno.EINVAL, "Invalid argument")
    return _real_fcntl(fd, cmd, arg)


def has_direct_io(fd: int) -> bool:
    return bool(_real_fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)


@pytest.fixture(scope="module")
def shm_base() -> Iterator[Path | None]:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="evidence-fastpath-", dir=shm))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=FILESYSTEMS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path, shm_base: Path | None,
               monkeypatch: pytest.MonkeyPatch) -> Callable[[], LocalObjectStore]:
    """A factory of empty stores on the file system named by the parameter."""
    kind: str = request.param
    if kind == "tmpfs":
        if shm_base is None:
            pytest.skip("no writable /dev/shm")
        base = shm_base
    else:
        base = tmp_path
    if kind == "no-direct-io":
        monkeypatch.setattr(fcntl, "fcntl", refuse_direct_io)
    return lambda: LocalObjectStore(base / uuid.uuid4().hex)


def aligned_copy(data: bytes) -> memoryview:
    """``data`` in a page-aligned writable buffer, as ingest.originals reads into."""
    buffer = mmap.mmap(-1, max(len(data), 1))
    buffer[: len(data)] = data
    return memoryview(buffer)[: len(data)]


def store_in_chunks(store: LocalObjectStore, data: bytes, sizes: list[int],
                    aligned: bool = False) -> str:
    upload = store.begin_upload()
    offset = 0
    for size in sizes:
        piece = data[offset:offset + size]
        upload.write(aligned_copy(piece) if aligned else piece)
        offset += size
    assert offset == len(data)
    key = original_key(upload.sha256)
    upload.commit(key, retain_until=None)
    return key


def stored_bytes(store: LocalObjectStore, key: str) -> bytes:
    with store.open(key) as reader:
        return reader.read()


@pytest.mark.parametrize("size", ODD_SIZES)
def test_odd_sizes_round_trip(make_store: Callable[[], LocalObjectStore], size: int) -> None:
    store = make_store()
    data = random.Random(size).randbytes(size)
    key = store_in_chunks(store, data, [8 * MIB] * (size // (8 * MIB)) + [size % (8 * MIB)])
    assert key == original_key(sha256(data))
    assert store.read_back_sha256(key) == (sha256(data), size)
    assert store.head(key).size == size
    assert stored_bytes(store, key) == data
    assert store.temporaries() == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.one_of(st.integers(0, 70_000), st.integers(250_000, 3 * MIB),
                                st.sampled_from([4096, 8 * MIB - 4096, 8 * MIB])),
                      max_size=6),
       aligned=st.booleans(), seed=st.integers(0, 2**32))
def test_random_chunks_round_trip(make_store: Callable[[], LocalObjectStore], sizes: list[int],
                                  aligned: bool, seed: int) -> None:
    store = make_store()
    data = random.Random(seed).randbytes(sum(sizes))
    key = store_in_chunks(store, data, sizes, aligned=aligned)
    assert store.read_back_sha256(key) == (sha256(data), len(data))
    assert stored_bytes(store, key) == data


def test_caller_may_reuse_its_buffer_once_write_returns(
        make_store: Callable[[], LocalObjectStore]) -> None:
    store = make_store()
    rng = random.Random(7)
    pieces = [rng.randbytes(MIB) for _ in range(12)]
    buffer = mmap.mmap(-1, MIB)
    view = memoryview(buffer)
    upload = store.begin_upload()
    for piece in pieces:
        buffer[:] = piece
        upload.write(view)
        buffer[:] = bytes(MIB)  # scribbling over it must change neither hash nor file
    stored = upload.commit(original_key(upload.sha256), retain_until=None)
    whole = b"".join(pieces)
    assert stored.sha256 == sha256(whole)
    assert stored_bytes(store, stored.key) == whole


def test_nothing_is_visible_until_commit(make_store: Callable[[], LocalObjectStore]) -> None:
    store = make_store()
    data = random.Random(3).randbytes(9 * MIB + 17)
    key = original_key(sha256(data))
    upload = store.begin_upload()
    upload.write(data)
    assert not store.exists(key)
    assert list(store.list("")) == []
    with pytest.raises(NotFound):
        store.head(key)
    assert len(store.temporaries()) == 1
    upload.commit(key, retain_until=None)
    assert list(store.list("")) == [key]
    assert store.temporaries() == []
    assert (store.root / "objects" / key).stat().st_mode & 0o777 == 0o444


def test_every_byte_is_fsynced_before_the_object_appears(
        make_store: Callable[[], LocalObjectStore], monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_store()
    data = random.Random(4).randbytes(8 * MIB + 5000)  # one block, whole pages and a tail
    upload = store.begin_upload()
    upload.write(data)
    events: list[tuple[str, int]] = []
    real_fsync, real_link = os.fsync, os.link
    temporary = upload.temporary_path.stat().st_ino

    def fsync(fd: int) -> None:
        if os.fstat(fd).st_ino == temporary:
            events.append(("fsync", os.fstat(fd).st_size))
        real_fsync(fd)

    def link(source: Any, target: Any, **kwargs: Any) -> None:
        events.append(("link", 0))
        real_link(source, target, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    upload.commit(original_key(sha256(data)), retain_until=None)
    assert events == [("fsync", len(data)), ("link", 0)]


def fail_writes_after(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.write reports a full disk once ``limit`` bytes were written (only upload files)."""
    real_write = os.write
    written = 0

    def write(fd: int, data: Any) -> int:
        nonlocal written
        if not os.readlink(f"/proc/self/fd/{fd}").endswith(".upload"):
            return real_write(fd, data)
        room = limit - written
        if room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        if len(memoryview(data)) > room:
            # A full disk may still take part of a buffered write, never a direct one.
            if has_direct_io(fd):
                raise OSError(errno.ENOSPC, "No space left on device")
            data = memoryview(data)[:room]
        done = real_write(fd, data)
        written += done
        return done

    monkeypatch.setattr(os, "write", write)


def test_a_full_disk_while_writing_leaves_no_object(
        make_store: Callable[[], LocalObjectStore], monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_store()
    data = random.Random(5).randbytes(20 * MIB)
    key = original_key(sha256(data))
    fail_writes_after(ENOSPC_AFTER, monkeypatch)
    upload = store.begin_upload()
    with pytest.raises(StorageError, match="disk is full"):
        for start in range(0, len(data), 4 * MIB):
            upload.write(data[start:start + 4 * MIB])
    with pytest.raises(InvalidStorageRequest):
        upload.commit(key, retain_until=None)
    upload.abort()
    assert not store.exists(key)
    assert store.temporaries() == []


def test_a_failure_at_commit_leaves_no_object(
        make_store: Callable[[], LocalObjectStore], monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_store()
    data = random.Random(6).randbytes(MIB + 3)  # staged until commit on the direct path
    key = original_key(sha256(data))
    upload = store.begin_upload()
    upload.write(data)
    fail_writes_after(0, monkeypatch)  # the staged bytes do not fit
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # on the buffered path the disk fills up under fsync
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".upload"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(StorageError, match="disk is full"):
        upload.commit(key, retain_until=None)
    with pytest.raises(InvalidStorageRequest):  # never a second fsync after a failed one
        upload.commit(key, retain_until=None)
    upload.abort()
    assert not store.exists(key)
    assert store.temporaries() == []


def test_a_device_refusing_the_alignment_falls_back_to_buffered_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalObjectStore(tmp_path / "store")
    real_write = os.write
    refused = 0

    def write(fd: int, data: Any) -> int:
        nonlocal refused
        if has_direct_io(fd):  # as if the device wanted bigger blocks than we use
            refused += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    data = random.Random(8).randbytes(17 * MIB + 1)
    key = store_in_chunks(store, data, [8 * MIB, 8 * MIB, MIB + 1], aligned=True)
    monkeypatch.undo()
    assert refused == 1 or not has_direct_io_support(tmp_path)
    assert store.read_back_sha256(key) == (sha256(data), len(data))


def has_direct_io_support(folder: Path) -> bool:
    probe = folder / "probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        _real_fcntl(fd, fcntl.F_SETFL, _real_fcntl(fd, fcntl.F_GETFL) | os.O_DIRECT)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        probe.unlink()


@pytest.mark.parametrize("size", [4097, 8 * MIB, 8 * MIB + 4096 + 9])
def test_read_back_bypasses_the_page_cache(
        make_store: Callable[[], LocalObjectStore], monkeypatch: pytest.MonkeyPatch,
        size: int) -> None:
    store = make_store()
    data = random.Random(size).randbytes(size)
    key = store_in_chunks(store, data, [size])
    direct = fcntl.fcntl is _real_fcntl and has_direct_io_support(store.root)
    reads: list[tuple[bool, int]] = []
    dropped: list[int] = []
    real_readv, real_fadvise = os.readv, os.posix_fadvise

    def readv(fd: int, buffers: Any) -> int:
        got = real_readv(fd, buffers)
        reads.append((has_direct_io(fd), got))
        return got

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        if advice == os.POSIX_FADV_DONTNEED:
            dropped.append(len(reads))
        real_fadvise(fd, offset, length, advice)

    monkeypatch.setattr(os, "readv", readv)
    monkeypatch.setattr(os, "posix_fadvise", fadvise)
    assert store.read_back_sha256(key) == (sha256(data), size)
    assert sum(got for _, got in reads) == size
    if direct:
        # Every read that returned bytes used O_DIRECT; only the EOF probe may not.
        assert all(was_direct for was_direct, got in reads if got)
    else:
        assert dropped and dropped[0] == 0  # the cache was dropped before the first read
        assert not any(was_direct for was_direct, _ in reads)


def test_read_back_where_unaligned_direct_reads_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Some file systems answer EINVAL, not 0, to an O_DIRECT read after the tail."""
    store = LocalObjectStore(tmp_path / "store")
    data = random.Random(10).randbytes(8 * MIB + 4096 + 5)
    key = store_in_chunks(store, data, [len(data)])
    real_readv = os.readv
    refused = 0

    def readv(fd: int, buffers: Any) -> int:
        nonlocal refused
        if has_direct_io(fd) and os.lseek(fd, 0, os.SEEK_CUR) % 4096:
            refused += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_readv(fd, buffers)

    monkeypatch.setattr(os, "readv", readv)
    assert store.read_back_sha256(key) == (sha256(data), len(data))
    assert refused == (1 if has_direct_io_support(tmp_path) else 0)


def test_read_back_sees_a_tampered_tail(make_store: Callable[[], LocalObjectStore]) -> None:
    store = make_store()
    data = random.Random(9).randbytes(8 * MIB + 4096 + 77)
    key = store_in_chunks(store, data, [len(data)])
    path = store.root / "objects" / key
    path.chmod(0o644)
    with path.open("r+b") as file:
        file.seek(len(data) - 1)
        file.write(bytes([data[-1] ^ 1]))
        file.flush()
        os.fsync(file.fileno())
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    assert store.read_back_sha256(key) == (sha256(tampered), len(data))


class ShortReads:
    """A source that hands out fewer bytes than asked, like a USB recorder may."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = data
        self._offset = 0
        self._rng = random.Random(seed)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        size = min(len(view), self._rng.choice([1, 511, 4096, 100_000, 3 * MIB]),
                   len(self._data) - self._offset)
        view[:size] = self._data[self._offset:self._offset + size]
        self._offset += size
        return size


@pytest.mark.parametrize("seed", [1, 2])
def test_copy_stream_with_short_reads(make_store: Callable[[], LocalObjectStore],
                                      seed: int) -> None:
    store = make_store()
    data = random.Random(seed).randbytes(11 * MIB + seed)
    source: Any = ShortReads(data, seed)
    copied = copy_stream(source, "clip.mp4", len(data), 0, store, None, None)
    assert (copied.sha256, copied.size) == (sha256(data), len(data))
    assert store.read_back_sha256(copied.stored.key) == (sha256(data), len(data))
    assert stored_bytes(store, copied.stored.key) == data
