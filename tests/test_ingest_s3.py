"""`evidence ingest` into S3 with Object Lock: moto for the protocol, Ceph RGW for real WORM."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ingest.synthetic import make_recorder_image
from tests.cli_helpers import run_cli
from tests.store_fixtures import ceph_settings_fixture, moto_endpoint_fixture  # noqa: F401


@pytest.fixture(scope="module")
def small_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    roles = make_recorder_image(tmp_path_factory.mktemp("s3-template"))
    card = tmp_path_factory.mktemp("s3-card")
    for role in ("segment_1", "photo", "truncated_mp4"):
        shutil.copy(roles[role], card)
    return card


def s3_env(endpoint: str, access: str, secret: str) -> dict[str, str]:
    return {"EVIDENCE_S3_ENDPOINT": endpoint, "EVIDENCE_S3_BUCKET": f"ev-{uuid.uuid4().hex[:12]}",
            "EVIDENCE_S3_ACCESS_KEY": access, "EVIDENCE_S3_SECRET_KEY": secret,
            "EVIDENCE_STATION_TZ": "Asia/Shanghai"}


def ingest_and_verify(tmp_path: Path, card: Path, env: dict[str, str]) -> list[dict[str, object]]:
    home = tmp_path / "home"
    assert run_cli(home, "init", env=env).returncode == 0
    result = run_cli(home, "ingest", str(card), "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert {x["status"] for x in lines} == {"ingested"}
    events = [json.loads(x) for x in run_cli(home, "log", "show", env=env).stdout.splitlines()]
    ingested = [e for e in events if e["type"] == "evidence:file:ingested"]
    assert len(ingested) == 3
    assert all(e["details"]["object"]["version"] for e in ingested), "VersionId not recorded"
    verify = run_cli(home, "verify", "--objects", "--json", env=env)
    assert verify.returncode == 0, verify.stdout
    assert json.loads(verify.stdout)["objects"] >= 3
    again = run_cli(home, "ingest", str(card), "--json", env=env)
    assert {json.loads(x)["status"] for x in again.stdout.splitlines()} == {"duplicate"}
    return ingested


def test_ingest_into_moto_s3(tmp_path: Path, small_card: Path, moto_endpoint: str) -> None:
    ingest_and_verify(tmp_path, small_card, s3_env(moto_endpoint, "testing", "testing"))


@pytest.mark.ceph
def test_ingest_into_ceph_locks_originals_in_compliance_mode(
        tmp_path: Path, small_card: Path, ceph_settings: dict[str, str]) -> None:
    env = s3_env(ceph_settings["S3_ENDPOINT"], ceph_settings["AWS_ACCESS_KEY_ID"],
                 ceph_settings["AWS_SECRET_ACCESS_KEY"])
    ingested = ingest_and_verify(tmp_path, small_card, env)
    raw = boto3.client("s3", endpoint_url=env["EVIDENCE_S3_ENDPOINT"], region_name="us-east-1",
                       aws_access_key_id=env["EVIDENCE_S3_ACCESS_KEY"],
                       aws_secret_access_key=env["EVIDENCE_S3_SECRET_KEY"],
                       config=Config(s3={"addressing_style": "path"}))
    obj = ingested[0]["details"]["object"]  # type: ignore[index]
    address = {"Bucket": env["EVIDENCE_S3_BUCKET"], "Key": obj["key"], "VersionId": obj["version"]}
    retention = raw.get_object_retention(**address)["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    assert retention["RetainUntilDate"] > datetime.now(UTC) + timedelta(days=180)
    with pytest.raises(ClientError):  # what a court asks: the original cannot be removed
        raw.delete_object(**address)
    assert raw.head_object(**address)["ContentLength"] == obj["size"]
