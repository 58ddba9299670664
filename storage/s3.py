"""An object store in an S3 bucket with Object Lock (Ceph RGW, MinIO, AWS).

How an upload becomes an object:

* Below ``part_size`` the stream stays in memory and ``commit`` PUTs it straight to
  its key with ``Content-MD5``, ``x-amz-checksum-sha256`` and the COMPLIANCE lock.
* From ``part_size`` on it is sent as a multipart upload to ``tmp/<uuid>``;
  ``commit`` completes it, copies it server-side to the key (``UploadPartCopy``
  above ``copy_threshold``), sets the COMPLIANCE retention on the new version, and
  deletes the temporary version.

Each step is checked rather than trusted: our own SHA-256 of the whole stream is
stored as ``x-amz-meta-sha256`` (S3 multipart checksums are composite, and Ceph
ignores ``x-amz-checksum-*``), the committed version is read back with HEAD to
confirm size, hash and retention (Ceph ignores lock headers on copies, and only
the explicit PutObjectRetention afterwards locks them), and "never overwrite" is
our own HEAD check (with versioning on, Ceph does not enforce If-None-Match).
Lock rules are checked here before a delete or a retention change, and the
server is left to refuse as well. ``read_back_sha256`` is the end-to-end proof.

A crash between the copy and the retention call leaves the object unlocked;
committing the same content again finds it and locks it.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import json
import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict, cast

import boto3
import urllib3.exceptions
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from domain.errors import (
    AlreadyExists,
    ConfigError,
    EvidenceError,
    IntegrityError,
    NotFound,
    RetentionLocked,
    StorageError,
    StorageUnavailable,
)
from domain.messages import msg
from storage.objects import (
    DEFAULT_CONTENT_TYPE,
    TEMPORARY_PREFIX,
    InvalidStorageRequest,
    ObjectReader,
    StoredObject,
    check_duplicate,
    check_range,
    needs_longer_retention,
    normalize_retention,
    not_found,
    refuse_deletion_if_locked,
    refuse_shortening,
    sha256_of_stream,
    validate_key,
    validate_prefix,
)

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import (
        CompletedPartTypeDef,
        CopySourceTypeDef,
        HeadObjectOutputTypeDef,
        PutObjectRequestTypeDef,
    )

MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_PART_SIZE = 5 * MIB  # S3: every part but the last must be at least 5 MiB
MAX_PART_SIZE = 5 * GIB
MAX_PARTS = 10_000
COPY_OBJECT_LIMIT = 5 * GIB  # CopyObject refuses larger sources
DEFAULT_PART_SIZE = 8 * MIB
DEFAULT_COPY_PART_SIZE = 512 * MIB
LOCK_MODE: Literal["COMPLIANCE"] = "COMPLIANCE"
SHA256_METADATA = "sha256"  # sent as x-amz-meta-sha256
_TOKEN_FORMAT = 1

_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
_UPLOAD_GONE_CODES = {"NoSuchUpload", "NoSuchKey", "404"}
_DENIED_CODES = {"AccessDenied", "403"}
_DIGEST_CODES = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}
_TRANSIENT_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}
_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch"}

# "failed": a write did not reach the store; only abort() or a resume can follow.
_UploadState = Literal["open", "failed", "finished", "committed", "aborted"]


class _Address(TypedDict):
    Bucket: str
    Key: str
    VersionId: NotRequired[str]


class _RangedAddress(_Address):
    Range: NotRequired[str]


@dataclass(frozen=True)
class _Part:
    number: int
    etag: str  # without quotes; for a plain (non-KMS) part this is the MD5 hex
    size: int


class S3ObjectStore:
    """Objects in one bucket that has Object Lock (and so versioning) enabled."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        copy_threshold: int = COPY_OBJECT_LIMIT,
        copy_part_size: int = DEFAULT_COPY_PART_SIZE,
        prefix: str = "",
    ) -> None:
        if prefix and not prefix.endswith("/"):
            raise ConfigError(msg("Store prefix {prefix!r} must end with '/'.", prefix=prefix),
                              hint=msg("Use e.g. 'site-a/' or leave it empty."))
        validate_prefix(prefix)
        for name, value in (("part_size", part_size), ("copy_part_size", copy_part_size)):
            if not MIN_PART_SIZE <= value <= MAX_PART_SIZE:
                raise ConfigError(
                    msg("{name}={value} is outside what S3 accepts.", name=name, value=value),
                    hint=msg("Use {min_part_size} to {max_part_size} bytes.", min_part_size=MIN_PART_SIZE,
                             max_part_size=MAX_PART_SIZE),
                )
        if not 0 <= copy_threshold <= COPY_OBJECT_LIMIT:
            raise ConfigError(
                msg("copy_threshold={copy_threshold} is above the CopyObject limit.",
                    copy_threshold=copy_threshold),
                hint=msg("Use at most {copy_object_limit} bytes.", copy_object_limit=COPY_OBJECT_LIMIT),
            )
        self.client = client
        self.bucket = bucket
        self.part_size = part_size
        self.copy_threshold = copy_threshold
        self.copy_part_size = copy_part_size
        # Every object name is prefix + key, so several stores can share one bucket.
        self.prefix = prefix
        self._temporary_prefix = prefix + TEMPORARY_PREFIX

    @classmethod
    def connect(
        cls,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        *,
        part_size: int = DEFAULT_PART_SIZE,
        copy_threshold: int = COPY_OBJECT_LIMIT,
        copy_part_size: int = DEFAULT_COPY_PART_SIZE,
        prefix: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 4,
    ) -> S3ObjectStore:
        """A store talking to ``endpoint_url`` with settings that work for Ceph RGW and AWS."""
        config = Config(
            s3={"addressing_style": "path"},
            # Only what an operation requires: Ceph ignores flexible checksums, and we
            # send Content-MD5 and our own SHA-256 ourselves.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=config,
        )
        return cls(
            client, bucket, part_size=part_size, copy_threshold=copy_threshold,
            copy_part_size=copy_part_size, prefix=prefix,
        )

    def ensure_bucket(self) -> None:
        """Create the bucket with Object Lock and versioning, or check an existing one."""
        with self._errors(msg("checking the bucket")):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                    raise
                region = self.client.meta.region_name
                if region and region != "us-east-1":
                    self.client.create_bucket(
                        Bucket=self.bucket,
                        ObjectLockEnabledForBucket=True,
                        CreateBucketConfiguration={
                            "LocationConstraint": cast("BucketLocationConstraintType", region)
                        },
                    )
                else:
                    self.client.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True)
            self.client.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
            )
            try:
                lock = self.client.get_object_lock_configuration(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) != "ObjectLockConfigurationNotFoundError":
                    raise
                lock_enabled, default_rule = None, None
            else:
                configuration = lock.get("ObjectLockConfiguration", {})
                lock_enabled = configuration.get("ObjectLockEnabled")
                default_rule = configuration.get("Rule")
        if default_rule:
            raise ConfigError(
                msg("Bucket {bucket} has a default retention rule ({default_rule}); it would lock "
                    "temporary uploads too, and they could never be cleaned up.", bucket=self.bucket,
                    default_rule=default_rule),
                hint=msg("Remove the bucket's default retention; originals get their COMPLIANCE retention "
                         "explicitly when committed."),
            )
        if lock_enabled != "Enabled":
            raise ConfigError(
                msg("Bucket {bucket} exists without Object Lock, so originals in it could be deleted or "
                    "overwritten.", bucket=self.bucket),
                hint=msg("Object Lock can only be chosen when a bucket is created: configure a new bucket "
                         "name and let ensure_bucket() create it."),
            )

    # --- uploads -------------------------------------------------------------------

    def begin_upload(self, *, resume_token: str | None = None) -> S3Upload:
        """A new upload, or the continuation of the interrupted one ``resume_token`` names.

        On resume the caller feeds the stream again from its first byte. Each part is
        compared with the part already on the server (same size and MD5 = ETag) and
        sent again only if it differs; the whole-stream SHA-256 is computed afresh from
        the re-fed bytes. If the server no longer has that upload (aborted, expired,
        completed) a fresh upload starts; its token replaces the old one.
        """
        if resume_token is None:
            return S3Upload(self, temp_key=self._new_temporary_name())
        temp_key, upload_id, part_size = self._parse_token(resume_token)
        try:
            parts = self._list_parts(temp_key, upload_id)
        except NotFound:
            return S3Upload(self, temp_key=self._new_temporary_name())
        return S3Upload(
            self, temp_key=temp_key, upload_id=upload_id, known_parts=parts, part_size=part_size
        )

    def temporaries(self) -> builtins.list[str]:
        uploads, versions = self._temporary_entries()
        names = {name for name, _ in uploads} | {name for name, _ in versions}
        return sorted(name.removeprefix(self.prefix) for name in names)

    def cleanup_temporaries(self) -> int:
        uploads, versions = self._temporary_entries()
        with self._errors(msg("removing temporary uploads")):
            for name, upload_id in uploads:
                with suppress(ClientError):  # already gone: that is what we wanted
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=name, UploadId=upload_id
                    )
            for name, version_id in versions:
                self.client.delete_object(Bucket=self.bucket, Key=name, VersionId=version_id)
        return len({name for name, _ in uploads} | {name for name, _ in versions})

    # --- reading -------------------------------------------------------------------

    def head(self, key: str, version_id: str | None = None) -> StoredObject:
        return _stored_object(key, self._head(key, version_id))

    def exists(self, key: str) -> bool:
        try:
            self._head(key, None)
        except NotFound:
            return False
        return True

    def list(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        with self._errors(msg("listing {prefix!r}", prefix=prefix)):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    key = entry["Key"].removeprefix(self.prefix)
                    if not key.startswith(TEMPORARY_PREFIX):
                        yield key

    def read_back_sha256(self, key: str, version_id: str | None = None) -> tuple[str, int]:
        """GET the object (version) from the store and hash every byte of it."""
        validate_key(key)
        with self._errors(msg("reading back {key}", key=key), key=key, version_id=version_id):
            response = self.client.get_object(**self._address(self._name(key), version_id))
        with _TranslatedBody(response["Body"], self._endpoint) as body:
            return sha256_of_stream(body)

    def open(
        self, key: str, version_id: str | None = None, *, start: int = 0, end: int | None = None
    ) -> ObjectReader:
        validate_key(key)
        check_range(key, start, end)
        if end == start:
            size = self._head(key, version_id)["ContentLength"]
            check_range(key, start, end, size)
            return _empty_reader(key, start, size)
        address: _RangedAddress = {"Bucket": self.bucket, "Key": self._name(key)}
        if version_id is not None:
            address["VersionId"] = version_id
        if start or end is not None:
            address["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            with self._errors(msg("opening {key}", key=key), key=key, version_id=version_id):
                response = self.client.get_object(**address)
        except InvalidStorageRequest:
            # S3 answers 416 for a start at the very end; that is an empty range to us.
            size = self._head(key, version_id)["ContentLength"]
            check_range(key, start, end, size)
            if start != size:
                raise
            return _empty_reader(key, start, size)
        length = response["ContentLength"]
        total = length
        if "Range" in address:
            content_range = response.get("ContentRange")
            if not content_range:
                response["Body"].close()
                raise StorageError(
                    msg("The object store ignored the byte range requested from {key}.", key=key),
                    hint=msg("Use an S3 service that supports Range requests."),
                )
            total = int(content_range.rsplit("/", 1)[1])
        return ObjectReader(
            _TranslatedBody(response["Body"], self._endpoint),
            key=key, start=start, end=start + length, total_size=total,
        )

    # --- retention -----------------------------------------------------------------

    def extend_retention(self, key: str, until: datetime, version_id: str | None = None) -> None:
        wanted = normalize_retention(until)
        current = _stored_object(key, self._head(key, version_id))
        refuse_shortening(key, current.retain_until, wanted)
        if current.retain_until != wanted:
            self._put_retention(key, current.version_id, wanted)

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        head = self._head(key, version_id)
        with self._errors(msg("setting the legal hold of {key}", key=key), key=key, version_id=version_id):
            self.client.put_object_legal_hold(
                **self._address(self._name(key), head.get("VersionId")),
                LegalHold={"Status": "ON" if on else "OFF"},
            )

    def delete(self, key: str, version_id: str | None = None) -> None:
        """Delete one version for good (default: the current one); never a delete marker.

        Older versions of the key, if any, stay and one of them becomes current.
        """
        head = self._head(key, version_id)
        refuse_deletion_if_locked(_lock_state(key, head))
        with self._errors(msg("deleting {key}", key=key), key=key, version_id=version_id, locked=True):
            self.client.delete_object(**self._address(self._name(key), head.get("VersionId")))

    # --- used by S3Upload ----------------------------------------------------------

    def _existing(self, key: str) -> StoredObject | None:
        try:
            return self.head(key)
        except NotFound:
            return None

    def _settle_duplicate(
        self,
        existing: StoredObject,
        *,
        sha256: str,
        size: int,
        retain_until: datetime | None,
        if_absent: bool,
    ) -> StoredObject:
        check_duplicate(existing, sha256=sha256, size=size, if_absent=if_absent)
        if retain_until is not None and needs_longer_retention(existing.retain_until, retain_until):
            self._put_retention(existing.key, existing.version_id, retain_until)
            return self._verified(existing.key, existing.version_id, sha256, size, retain_until)
        return existing

    def _put_small(
        self,
        key: str,
        data: bytes,
        *,
        sha256: str,
        retain_until: datetime | None,
        content_type: str,
    ) -> StoredObject:
        request: PutObjectRequestTypeDef = {
            "Bucket": self.bucket,
            "Key": self._name(key),
            "Body": data,
            "ContentMD5": _md5_base64(data),
            "ChecksumSHA256": base64.b64encode(bytes.fromhex(sha256)).decode(),
            "Metadata": {SHA256_METADATA: sha256},
            "ContentType": content_type,
            "IfNoneMatch": "*",  # honoured by AWS and moto; our HEAD check covers Ceph
        }
        if retain_until is not None:
            request["ObjectLockMode"] = LOCK_MODE
            request["ObjectLockRetainUntilDate"] = retain_until
        with self._errors(msg("storing {key}", key=key), key=key):
            response = self.client.put_object(**request)
        return self._verified(key, response.get("VersionId"), sha256, len(data), retain_until)

    def _copy_into_place(
        self,
        source: CopySourceTypeDef,
        key: str,
        *,
        sha256: str,
        size: int,
        retain_until: datetime | None,
        content_type: str,
    ) -> StoredObject:
        with self._errors(msg("copying the upload to {key}", key=key), key=key):
            version_id: str | None
            if size <= self.copy_threshold:
                response = self.client.copy_object(
                    Bucket=self.bucket,
                    Key=self._name(key),
                    CopySource=source,
                    MetadataDirective="REPLACE",
                    Metadata={SHA256_METADATA: sha256},
                    ContentType=content_type,
                )
                version_id = response.get("VersionId")
            else:
                version_id = self._copy_in_parts(
                    source, self._name(key), sha256, size, content_type
                )
        if version_id is None:  # Ceph's CopyObject answer carries no version id
            version_id = self._head(key, None).get("VersionId")
        if retain_until is not None:
            # Lock headers on a copy are ignored by Ceph and refused by moto: lock after.
            self._put_retention(key, version_id, retain_until)
        return self._verified(key, version_id, sha256, size, retain_until)

    def _copy_in_parts(
        self, source: CopySourceTypeDef, name: str, sha256: str, size: int, content_type: str
    ) -> str | None:
        part_size = max(self.copy_part_size, math.ceil(size / MAX_PARTS))
        created = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=name, Metadata={SHA256_METADATA: sha256},
            ContentType=content_type,
        )
        upload_id = created["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            for number, first in enumerate(range(0, size, part_size), start=1):
                last = min(size, first + part_size) - 1
                copied = self.client.upload_part_copy(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number,
                    CopySource=source, CopySourceRange=f"bytes={first}-{last}",
                )
                parts.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
            done = self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
            raise
        return done.get("VersionId")

    def _verified(
        self,
        key: str,
        version_id: str | None,
        sha256: str,
        size: int,
        retain_until: datetime | None,
    ) -> StoredObject:
        """HEAD the new version and refuse to report success unless it is what we sent."""
        stored = self.head(key, version_id)
        if (stored.sha256, stored.size) != (sha256, size):
            raise IntegrityError(
                msg("After storing {key} the store reports {size} bytes with SHA-256 {sha256}, not the "
                    "{size2} bytes with SHA-256 {sha2562} that were sent.", key=key, size=stored.size,
                    sha256=stored.sha256, size2=size, sha2562=sha256),
                hint=msg("Do not rely on this object; investigate the store and ingest again."),
            )
        if needs_longer_retention(stored.retain_until, retain_until):
            raise StorageError(
                msg("The store did not apply the retention to {key} (version {version_id}).", key=key,
                    version_id=version_id),
                hint=msg("Check that the bucket has Object Lock enabled (ensure_bucket()), then commit the "
                         "same content again to lock it."),
            )
        return stored

    def _put_retention(self, key: str, version_id: str | None, until: datetime) -> None:
        with self._errors(msg("setting the retention of {key}", key=key), key=key, version_id=version_id,
                          locked=True):
            self.client.put_object_retention(
                **self._address(self._name(key), version_id),
                Retention={"Mode": LOCK_MODE, "RetainUntilDate": until},
            )

    def _list_parts(self, temp_key: str, upload_id: str) -> dict[int, _Part]:
        parts: dict[int, _Part] = {}
        with self._errors(msg("listing the parts of {temp_key}", temp_key=temp_key), key=temp_key):
            try:
                pages = self.client.get_paginator("list_parts").paginate(
                    Bucket=self.bucket, Key=temp_key, UploadId=upload_id
                )
                for page in pages:
                    for part in page.get("Parts", []):
                        number = part["PartNumber"]
                        parts[number] = _Part(number, part["ETag"].strip('"'), part["Size"])
            except ClientError as exc:
                if _code(exc) in _UPLOAD_GONE_CODES:
                    raise NotFound(msg("The multipart upload {upload_id} no longer exists.",
                                       upload_id=upload_id)) from exc
                raise
        return parts

    def _temporary_entries(
        self,
    ) -> tuple[builtins.list[tuple[str, str]], builtins.list[tuple[str, str]]]:
        """(multipart uploads as (key, upload id), object versions as (key, version id))."""
        uploads: list[tuple[str, str]] = []
        versions: list[tuple[str, str]] = []
        with self._errors(msg("listing temporary uploads")):
            for upload_page in self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self._temporary_prefix
            ):
                for upload in upload_page.get("Uploads", []):
                    uploads.append((upload["Key"], upload["UploadId"]))
            for version_page in self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=self._temporary_prefix
            ):
                for entry in [*version_page.get("Versions", []),
                              *version_page.get("DeleteMarkers", [])]:
                    versions.append((entry["Key"], entry["VersionId"]))
        return uploads, versions

    def _parse_token(self, token: str) -> tuple[str, str, int]:
        try:
            record = json.loads(token)
            bucket, name = str(record["bucket"]), str(record["key"])
            upload_id, part_size = str(record["upload_id"]), int(record["part_size"])
            valid = (
                record["format"] == _TOKEN_FORMAT
                and MIN_PART_SIZE <= part_size <= MAX_PART_SIZE
            )
        except (ValueError, KeyError, TypeError):
            valid = False
        if valid and bucket != self.bucket:
            raise InvalidStorageRequest(
                msg("The resume token belongs to bucket {bucket}, not {bucket2}.", bucket=bucket,
                    bucket2=self.bucket),
                hint=msg("Resume with the store the upload was started on."),
            )
        if not valid or not name.startswith(self._temporary_prefix):
            raise InvalidStorageRequest(
                msg("The resume token is not one this store issued."),
                hint=msg("Pass the resume_token of an S3 upload of this store, or start a new upload."),
            )
        return name, upload_id, part_size

    def _head(self, key: str, version_id: str | None) -> HeadObjectOutputTypeDef:
        validate_key(key)
        return self._head_unchecked(self._name(key), version_id, key=key)

    def _head_unchecked(
        self, name: str, version_id: str | None, *, key: str | None = None
    ) -> HeadObjectOutputTypeDef:
        """HEAD any object name, including our own temporaries."""
        with self._errors(msg("looking up {key}", key=key or name), key=key or name,
                          version_id=version_id):
            return self.client.head_object(**self._address(name, version_id))

    def _name(self, key: str) -> str:
        """The S3 object name of a key."""
        return self.prefix + key

    def _new_temporary_name(self) -> str:
        return f"{self._temporary_prefix}{uuid.uuid4().hex}"

    def _address(self, name: str, version_id: str | None) -> _Address:
        address: _Address = {"Bucket": self.bucket, "Key": name}
        if version_id is not None:
            address["VersionId"] = version_id
        return address

    @property
    def _endpoint(self) -> str:
        return str(self.client.meta.endpoint_url)

    @contextmanager
    def _errors(
        self,
        action: str,
        *,
        key: str | None = None,
        version_id: str | None = None,
        locked: bool = False,
    ) -> Iterator[None]:
        """Translate botocore errors; ``locked``: a refusal means Object Lock said no."""
        try:
            yield
        except ClientError as exc:
            raise _translate_client_error(
                exc, action, key=key, version_id=version_id, bucket=self.bucket, locked=locked
            ) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise _unavailable(self._endpoint, action, exc) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise ConfigError(
                msg("No usable S3 credentials while {action}.", action=action),
                hint=msg("Configure the access key and secret key of the object store."),
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(
                msg("The S3 client failed while {action}: {reason}.", action=action, reason=exc),
                hint=msg("Retry; if it persists, check the object store settings."),
            ) from exc


class S3Upload:
    """A stream sent to S3 and hashed as it goes; see ``storage.objects.Upload``."""

    def __init__(
        self,
        store: S3ObjectStore,
        *,
        temp_key: str,
        upload_id: str | None = None,
        known_parts: dict[int, _Part] | None = None,
        part_size: int | None = None,
    ) -> None:
        self._store = store
        self._temp_key = temp_key
        self._upload_id = upload_id
        self._known_parts = known_parts or {}
        self._part_size = part_size or store.part_size
        self._parts: list[_Part] = []
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._size = 0
        self._state: _UploadState = "open"
        self._temp_version: str | None = None
        self._duplicate = False

    @property
    def resume_token(self) -> str | None:
        if self._upload_id is None or self._state not in ("open", "failed"):
            return None
        return json.dumps({
            "format": _TOKEN_FORMAT, "bucket": self._store.bucket, "key": self._temp_key,
            "upload_id": self._upload_id, "part_size": self._part_size,
        }, sort_keys=True)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def size(self) -> int:
        return self._size

    @property
    def duplicate(self) -> bool:
        return self._duplicate

    @property
    def temporary_key(self) -> str:
        return self._temp_key

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self._require({"open"}, msg("write to"))
        self._digest.update(chunk)
        self._size += len(chunk)
        self._buffer += chunk
        try:
            while len(self._buffer) >= self._part_size:
                with memoryview(self._buffer) as view:
                    part = bytes(view[: self._part_size])
                del self._buffer[: self._part_size]
                self._send_part(part)
        except BaseException:
            self._state = "failed"  # that part is lost; the stream must be fed again
            raise

    def commit(
        self,
        key: str,
        *,
        retain_until: datetime | None,
        content_type: str | None = None,
        if_absent: bool = True,
    ) -> StoredObject:
        validate_key(key)
        retain = normalize_retention(retain_until) if retain_until is not None else None
        self._require({"open", "finished"}, msg("commit"))
        store, sha256 = self._store, self.sha256
        existing = store._existing(key)
        if existing is not None:
            return self._commit_duplicate(existing, retain, if_absent)
        if self._state == "open" and not self._parts:
            # Shorter than one part. A resumed multipart upload this stream never
            # reached is dropped: its parts belong to the earlier attempt.
            self._drop_temporary()
            try:
                stored = store._put_small(
                    key, bytes(self._buffer), sha256=sha256, retain_until=retain,
                    content_type=content_type or DEFAULT_CONTENT_TYPE,
                )
            except AlreadyExists:  # a concurrent commit won the race (If-None-Match)
                raced = store._existing(key)
                if raced is None:
                    raise
                return self._commit_duplicate(raced, retain, if_absent)
            self._buffer = bytearray()
        else:
            if self._state == "open":
                self._finish_multipart()
            source: CopySourceTypeDef = {"Bucket": store.bucket, "Key": self._temp_key}
            if self._temp_version is not None:
                source["VersionId"] = self._temp_version
            stored = store._copy_into_place(
                source, key, sha256=sha256, size=self._size, retain_until=retain,
                content_type=content_type or DEFAULT_CONTENT_TYPE,
            )
            # The object is committed; a temporary left behind shows in temporaries().
            with suppress(EvidenceError):
                self._drop_temporary()
        self._state = "committed"
        return stored

    def abort(self) -> None:
        if self._state in ("committed", "aborted"):
            return
        self._drop_temporary()
        self._buffer = bytearray()
        self._state = "aborted"

    def _commit_duplicate(
        self, existing: StoredObject, retain: datetime | None, if_absent: bool
    ) -> StoredObject:
        try:
            stored = self._store._settle_duplicate(
                existing, sha256=self.sha256, size=self._size, retain_until=retain,
                if_absent=if_absent,
            )
        except AlreadyExists:
            self.abort()  # the content is stored already; nothing left to keep
            raise
        self.abort()
        self._state = "committed"
        self._duplicate = True
        return stored

    def _send_part(self, data: bytes) -> None:
        store = self._store
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise InvalidStorageRequest(
                msg("The stream needs more than {max_parts} parts of {part_size} bytes.",
                    max_parts=MAX_PARTS, part_size=self._part_size),
                hint=msg("Configure a larger part_size for files this big."),
            )
        md5 = hashlib.md5(data, usedforsecurity=False)
        known = self._known_parts.get(number)
        if known is not None and known.size == len(data) and known.etag == md5.hexdigest():
            self._parts.append(known)  # the server already holds exactly these bytes
            return
        with store._errors(msg("sending part {number} of {temp_key}", number=number,
                               temp_key=self._temp_key), key=self._temp_key):
            if self._upload_id is None:
                created = store.client.create_multipart_upload(
                    Bucket=store.bucket, Key=self._temp_key
                )
                self._upload_id = created["UploadId"]
            response = store.client.upload_part(
                Bucket=store.bucket, Key=self._temp_key, UploadId=self._upload_id,
                PartNumber=number, Body=data,
                ContentMD5=base64.b64encode(md5.digest()).decode(),
            )
        self._parts.append(_Part(number, response["ETag"].strip('"'), len(data)))

    def _finish_multipart(self) -> None:
        store = self._store
        if self._buffer:
            self._send_part(bytes(self._buffer))
            self._buffer = bytearray()
        assert self._upload_id is not None  # only called once a part was sent
        with store._errors(msg("completing the upload {temp_key}", temp_key=self._temp_key),
                           key=self._temp_key):
            done = store.client.complete_multipart_upload(
                Bucket=store.bucket, Key=self._temp_key, UploadId=self._upload_id,
                MultipartUpload={"Parts": [
                    {"PartNumber": part.number, "ETag": f'"{part.etag}"'} for part in self._parts
                ]},
            )
        self._upload_id = None
        self._state = "finished"
        self._temp_version = done.get("VersionId")
        size = store._head_unchecked(self._temp_key, self._temp_version)["ContentLength"]
        if size != self._size:
            raise IntegrityError(
                msg("The completed upload {temp_key} has {size} bytes, not the {size2} that were sent.",
                    temp_key=self._temp_key, size=size, size2=self._size),
                hint=msg("Abort this upload and ingest the file again."),
            )

    def _drop_temporary(self) -> None:
        store = self._store
        with store._errors(msg("removing the temporary upload {temp_key}", temp_key=self._temp_key)):
            if self._upload_id is not None:
                with suppress(ClientError):  # already gone
                    store.client.abort_multipart_upload(
                        Bucket=store.bucket, Key=self._temp_key, UploadId=self._upload_id
                    )
                self._upload_id = None
            if self._state == "finished":
                # Delete the version itself: a plain delete would only add a marker.
                store.client.delete_object(**store._address(self._temp_key, self._temp_version))

    def _require(self, states: set[_UploadState], action: str) -> None:
        if self._state not in states:
            raise InvalidStorageRequest(
                msg("Cannot {action} an upload that is {state}.", action=action, state=self._state),
                hint=msg("Abort it, or start again with begin_upload(resume_token=...) and feed the stream "
                         "from its start."),
            )


class _TranslatedBody:
    """A GET response body whose transport errors become ``StorageUnavailable``."""

    def __init__(self, body: StreamingBody, endpoint: str) -> None:
        self._body = body
        self._endpoint = endpoint

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._body.read(size if size >= 0 else None)
        except (BotoCoreError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unavailable(self._endpoint, msg("reading an object"), exc) from exc

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _TranslatedBody:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _EmptyStream:
    def read(self, size: int = -1, /) -> bytes:
        return b""

    def close(self) -> None:
        pass


def _empty_reader(key: str, start: int, size: int) -> ObjectReader:
    return ObjectReader(_EmptyStream(), key=key, start=start, end=start, total_size=size)


def _stored_object(key: str, head: HeadObjectOutputTypeDef) -> StoredObject:
    recorded = head.get("Metadata", {}).get(SHA256_METADATA, "")
    if len(recorded) != 64 or any(c not in "0123456789abcdef" for c in recorded):
        raise IntegrityError(
            msg("{key} has no valid recorded SHA-256 (x-amz-meta-{sha256_metadata}); it was not stored by "
                "this service or its metadata was altered.", key=key, sha256_metadata=SHA256_METADATA),
            hint=msg("Treat it as suspect and investigate who wrote it."),
        )
    state = _lock_state(key, head)
    return StoredObject(
        key=key,
        size=head["ContentLength"],
        sha256=recorded,
        version_id=head.get("VersionId"),
        retain_until=state.retain_until,
        legal_hold=state.legal_hold,
        content_type=head.get("ContentType") or DEFAULT_CONTENT_TYPE,
    )


def _lock_state(key: str, head: HeadObjectOutputTypeDef) -> StoredObject:
    """Retention and legal hold from a HEAD answer (size/hash fields are not checked)."""
    retain = head.get("ObjectLockRetainUntilDate")
    return StoredObject(
        key=key,
        size=head.get("ContentLength", 0),
        sha256="",
        version_id=head.get("VersionId"),
        retain_until=retain.astimezone(UTC) if retain is not None else None,
        legal_hold=head.get("ObjectLockLegalHoldStatus") == "ON",
    )


def _translate_client_error(
    exc: ClientError,
    action: str,
    *,
    key: str | None,
    version_id: str | None,
    bucket: str,
    locked: bool,
) -> EvidenceError:
    code = _code(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    detail = exc.response.get("Error", {}).get("Message") or code
    if code in _NOT_FOUND_CODES and key is not None:
        return not_found(key, version_id)
    if code == "NoSuchBucket":
        return ConfigError(
            msg("Bucket {bucket} does not exist ({action}).", bucket=bucket, action=action),
            hint=msg("Create it with S3ObjectStore.ensure_bucket() or fix the bucket name."),
        )
    if code in _CREDENTIAL_CODES:
        return ConfigError(
            msg("The object store rejected the credentials while {action} ({detail}).", action=action,
                detail=detail),
            hint=msg("Check the access key and secret key."),
        )
    if code in _DENIED_CODES:
        if locked:
            return RetentionLocked(
                msg("The object store refused {action}: {detail}.", action=action, detail=detail),
                hint=msg("Object Lock retention or a legal hold is in force on this version."),
            )
        return StorageError(
            msg("Access denied while {action} ({detail}).", action=action, detail=detail),
            hint=msg("Check the permissions of the S3 user on the bucket."),
        )
    if code in _DIGEST_CODES:
        return IntegrityError(
            msg("The object store received different bytes than were sent while {action} ({code}).",
                action=action, code=code),
            hint=msg("The data was damaged in transit; retry the upload."),
        )
    if code == "PreconditionFailed" and key is not None:
        return AlreadyExists(
            msg("{key} was stored by someone else while {action}.", key=key, action=action),
            hint=msg("Look at the stored object; commit again to accept identical content."),
        )
    if code == "InvalidRange":
        return InvalidStorageRequest(
            msg("The byte range is outside the object while {action}.", action=action),
            hint=msg("Ask for a range inside the object (HTTP 416)."),
        )
    if code in _TRANSIENT_CODES or status >= 500:
        return StorageUnavailable(
            msg("The object store is unavailable while {action} ({code}: {detail}).", action=action,
                code=code, detail=detail),
            hint=msg("Retry later; check the S3 service's health if it persists."),
        )
    return StorageError(
        msg("The object store refused {action}: {code} ({detail}).", action=action, code=code,
            detail=detail),
        hint=msg("Check the request and the object store's logs; retry if it was transient."),
    )


def _unavailable(endpoint: str, action: str, exc: Exception) -> StorageUnavailable:
    return StorageUnavailable(
        msg("Cannot reach the object store at {endpoint} while {action} ({reason}).", endpoint=endpoint,
            action=action, reason=exc),
        hint=msg("Check that the S3 service is running and reachable, then retry."),
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _md5_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


