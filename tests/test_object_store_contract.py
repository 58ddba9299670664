"""One contract for every object store: local folder, S3 on moto, S3 on Ceph RGW.

Each test in the first part runs against every backend (fixture ``backend``). The
S3-only tests after it cover what only an S3 adapter has (endpoints, buckets,
tokens), and the Ceph tests at the end ask what a court would: can anyone, with
the raw S3 API and no help from our code, remove or weaken a locked original?
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import (
    AlreadyExists,
    ConfigError,
    IntegrityError,
    NotFound,
    RetentionLocked,
    StorageUnavailable,
)
from storage.local import LocalObjectStore
from storage.objects import (
    InvalidStorageRequest,
    ObjectStore,
    StoredObject,
    Upload,
    derivative_key,
    normalize_retention,
    original_key,
)
from storage.s3 import MIB, S3ObjectStore
from tests.store_fixtures import (  # noqa: F401 - the *_fixture imports register fixtures
    S3_TEST_PART_SIZE,
    StoreBackend,
    backend_fixture,
    ceph_backend_fixture,
    ceph_bucket_fixture,
    ceph_client_fixture,
    ceph_settings_fixture,
    create_test_bucket,
    moto_backend_fixture,
    moto_bucket_fixture,
    moto_client_fixture,
    moto_endpoint_fixture,
    s3_backend,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

BIG = 11 * MIB + 12_345  # three parts of 5 MiB (the last one short)
# Chunks that do not line up with part boundaries.
ODD_CHUNK = MIB + 7


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def days_from_now(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def feed(store: ObjectStore, data: bytes, chunk: int = ODD_CHUNK) -> Upload:
    upload = store.begin_upload()
    for offset in range(0, len(data), chunk):
        upload.write(data[offset : offset + chunk])
    return upload


def put(
    store: ObjectStore, data: bytes, *, retain_until: datetime | None = None, key: str | None = None
) -> StoredObject:
    return feed(store, data).commit(key or original_key(sha256(data)), retain_until=retain_until)


def read(
    store: ObjectStore,
    key: str,
    version_id: str | None = None,
    *,
    start: int = 0,
    end: int | None = None,
) -> bytes:
    with store.open(key, version_id, start=start, end=end) as reader:
        return b"".join(reader)


# --- the contract, for every backend --------------------------------------------------


def test_round_trip_keeps_bytes_hash_and_retention(backend: StoreBackend) -> None:
    data = os.urandom(300_000)
    until = days_from_now(30)
    upload = feed(backend.store, data, chunk=4096 + 1)
    assert (upload.sha256, upload.size) == (sha256(data), len(data))

    stored = upload.commit(original_key(sha256(data)), retain_until=until, content_type="video/mp4")

    assert (stored.sha256, stored.size) == (sha256(data), len(data))
    assert stored.retain_until == normalize_retention(until)
    assert stored.legal_hold is False
    assert stored.content_type == "video/mp4"
    assert not upload.duplicate
    assert backend.store.head(stored.key) == stored
    assert backend.store.read_back_sha256(stored.key, stored.version_id) == (sha256(data), len(data))
    assert read(backend.store, stored.key) == data
    assert backend.store.exists(stored.key)
    assert backend.store.temporaries() == []


def test_empty_object(backend: StoreBackend) -> None:
    stored = put(backend.store, b"")

    assert (stored.size, stored.sha256) == (0, sha256(b""))
    assert read(backend.store, stored.key) == b""
    assert backend.store.read_back_sha256(stored.key) == (sha256(b""), 0)


@pytest.mark.parametrize("size", [S3_TEST_PART_SIZE, BIG], ids=["one-part", "three-parts"])
def test_multipart_object(backend: StoreBackend, size: int) -> None:
    data = os.urandom(size)
    stored = put(backend.store, data, retain_until=days_from_now(1))

    assert (stored.sha256, stored.size) == (sha256(data), size)
    assert backend.store.read_back_sha256(stored.key) == (sha256(data), size)
    boundary = S3_TEST_PART_SIZE
    assert read(backend.store, stored.key, start=boundary - 3, end=boundary + 3) == data[
        boundary - 3 : boundary + 3
    ]
    assert backend.store.temporaries() == []
    if backend.keeps_versions:
        assert backend.parts_sent == list(range(1, -(-size // S3_TEST_PART_SIZE) + 1))


@given(data=st.binary(max_size=20_000), cuts=st.lists(st.integers(0, 20_000), max_size=8))
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_chunking_stores_the_same_bytes(
    backend: StoreBackend, data: bytes, cuts: list[int]
) -> None:
    upload = backend.store.begin_upload()
    edges = sorted({0, len(data), *(min(cut, len(data)) for cut in cuts)})
    for start, end in itertools.pairwise(edges):
        upload.write(data[start:end])

    stored = upload.commit(original_key(sha256(data)), retain_until=None)

    assert stored.sha256 == sha256(data)
    assert read(backend.store, stored.key) == data


def test_same_content_twice_is_stored_once(backend: StoreBackend) -> None:
    data = os.urandom(50_000)
    until = days_from_now(2)
    first = put(backend.store, data, retain_until=until)

    again = feed(backend.store, data)
    second = again.commit(first.key, retain_until=until)

    assert again.duplicate
    assert second == first
    assert backend.version_count(first.key) == 1
    assert list(backend.store.list("originals/")) == [first.key]
    assert backend.store.temporaries() == []


def test_big_duplicate_leaves_no_temporary(backend: StoreBackend) -> None:
    data = os.urandom(S3_TEST_PART_SIZE + 1000)
    first = put(backend.store, data)

    again = feed(backend.store, data)
    assert again.commit(first.key, retain_until=None) == first
    assert backend.version_count(first.key) == 1
    assert backend.store.temporaries() == []


def test_duplicate_commit_lengthens_but_never_shortens_retention(backend: StoreBackend) -> None:
    data = os.urandom(1000)
    first = put(backend.store, data, retain_until=days_from_now(1))
    five_days = days_from_now(5)

    longer = put(backend.store, data, retain_until=five_days)
    assert longer.retain_until == normalize_retention(five_days)
    assert longer.version_id == first.version_id
    shorter = put(backend.store, data, retain_until=days_from_now(2))
    assert shorter.retain_until == normalize_retention(five_days)
    assert backend.store.head(first.key).retain_until == normalize_retention(five_days)


def test_existing_key_refused_when_if_absent_is_false(backend: StoreBackend) -> None:
    data = os.urandom(1000)
    stored = put(backend.store, data)

    with pytest.raises(AlreadyExists):
        feed(backend.store, data).commit(stored.key, retain_until=None, if_absent=False)
    assert backend.version_count(stored.key) == 1
    assert backend.store.temporaries() == []


@pytest.mark.parametrize("size", [1000, S3_TEST_PART_SIZE + 1000], ids=["small", "multipart"])
def test_different_content_under_an_existing_key_is_refused(
    backend: StoreBackend, size: int
) -> None:
    original = os.urandom(size)
    stored = put(backend.store, original, key="cases/2024-0001/statement.bin",
                 retain_until=days_from_now(1))

    intruder = feed(backend.store, os.urandom(size))
    with pytest.raises(IntegrityError, match="different content"):
        intruder.commit(stored.key, retain_until=None)

    assert backend.store.head(stored.key) == stored
    assert backend.store.read_back_sha256(stored.key) == (sha256(original), size)
    intruder.abort()
    assert backend.store.temporaries() == []


def test_read_back_detects_a_tampered_object(backend: StoreBackend) -> None:
    data = os.urandom(10_000)
    stored = put(backend.store, data, retain_until=days_from_now(1))

    backend.tamper(stored.key)

    tampered_sha256, size = backend.store.read_back_sha256(stored.key)
    assert size == len(data)
    assert tampered_sha256 != stored.sha256
    if backend.keeps_versions:  # the locked original version is still there, intact
        assert backend.store.read_back_sha256(stored.key, stored.version_id) == (
            stored.sha256, len(data))
        assert read(backend.store, stored.key, stored.version_id) == data


def test_delete_is_refused_while_retained(backend: StoreBackend) -> None:
    data = os.urandom(1000)
    stored = put(backend.store, data, retain_until=days_from_now(1))

    with pytest.raises(RetentionLocked, match="retained until"):
        backend.store.delete(stored.key)
    with pytest.raises(RetentionLocked):
        backend.store.delete(stored.key, stored.version_id)

    assert backend.store.read_back_sha256(stored.key) == (sha256(data), len(data))


def test_delete_is_refused_under_legal_hold_and_allowed_after(backend: StoreBackend) -> None:
    stored = put(backend.store, os.urandom(1000))
    backend.store.set_legal_hold(stored.key, True)
    assert backend.store.head(stored.key).legal_hold

    with pytest.raises(RetentionLocked, match="legal hold"):
        backend.store.delete(stored.key)
    assert backend.store.exists(stored.key)

    backend.store.set_legal_hold(stored.key, False)
    backend.store.delete(stored.key)
    assert not backend.store.exists(stored.key)
    with pytest.raises(NotFound):
        backend.store.head(stored.key)


def test_retention_can_be_extended_but_not_shortened(backend: StoreBackend) -> None:
    stored = put(backend.store, os.urandom(1000), retain_until=days_from_now(10))

    later = days_from_now(20)
    backend.store.extend_retention(stored.key, later)
    assert backend.store.head(stored.key).retain_until == normalize_retention(later)

    with pytest.raises(RetentionLocked, match="shorten"):
        backend.store.extend_retention(stored.key, days_from_now(15))
    with pytest.raises(InvalidStorageRequest, match="time zone"):
        backend.store.extend_retention(stored.key, datetime.now() + timedelta(days=30))
    with pytest.raises(InvalidStorageRequest, match="future"):
        backend.store.extend_retention(stored.key, days_from_now(-1))
    assert backend.store.head(stored.key).retain_until == normalize_retention(later)


def test_retention_can_be_added_to_an_unretained_object(backend: StoreBackend) -> None:
    stored = put(backend.store, os.urandom(1000))
    assert stored.retain_until is None

    backend.store.extend_retention(stored.key, days_from_now(3))

    with pytest.raises(RetentionLocked):
        backend.store.delete(stored.key)


@pytest.mark.parametrize("size", [1000, S3_TEST_PART_SIZE + 1000], ids=["small", "multipart"])
def test_abort_leaves_no_temporary(backend: StoreBackend, size: int) -> None:
    upload = feed(backend.store, os.urandom(size))

    upload.abort()

    assert backend.store.temporaries() == []
    with pytest.raises(InvalidStorageRequest):
        upload.write(b"more")


def test_crashed_upload_is_listed_and_cleaned_up(backend: StoreBackend) -> None:
    kept = put(backend.store, os.urandom(1000), retain_until=days_from_now(1))
    crashed = feed(backend.store, os.urandom(S3_TEST_PART_SIZE + 1000))
    del crashed  # the process died: nobody commits or aborts it

    assert len(backend.store.temporaries()) == 1
    assert list(backend.store.list("")) == [kept.key]  # temporaries are not objects

    assert backend.store.cleanup_temporaries() == 1
    assert backend.store.temporaries() == []
    assert backend.store.read_back_sha256(kept.key) == (kept.sha256, kept.size)


def _interrupted_upload(store: ObjectStore, data: bytes) -> str | None:
    """Send the first two parts' worth of ``data``, then 'crash'; return the token."""
    upload = feed(store, data[: 2 * S3_TEST_PART_SIZE + 100])
    return upload.resume_token


def test_resumed_upload_completes_without_resending_parts(backend: StoreBackend) -> None:
    data = os.urandom(BIG)
    token = _interrupted_upload(backend.store, data)
    backend.parts_sent.clear()

    resumed = backend.store.begin_upload(resume_token=token)
    for offset in range(0, len(data), ODD_CHUNK):
        resumed.write(data[offset : offset + ODD_CHUNK])
    stored = resumed.commit(original_key(sha256(data)), retain_until=days_from_now(1))

    assert (stored.sha256, stored.size) == (sha256(data), len(data))
    assert backend.store.read_back_sha256(stored.key) == (sha256(data), len(data))
    assert backend.store.temporaries() == []
    if backend.keeps_versions:
        assert token is not None
        assert backend.parts_sent == [3]  # parts 1 and 2 were already on the server


def test_resume_sends_again_parts_whose_bytes_differ(backend: StoreBackend) -> None:
    first_attempt = os.urandom(BIG)
    token = _interrupted_upload(backend.store, first_attempt)
    backend.parts_sent.clear()
    # The stream read again differs in its first part (e.g. a bad read the first time).
    data = os.urandom(100) + first_attempt[100:]

    resumed = backend.store.begin_upload(resume_token=token)
    for offset in range(0, len(data), ODD_CHUNK):
        resumed.write(data[offset : offset + ODD_CHUNK])
    stored = resumed.commit(original_key(sha256(data)), retain_until=None)

    assert backend.store.read_back_sha256(stored.key) == (sha256(data), len(data))
    assert read(backend.store, stored.key, end=200) == data[:200]
    if backend.keeps_versions:
        assert backend.parts_sent == [1, 3]


def test_byte_ranges(backend: StoreBackend) -> None:
    data = os.urandom(1000)
    stored = put(backend.store, data)
    key = stored.key

    assert read(backend.store, key, start=10, end=20) == data[10:20]
    assert read(backend.store, key, start=990) == data[990:]
    assert read(backend.store, key, start=995, end=5000) == data[995:]  # clamped like HTTP
    assert read(backend.store, key, start=1000) == b""
    assert read(backend.store, key, start=500, end=500) == b""
    with backend.store.open(key, start=100, end=300) as reader:
        assert (reader.start, reader.end, reader.total_size) == (100, 300, 1000)
        assert reader.read(50) == data[100:150]
        assert reader.read() == data[150:300]
    with pytest.raises(InvalidStorageRequest):
        backend.store.open(key, start=1001)
    with pytest.raises(InvalidStorageRequest):
        backend.store.open(key, start=20, end=10)
    with pytest.raises(InvalidStorageRequest):
        backend.store.open(key, start=-1)


@given(bounds=st.tuples(st.integers(0, 4096), st.none() | st.integers(0, 5000)))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_range_matches_slicing(backend: StoreBackend, bounds: tuple[int, int | None]) -> None:
    data = bytes(range(256)) * 16  # 4096 bytes, the same object for every example
    key = original_key(sha256(data))
    if not backend.store.exists(key):
        put(backend.store, data)
    start, end = bounds
    if end is not None and end < start:
        start, end = end, start
    assert read(backend.store, key, start=start, end=end) == data[start:end]


def test_missing_objects_are_not_found(backend: StoreBackend) -> None:
    key = original_key("0" * 64)
    assert not backend.store.exists(key)
    for action in (
        lambda: backend.store.head(key),
        lambda: backend.store.open(key),
        lambda: backend.store.read_back_sha256(key),
        lambda: backend.store.delete(key),
        lambda: backend.store.extend_retention(key, days_from_now(1)),
        lambda: backend.store.set_legal_hold(key, True),
    ):
        with pytest.raises(NotFound):
            action()


UNSAFE_KEYS = ["", "../escape", "a//b", "/abs", "a/./b", "a/", "tmp/x", "a b", "originals/ä"]


def test_unsafe_keys_are_refused(backend: StoreBackend) -> None:
    upload = feed(backend.store, b"data")
    for key in UNSAFE_KEYS:
        with pytest.raises(InvalidStorageRequest):
            upload.commit(key, retain_until=None)
        with pytest.raises(InvalidStorageRequest):
            backend.store.head(key)
        with pytest.raises(InvalidStorageRequest):
            backend.store.open(key)
    upload.abort()
    assert list(backend.store.list("")) == []


def test_list_by_prefix(backend: StoreBackend) -> None:
    originals = sorted(put(backend.store, os.urandom(100)).key for _ in range(3))
    derived = put(backend.store, os.urandom(100),
                  key=derivative_key(sha256(b"x"), "proxy-720p.mp4")).key
    in_flight = feed(backend.store, os.urandom(S3_TEST_PART_SIZE + 1))

    assert list(backend.store.list("originals/")) == originals
    assert list(backend.store.list("derivatives/sha256/")) == [derived]
    assert list(backend.store.list(originals[0][:-10])) == [originals[0]]
    assert list(backend.store.list("")) == sorted([*originals, derived])
    in_flight.abort()


def test_a_committed_upload_takes_no_more_data(backend: StoreBackend) -> None:
    upload = feed(backend.store, b"statement")
    upload.commit(original_key(sha256(b"statement")), retain_until=None)

    with pytest.raises(InvalidStorageRequest):
        upload.write(b"appended")
    with pytest.raises(InvalidStorageRequest):
        upload.commit(original_key(sha256(b"statement")), retain_until=None)
    upload.abort()  # harmless after commit
    assert backend.store.read_back_sha256(original_key(sha256(b"statement")))[0] == sha256(
        b"statement")


def test_commit_refuses_a_past_retention_date(backend: StoreBackend) -> None:
    upload = feed(backend.store, b"x")
    with pytest.raises(InvalidStorageRequest, match="future"):
        upload.commit(original_key(sha256(b"x")), retain_until=days_from_now(-1))
    assert not backend.store.exists(original_key(sha256(b"x")))
    upload.abort()


# --- keys -----------------------------------------------------------------------------


@given(st.binary())
def test_original_keys_fan_out_by_hash(data: bytes) -> None:
    digest = sha256(data)
    assert original_key(digest) == f"originals/sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert derivative_key(digest, "thumb.jpg").endswith(f"/{digest}/thumb.jpg")


@pytest.mark.parametrize("bad", ["", "abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65])
def test_original_key_refuses_what_is_not_a_sha256(bad: str) -> None:
    with pytest.raises(InvalidStorageRequest):
        original_key(bad)


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 129, "a..b"])
def test_derivative_key_refuses_unsafe_names(name: str) -> None:
    with pytest.raises(InvalidStorageRequest):
        derivative_key("0" * 64, name)


# --- S3 adapter only ------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_endpoint_is_unavailable_quickly() -> None:
    store = S3ObjectStore.connect(
        f"http://127.0.0.1:{_closed_port()}", "evidence", "key", "secret",
        connect_timeout=0.5, max_attempts=1,
    )
    began = time.monotonic()
    with pytest.raises(StorageUnavailable, match=r"Cannot reach the object store at http://127"):
        store.head(original_key("0" * 64))
    upload = feed(store, b"small")
    with pytest.raises(StorageUnavailable):
        upload.commit(original_key(sha256(b"small")), retain_until=None)
    with pytest.raises(StorageUnavailable):
        store.ensure_bucket()
    stalled = store.begin_upload()
    with pytest.raises(StorageUnavailable):
        stalled.write(bytes(store.part_size))  # a full part goes out at once
    with pytest.raises(InvalidStorageRequest, match="failed"):
        stalled.write(b"more")  # the lost part would leave a hole in the object
    with pytest.raises(InvalidStorageRequest, match="failed"):
        stalled.commit(original_key("0" * 64), retain_until=None)
    stalled.abort()
    assert time.monotonic() - began < 5


def test_missing_bucket_is_a_configuration_error(moto_endpoint: str) -> None:
    store = S3ObjectStore.connect(moto_endpoint, "no-such-bucket-here", "key", "secret")
    upload = feed(store, b"data")
    with pytest.raises(ConfigError, match="ensure_bucket"):
        upload.commit("cases/a", retain_until=None)


def test_bucket_without_object_lock_is_refused(moto_endpoint: str) -> None:
    store = S3ObjectStore.connect(moto_endpoint, "evidence-unlocked", "key", "secret")
    store.client.create_bucket(Bucket="evidence-unlocked")
    with pytest.raises(ConfigError, match="without Object Lock"):
        store.ensure_bucket()


def test_bucket_with_a_default_retention_is_refused(moto_endpoint: str) -> None:
    store = S3ObjectStore.connect(moto_endpoint, "evidence-default-retention", "key", "secret")
    store.ensure_bucket()
    store.client.put_object_lock_configuration(
        Bucket=store.bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    with pytest.raises(ConfigError, match="default retention"):
        store.ensure_bucket()


def test_a_resumed_upload_may_turn_out_small(backend: StoreBackend) -> None:
    token = _interrupted_upload(backend.store, os.urandom(BIG))
    # The stream fed again is shorter than one part: exactly it is stored, and the
    # parts left on the server by the first attempt are dropped.
    resumed = backend.store.begin_upload(resume_token=token)
    resumed.write(b"short")
    stored = resumed.commit(original_key(sha256(b"short")), retain_until=None)

    assert backend.store.read_back_sha256(stored.key) == (sha256(b"short"), 5)
    assert backend.store.temporaries() == []


def test_foreign_resume_tokens_are_refused(
    backend: StoreBackend, moto_client: S3Client, tmp_path: Path
) -> None:
    token = _interrupted_upload(backend.store, os.urandom(2 * S3_TEST_PART_SIZE + 100))
    assert token is not None
    others: list[ObjectStore] = [
        LocalObjectStore(tmp_path / "other"),
        s3_backend("s3-moto", moto_client, create_test_bucket(moto_client)).store,
    ]
    for other in others:
        if type(other) is type(backend.store):
            continue
        with pytest.raises(InvalidStorageRequest):
            other.begin_upload(resume_token=token)
    with pytest.raises(InvalidStorageRequest, match="not one this store issued"):
        backend.store.begin_upload(resume_token="{not json")
    crafted = {"format": 1, "temporary": "../../objects/a", "bucket": backend.bucket or "x",
               "key": "originals/a", "upload_id": "u", "part_size": 1}
    with pytest.raises(InvalidStorageRequest):  # a path where a temporary name belongs
        backend.store.begin_upload(resume_token=json.dumps(crafted))


def test_a_token_for_another_bucket_is_refused(
    moto_client: S3Client, moto_backend: StoreBackend
) -> None:
    token = _interrupted_upload(moto_backend.store, os.urandom(2 * S3_TEST_PART_SIZE + 100))
    other = s3_backend("s3-moto", moto_client, create_test_bucket(moto_client))
    with pytest.raises(InvalidStorageRequest, match="belongs to bucket"):
        other.store.begin_upload(resume_token=token)


def test_resume_of_a_vanished_upload_starts_afresh(moto_backend: StoreBackend) -> None:
    moto = moto_backend
    data = os.urandom(BIG)
    token = _interrupted_upload(moto.store, data)
    assert moto.store.cleanup_temporaries() == 1  # e.g. a lifecycle rule aborted it

    resumed = feed_into(moto.store.begin_upload(resume_token=token), data)
    stored = resumed.commit(original_key(sha256(data)), retain_until=None)
    assert moto.store.read_back_sha256(stored.key) == (sha256(data), len(data))


def test_objects_not_written_by_us_are_suspect(moto_backend: StoreBackend) -> None:
    moto = moto_backend
    assert moto.raw is not None
    moto.raw.put_object(Bucket=str(moto.bucket), Key=moto.object_name("cases/foreign"),
                        Body=b"who wrote this")
    with pytest.raises(IntegrityError, match="recorded SHA-256"):
        moto.store.head("cases/foreign")
    with pytest.raises(IntegrityError):
        feed(moto.store, b"who wrote this").commit("cases/foreign", retain_until=None)


def feed_into(upload: Upload, data: bytes) -> Upload:
    for offset in range(0, len(data), ODD_CHUNK):
        upload.write(data[offset : offset + ODD_CHUNK])
    return upload


# --- what a court would ask (Ceph RGW, raw S3 API, no help from our code) --------------


@pytest.mark.ceph
@pytest.mark.parametrize("size", [1000, BIG], ids=["put", "multipart-copy"])
def test_a_locked_original_cannot_be_removed_or_weakened(
    ceph_backend: StoreBackend, size: int
) -> None:
    data = os.urandom(size)
    stored = put(ceph_backend.store, data, retain_until=days_from_now(1))
    raw, bucket = ceph_backend.raw, str(ceph_backend.bucket)
    assert raw is not None and stored.version_id is not None
    name = ceph_backend.object_name(stored.key)
    version_id = stored.version_id

    head = raw.head_object(Bucket=bucket, Key=name, VersionId=version_id)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == stored.retain_until

    def refused(call: Callable[[], object]) -> int:
        with pytest.raises(ClientError) as caught:
            call()
        status: int = caught.value.response["ResponseMetadata"]["HTTPStatusCode"]
        return status

    assert refused(lambda: raw.delete_object(Bucket=bucket, Key=name, VersionId=version_id)) == 403
    assert refused(lambda: raw.delete_object(
        Bucket=bucket, Key=name, VersionId=version_id, BypassGovernanceRetention=True)) == 403
    assert refused(lambda: raw.put_object_retention(
        Bucket=bucket, Key=name, VersionId=version_id,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": days_from_now(0.5)})) == 403
    assert refused(lambda: raw.put_object_retention(
        Bucket=bucket, Key=name, VersionId=version_id,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": days_from_now(2)})) == 403

    # A plain DELETE only hides the key behind a marker; the version stays readable.
    raw.delete_object(Bucket=bucket, Key=name)
    assert not ceph_backend.store.exists(stored.key)
    assert ceph_backend.store.read_back_sha256(stored.key, version_id) == (sha256(data), size)
    after = raw.head_object(Bucket=bucket, Key=name, VersionId=version_id)
    assert after["ObjectLockMode"] == "COMPLIANCE"
    assert after["ObjectLockRetainUntilDate"] == stored.retain_until


@pytest.mark.ceph
def test_a_legal_hold_survives_a_bypass_attempt(ceph_backend: StoreBackend) -> None:
    stored = put(ceph_backend.store, os.urandom(1000))
    ceph_backend.store.set_legal_hold(stored.key, True)
    raw = ceph_backend.raw
    assert raw is not None and stored.version_id is not None

    with pytest.raises(ClientError) as caught:
        raw.delete_object(Bucket=str(ceph_backend.bucket), Key=ceph_backend.object_name(stored.key),
                          VersionId=stored.version_id, BypassGovernanceRetention=True)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert ceph_backend.store.head(stored.key).legal_hold
