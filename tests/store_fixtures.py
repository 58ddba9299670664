"""Object store backends for tests: a local folder, moto's S3 server, and Ceph RGW.

Import the ``*_fixture`` functions into a test module; they register as ``backend``,
``moto_backend``, ``ceph_backend`` and so on.
Ceph is found through the env file written by ``.ci/ceph-rgw/start``
($EVIDENCE_TEST_CEPH_ENV, default /tmp/ceph-rgw/env). Without it the Ceph cases are
skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from moto.server import ThreadedMotoServer

from domain.errors import StorageUnavailable
from storage.local import LocalObjectStore
from storage.objects import ObjectStore
from storage.s3 import MIB, S3ObjectStore

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

CEPH_ENV_DEFAULT = "/tmp/ceph-rgw/env"
IN_CI = os.environ.get("CI") == "true"
# S3's smallest part, so a ~11 MiB test object is a 3-part upload and a 3-part copy.
S3_TEST_PART_SIZE = 5 * MIB


@dataclass
class StoreBackend:
    """A store under test plus what a test needs to reach behind its back."""

    name: str
    store: ObjectStore
    tamper: Callable[[str], None]  # change the stored bytes of a key without the store
    raw: S3Client | None = None
    bucket: str | None = None
    parts_sent: list[int] = field(default_factory=list)  # S3 UploadPart calls seen

    @property
    def keeps_versions(self) -> bool:
        return self.raw is not None

    def object_name(self, key: str) -> str:
        """The S3 object name of ``key`` (each test's store has its own prefix)."""
        assert isinstance(self.store, S3ObjectStore)
        return self.store.prefix + key

    def version_count(self, key: str) -> int:
        """How many copies the store holds under ``key`` (S3: versions)."""
        if self.raw is None or self.bucket is None:
            return 1 if self.store.exists(key) else 0
        name = self.object_name(key)
        listing = self.raw.list_object_versions(Bucket=self.bucket, Prefix=name)
        return sum(1 for version in listing.get("Versions", []) if version["Key"] == name)


@pytest.fixture(scope="session", name="moto_endpoint")
def moto_endpoint_fixture() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session", name="moto_client")
def moto_client_fixture(moto_endpoint: str) -> S3Client:
    # One client per session: creating a boto3 client costs a few hundred ms.
    return s3_client(moto_endpoint, {})


@pytest.fixture(scope="session", name="moto_bucket")
def moto_bucket_fixture(moto_client: S3Client) -> str:
    """One Object Lock bucket for the session; each test's store gets its own prefix."""
    return create_test_bucket(moto_client)


def read_env_file(path: Path) -> dict[str, str]:
    """``export NAME=value`` lines, as written by .ci/ceph-rgw/start (no shell needed)."""
    settings: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and name:
            settings[name] = value.strip().strip("'\"")
    return settings


def _skip_or_fail(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a skipped Ceph test is a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session", name="ceph_settings")
def ceph_settings_fixture() -> dict[str, str]:
    """S3_ENDPOINT, AWS_ACCESS_KEY_ID, ... of the running Ceph RGW (skip, or fail in CI)."""
    path = Path(os.environ.get("EVIDENCE_TEST_CEPH_ENV", CEPH_ENV_DEFAULT))
    if not path.is_file():
        _skip_or_fail(f"Ceph RGW is not running (no {path}); start it with: "
                      "bash .ci/ceph-rgw/start")
    settings = read_env_file(path)
    try:
        S3ObjectStore(s3_client(settings["S3_ENDPOINT"], settings), "probe").exists("probe")
    except StorageUnavailable:
        _skip_or_fail(f"Ceph RGW at {settings['S3_ENDPOINT']} (from {path}) does not answer; "
                      "start it with: bash .ci/ceph-rgw/start")
    return settings


@pytest.fixture(scope="session", name="ceph_client")
def ceph_client_fixture(ceph_settings: dict[str, str]) -> S3Client:
    return s3_client(ceph_settings["S3_ENDPOINT"], ceph_settings)


@pytest.fixture(scope="session", name="ceph_bucket")
def ceph_bucket_fixture(ceph_client: S3Client) -> str:
    return create_test_bucket(ceph_client)


def s3_client(endpoint: str, settings: dict[str, str]) -> S3Client:
    return S3ObjectStore.connect(
        endpoint,
        "unused",
        settings.get("AWS_ACCESS_KEY_ID", "testing"),
        settings.get("AWS_SECRET_ACCESS_KEY", "testing"),
        settings.get("AWS_DEFAULT_REGION", "us-east-1"),
        connect_timeout=2.0,
        read_timeout=30.0,
        max_attempts=2,
    ).client


def create_test_bucket(client: S3Client) -> str:
    bucket = f"evidence-test-{uuid.uuid4().hex[:16]}"
    S3ObjectStore(client, bucket).ensure_bucket()
    return bucket


def s3_backend(name: str, client: S3Client, bucket: str) -> StoreBackend:
    """A store under a fresh prefix of ``bucket``, so every test sees an empty store."""
    store = S3ObjectStore(
        client,
        bucket,
        part_size=S3_TEST_PART_SIZE,
        copy_threshold=S3_TEST_PART_SIZE,
        copy_part_size=S3_TEST_PART_SIZE,
        prefix=f"test-{uuid.uuid4().hex[:12]}/",
    )

    def tamper(key: str) -> None:
        # What an intruder with write access can do under Object Lock: add a newer
        # version that claims the original's hash. The locked version stays.
        name = store.prefix + key
        current = client.get_object(Bucket=bucket, Key=name)
        data = bytearray(current["Body"].read())
        data[0] ^= 0xFF
        client.put_object(Bucket=bucket, Key=name, Body=bytes(data), Metadata=current["Metadata"])

    return StoreBackend(name, store, tamper, raw=client, bucket=bucket)


@contextmanager
def counting_parts(backend: StoreBackend) -> Iterator[StoreBackend]:
    """Record the part numbers this backend's uploads send (S3 UploadPart calls)."""
    if backend.raw is None:
        yield backend
        return
    prefix = f"{backend.bucket}/{backend.object_name('')}"

    def seen(params: dict[str, Any], **_: object) -> None:
        if f"{params['Bucket']}/{params['Key']}".startswith(prefix):
            backend.parts_sent.append(params["PartNumber"])

    event = "before-parameter-build.s3.UploadPart"
    backend.raw.meta.events.register(event, seen)
    try:
        yield backend
    finally:
        backend.raw.meta.events.unregister(event, seen)


def local_backend(root: Path) -> StoreBackend:
    store = LocalObjectStore(root)

    def tamper(key: str) -> None:
        path = root / "objects" / key
        path.chmod(0o644)
        data = bytearray(path.read_bytes())
        data[0] ^= 0xFF
        path.write_bytes(bytes(data))

    return StoreBackend("local", store, tamper)


@pytest.fixture(
    name="backend",
    params=["local", "s3-moto", pytest.param("s3-ceph", marks=pytest.mark.ceph)],
)
def backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBackend]:
    """Each contract test runs once per backend."""
    if request.param == "local":
        made = local_backend(tmp_path / "store")
    elif request.param == "s3-moto":
        made = s3_backend("s3-moto", request.getfixturevalue("moto_client"),
                          request.getfixturevalue("moto_bucket"))
    else:
        made = s3_backend("s3-ceph", request.getfixturevalue("ceph_client"),
                          request.getfixturevalue("ceph_bucket"))
    with counting_parts(made) as counted:
        yield counted


@pytest.fixture(name="moto_backend")
def moto_backend_fixture(moto_client: S3Client, moto_bucket: str) -> StoreBackend:
    return s3_backend("s3-moto", moto_client, moto_bucket)


@pytest.fixture(name="ceph_backend")
def ceph_backend_fixture(ceph_client: S3Client, ceph_bucket: str) -> StoreBackend:
    return s3_backend("s3-ceph", ceph_client, ceph_bucket)
