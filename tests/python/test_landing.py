"""The landing zone behaves the same on a directory and on S3."""

from __future__ import annotations

import json
from pathlib import Path

import botocore.exceptions
import pytest
from botocore.stub import Stubber
from mypy_boto3_s3 import S3Client
from support import cli, read_landed

from shopwarehouse.config import Settings
from shopwarehouse.landing.s3 import (
    GOLD_EXPIRY_DAYS,
    QUARANTINE_EXPIRY_DAYS,
    RAW_EXPIRY_DAYS,
    SILVER_EXPIRY_DAYS,
    STAGE_EXPIRY_DAYS,
    lock_down,
    make_client,
    tls_only_policy,
)
from shopwarehouse.landing.zone import LandedObject, Landing, LocalLanding, open_landing


@pytest.fixture(params=["local", "s3"])
def landing(request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str) -> Landing:
    if request.param == "local":
        return open_landing(Settings(landing=str(tmp_path)))
    return open_landing(
        Settings(landing=f"s3://shopwarehouse-test/{tmp_path.name}", s3_endpoint_url=s3_endpoint)
    )


def test_put_open_list_round_trip(landing: Landing) -> None:
    landing.put("raw/orders/date=2024-03-02/b.csv", b"two")
    landing.put("raw/orders/date=2024-03-01/a.csv", b"one")
    landing.put("quarantine/x.csv", b"bad")
    assert landing.list("raw/") == [
        LandedObject("raw/orders/date=2024-03-01/a.csv", 3),
        LandedObject("raw/orders/date=2024-03-02/b.csv", 3),
    ]
    assert read_landed(landing, "raw/orders/date=2024-03-02/b.csv") == b"two"


def test_copy_keeps_the_original_and_survives_its_replacement(landing: Landing) -> None:
    landing.put("raw/orders/date=2024-03-01/a.csv", b"as delivered")
    landing.copy("raw/orders/date=2024-03-01/a.csv", "quarantine/raw/orders/date=2024-03-01/a.csv")
    landing.put("raw/orders/date=2024-03-01/a.csv", b"delivered again")
    assert read_landed(landing, "quarantine/raw/orders/date=2024-03-01/a.csv") == b"as delivered"
    assert read_landed(landing, "raw/orders/date=2024-03-01/a.csv") == b"delivered again"


def test_delete_removes_the_object_and_is_idempotent(landing: Landing) -> None:
    landing.put("_stage/l1/orders/x.parquet", b"rows")
    landing.put("raw/orders/date=2024-03-01/a.csv", b"keep")
    landing.delete("_stage/l1/orders/x.parquet")
    landing.delete("_stage/l1/orders/x.parquet")
    assert [obj.key for obj in landing.list()] == ["raw/orders/date=2024-03-01/a.csv"]


def test_location_is_what_a_warehouse_reads(tmp_path: Path) -> None:
    assert LocalLanding(tmp_path).location("a/b.csv") == f"file://{tmp_path.resolve()}/a/b.csv"
    s3 = open_landing(Settings(landing="s3://bucket/pre/fix", s3_endpoint_url="http://127.0.0.1:1"))
    assert s3.location("a/b.csv") == "s3://bucket/pre/fix/a/b.csv"


def test_local_put_leaves_no_partial_file_behind(tmp_path: Path) -> None:
    landing = LocalLanding(tmp_path)
    landing.put("raw/a.csv", b"x" * 1000)
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["a.csv"]


def test_local_keys_cannot_escape_the_landing_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="escapes the landing directory"):
        LocalLanding(tmp_path / "landing").put("../outside.csv", b"x")


def test_served_bucket_has_the_lifecycle_rules(s3_client: S3Client) -> None:
    rules = s3_client.get_bucket_lifecycle_configuration(Bucket="shopwarehouse-test")["Rules"]
    expiry = {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in rules if "Expiration" in r}
    assert expiry == {
        "landing/raw/": RAW_EXPIRY_DAYS,
        "landing/quarantine/": QUARANTINE_EXPIRY_DAYS,
        "landing/_stage/": STAGE_EXPIRY_DAYS,
        "landing/silver/": SILVER_EXPIRY_DAYS,
        "landing/gold/": GOLD_EXPIRY_DAYS,
    }
    assert (RAW_EXPIRY_DAYS, QUARANTINE_EXPIRY_DAYS, STAGE_EXPIRY_DAYS) == (30, 90, 2)
    assert (SILVER_EXPIRY_DAYS, GOLD_EXPIRY_DAYS) == (365, 1095)  # the lake's zones: 1 and 3 years


def test_s3_init_creates_a_bucket_and_is_idempotent(s3_client: S3Client, s3_endpoint: str) -> None:
    env = {"SHOPWAREHOUSE_S3_ENDPOINT_URL": s3_endpoint}
    for _ in range(2):
        cli("--landing", "s3://another-landing-bucket", "s3", "init", env=env)
    rules = s3_client.get_bucket_lifecycle_configuration(Bucket="another-landing-bucket")["Rules"]
    assert {r["ID"] for r in rules} == {
        "expire-raw-exports",
        "expire-quarantine",
        "expire-staged-loads",
        "expire-silver",
        "expire-gold",
        "abort-incomplete-multipart-uploads",
    }
    assert {r["Filter"]["Prefix"] for r in rules} == {
        "raw/",
        "quarantine/",
        "_stage/",
        "silver/",
        "gold/",
        "",
    }


ALL_PUBLIC_ACCESS_BLOCKED = dict.fromkeys(
    ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
)


def assert_locked_down_but_for_tls(s3_client: S3Client, bucket: str) -> None:
    """Encrypted by default and closed to the public; over plain HTTP, no TLS-only policy."""
    (rule,) = s3_client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    blocked = s3_client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert blocked == ALL_PUBLIC_ACCESS_BLOCKED
    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3_client.get_bucket_policy(Bucket=bucket)


def test_served_and_initialised_buckets_are_encrypted_and_closed_to_the_public(
    s3_client: S3Client, s3_endpoint: str
) -> None:
    assert_locked_down_but_for_tls(s3_client, "shopwarehouse-test")  # the local server's, at its start
    cli(
        "--landing",
        "s3://locked-landing-bucket",
        "s3",
        "init",
        env={"SHOPWAREHOUSE_S3_ENDPOINT_URL": s3_endpoint},
    )
    assert_locked_down_but_for_tls(s3_client, "locked-landing-bucket")
    s3_client.put_object(Bucket="locked-landing-bucket", Key="raw/a.csv", Body=b"x")
    assert (
        s3_client.head_object(Bucket="locked-landing-bucket", Key="raw/a.csv")["ServerSideEncryption"]
        == "AES256"
    )


def test_the_tls_only_policy_refuses_a_request_over_plain_http(s3_client: S3Client) -> None:
    # GIVEN a bucket with the policy, on the local server (plain HTTP), which enforces bucket policies
    s3_client.create_bucket(Bucket="tls-only-bucket")
    s3_client.put_bucket_policy(
        Bucket="tls-only-bucket", Policy=json.dumps(tls_only_policy("tls-only-bucket"))
    )
    # WHEN an object is written over HTTP THEN the request is refused
    with pytest.raises(botocore.exceptions.ClientError, match="Forbidden"):
        s3_client.put_object(Bucket="tls-only-bucket", Key="raw/a.csv", Body=b"x")


def test_a_bucket_reached_over_https_gets_the_tls_only_policy_too() -> None:
    # AWS itself cannot be reached here: botocore's Stubber checks the calls made and their parameters
    client = make_client("https://s3.eu-central-1.amazonaws.com")
    with Stubber(client) as stub:
        stub.add_response(
            "put_bucket_encryption",
            {},
            {
                "Bucket": "landing",
                "ServerSideEncryptionConfiguration": {
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
            },
        )
        stub.add_response(
            "put_public_access_block",
            {},
            {
                "Bucket": "landing",
                "PublicAccessBlockConfiguration": ALL_PUBLIC_ACCESS_BLOCKED,
            },
        )
        stub.add_response(
            "put_bucket_policy", {}, {"Bucket": "landing", "Policy": json.dumps(tls_only_policy("landing"))}
        )
        lock_down(client, "landing")
        stub.assert_no_pending_responses()
