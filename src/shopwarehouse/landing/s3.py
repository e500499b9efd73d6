"""The one place S3 clients are made, and the landing bucket's set-up: the bucket, its lifecycle rules, and
its lock-down (default encryption, public access blocked, requests over TLS only)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from shopwarehouse.landing.contract import (
    GOLD_PREFIX,
    QUARANTINE_PREFIX,
    RAW_PREFIX,
    SILVER_PREFIX,
    STAGE_PREFIX,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PublicAccessBlockConfigurationTypeDef, ServerSideEncryptionRuleTypeDef

log = logging.getLogger(__name__)

# Retention the design asks for: raw (bronze) exports 30 days, quarantined files 90 days. Files the loaders
# stage for a warehouse COPY are removed once copied; the rule catches any a crash left behind. The lake's
# zones keep 1 year (silver) and 3 years (gold).
RAW_EXPIRY_DAYS = 30
QUARANTINE_EXPIRY_DAYS = 90
STAGE_EXPIRY_DAYS = 2
SILVER_EXPIRY_DAYS = 365
GOLD_EXPIRY_DAYS = 3 * 365
MULTIPART_ABORT_DAYS = 7
# The landing bucket's lock-down, as the S3 API spells it: `lock_down` applies it, and the CloudFormation
# stack (pipeline/stack.py) says the same.
ENCRYPTION_RULE: ServerSideEncryptionRuleTypeDef = {
    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
    "BucketKeyEnabled": True,
}
PUBLIC_ACCESS_BLOCK: PublicAccessBlockConfigurationTypeDef = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
# Credentials sent to a local S3 server when the environment has none: the server does not check them.
_LOCAL_KEY_ID, _LOCAL_SECRET = "shopwarehouse", "local-only"


# Attempts per S3 call (the first included), with the SDK's standard retry mode: exponential backoff with
# jitter on throttling (503 SlowDown), server errors (500), timeouts and dropped connections.
S3_ATTEMPTS = 5


def make_client(endpoint_url: str | None, timeout_seconds: float = 30.0) -> S3Client:
    """An S3 client for AWS (``endpoint_url=None``) or for an S3-compatible server at ``endpoint_url``;
    ``timeout_seconds`` bounds connecting and each wait for the server to answer."""
    client: S3Client = aws_client("s3", endpoint_url, timeout_seconds=timeout_seconds)
    return client


def aws_client(
    service: str, endpoint_url: str | None, region: str | None = None, timeout_seconds: float = 30.0
) -> Any:
    """A boto3 client of ``service`` for AWS, or for the local server at ``endpoint_url`` (which serves S3
    and SNS alike), with standard retries; a local endpoint gets placeholder credentials if none are set."""
    session = boto3.session.Session()
    config = Config(
        retries={"mode": "standard", "total_max_attempts": S3_ATTEMPTS},
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
    )
    if endpoint_url is None:
        return session.client(service, config=config, region_name=region)  # type: ignore[call-overload]
    has_credentials = session.get_credentials() is not None
    return session.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=region or session.region_name or "us-east-1",
        config=config.merge(Config(s3={"addressing_style": "path"})),
        aws_access_key_id=None if has_credentials else _LOCAL_KEY_ID,
        aws_secret_access_key=None if has_credentials else _LOCAL_SECRET,
    )


# AWS error codes that say the configuration is wrong (the bucket, the credentials, the region), so a retry
# cannot help, each with what to change. Throttling, 5xx answers and timeouts are not here: they may pass.
_REFUSALS = {
    "NoSuchBucket": "the bucket {bucket} does not exist{at}: create it (shopwarehouse s3 init) or set "
    "SHOPWAREHOUSE_LANDING to the landing bucket",
    "AccessDenied": "access to {url} was denied{at} (AccessDenied): give these credentials s3:ListBucket, "
    "s3:GetObject and s3:PutObject on it, or {credentials} that have them",
    "AllAccessDisabled": "access to {url} is disabled{at} (AllAccessDisabled): ask the bucket's owner",
    "InvalidAccessKeyId": "the access key id is unknown{at} (InvalidAccessKeyId): {credentials} valid",
    "InvalidClientTokenId": "the access key id is unknown{at} (InvalidClientTokenId): {credentials} valid",
    "SignatureDoesNotMatch": "the secret access key does not match the access key id{at} "
    "(SignatureDoesNotMatch): {credentials} valid",
    "ExpiredToken": "the AWS session token has expired{at} (ExpiredToken): renew it, or {credentials} valid",
    "InvalidToken": "the AWS session token is invalid{at} (InvalidToken): {credentials} valid",
    "PermanentRedirect": "the bucket {bucket} is in another region (PermanentRedirect): set AWS_REGION to it",
    "AuthorizationHeaderMalformed": "the bucket {bucket} is in another region "
    "(AuthorizationHeaderMalformed): set AWS_REGION to it",
    "InvalidBucketName": "{bucket} is not a valid bucket name: correct SHOPWAREHOUSE_LANDING",
}
_CREDENTIALS = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, to credentials"


def configuration_problem(error: BaseException, url: str, endpoint_url: str | None = None) -> str | None:
    """What is wrong with the configuration, and the fix, when ``error`` (from a call on the landing zone at
    ``url``) is one a retry cannot help: a missing bucket, refused or missing credentials, another region.
    ``None`` for anything else (throttling, a server error, a timeout: faults that may pass)."""
    import botocore.exceptions

    at = f" at {endpoint_url}" if endpoint_url else ""
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        template = _REFUSALS.get(code)
        bucket = split_url(url)[0] if url.startswith("s3://") else url
        return template.format(bucket=bucket, url=url, at=at, credentials=_CREDENTIALS) if template else None
    if isinstance(
        error, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
    ):
        return f"no AWS credentials were found for {url} ({type(error).__name__}): {_CREDENTIALS} valid"
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        return f"{error}: set AWS_PROFILE to a profile of ~/.aws/config"
    if isinstance(error, botocore.exceptions.NoRegionError):
        return "no AWS region is set: set AWS_REGION"
    return None


# S3 error codes that say "try again later", not "this request is wrong".
THROTTLING_CODES = {
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeoutException",
    "InternalError", "ServiceUnavailable", "503", "500",
}  # fmt: skip


def is_transient(error: BaseException) -> bool:
    """Whether ``error``, from the S3 client, is throttling, a server's momentary error or the network, so a
    retry may succeed."""
    import botocore.exceptions

    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code") in THROTTLING_CODES
    # endpoint unreachable, connection closed, read timeout
    return isinstance(error, botocore.exceptions.ConnectionError)


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix/")``; the prefix is empty or ends in '/'."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


EXPIRIES = {
    "expire-raw-exports": (RAW_PREFIX, RAW_EXPIRY_DAYS),
    "expire-quarantine": (QUARANTINE_PREFIX, QUARANTINE_EXPIRY_DAYS),
    "expire-staged-loads": (STAGE_PREFIX, STAGE_EXPIRY_DAYS),
    "expire-silver": (SILVER_PREFIX, SILVER_EXPIRY_DAYS),
    "expire-gold": (GOLD_PREFIX, GOLD_EXPIRY_DAYS),
}
"""Each expiry rule's id: the key prefix (below the landing zone's) and the days its objects are kept."""


def lifecycle_rules(prefix: str) -> list[dict[str, object]]:
    """Expiry rules for the landing zone below ``prefix`` (empty or ending in '/')."""
    rules: list[dict[str, object]] = [
        {
            "ID": rule_id,
            "Filter": {"Prefix": prefix + key_prefix},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        }
        for rule_id, (key_prefix, days) in EXPIRIES.items()
    ]
    rules.append(
        {
            "ID": "abort-incomplete-multipart-uploads",
            "Filter": {"Prefix": prefix},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": MULTIPART_ABORT_DAYS},
        }
    )
    return rules


def tls_only_policy(bucket: str) -> dict[str, object]:
    """The bucket policy that refuses every request to ``bucket`` not made over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyRequestsWithoutTLS",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def lock_down(client: S3Client, bucket: str) -> None:
    """Encrypt new objects by default (SSE-S3), block every kind of public access, and, when the bucket is
    reached over HTTPS (AWS, or a server with TLS), refuse requests without TLS. A server reached over plain
    HTTP (the local one) gets no such policy: it would refuse every request, this one's included."""
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [ENCRYPTION_RULE]},
    )
    client.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK,
    )
    if client.meta.endpoint_url.startswith("https://"):
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(tls_only_policy(bucket)))
        log.info("bucket %s: encrypted by default, public access blocked, TLS only", bucket)
    else:
        log.info(
            "bucket %s: encrypted by default, public access blocked; no TLS-only policy, since %s is plain "
            "HTTP (such a policy would refuse every request made there)",
            bucket,
            client.meta.endpoint_url,
        )


def ensure_landing_bucket(client: S3Client, url: str) -> None:
    """Create the landing bucket if it is missing, apply the lifecycle rules and lock it down (idempotent)."""
    bucket, prefix = split_url(url)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        region = client.meta.region_name
        if region and region != "us-east-1":
            client.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
        else:
            client.create_bucket(Bucket=bucket)
        log.info("created bucket %s", bucket)
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": lifecycle_rules(prefix)},  # type: ignore[typeddict-item]
    )
    log.info(
        "lifecycle on s3://%s/%s: %s",
        bucket,
        prefix,
        ", ".join(f"{key_prefix} expires after {days} days" for key_prefix, days in EXPIRIES.values()),
    )
    lock_down(client, bucket)
