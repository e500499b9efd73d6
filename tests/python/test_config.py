"""Settings: documented defaults, environment variables, flag overrides, and clear errors."""

from __future__ import annotations

import pytest

from shopwarehouse.config import Settings


def test_defaults_are_the_embedded_default() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(
        env="dev",
        landing="data/landing",
        s3_endpoint_url=None,
        s3_timeout_seconds=30.0,
        target="duckdb",
        max_file_bytes=16 << 30,
        stream_file_bytes=64 << 20,
        load_batch_rows=500_000,
        missing_export="fail",
        retry_attempts=3,
        retry_base_seconds=2.0,
        lock_wait_seconds=0,
        lock_ttl_seconds=6 * 3600,
        report_path="data/kpi_report.html",
        notify_webhook_url=None,
        notify_sns_topic_arn=None,
        notify_dq_sns_topic_arn=None,
        metrics_namespace=None,
        metrics_textfile_dir="data/metrics",
        redshift_iam_role="default",
        snowflake_storage_integration=None,
    )


def test_environment_variables_are_read() -> None:
    settings = Settings.from_env(
        {
            "SHOPWAREHOUSE_ENV": "prod",
            "SHOPWAREHOUSE_LANDING": "s3://bucket/prefix",
            "SHOPWAREHOUSE_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "SHOPWAREHOUSE_S3_TIMEOUT_SECONDS": "2.5",
            "SHOPWAREHOUSE_TARGET": "postgres",
            "SHOPWAREHOUSE_MAX_FILE_BYTES": "1000",
            "SHOPWAREHOUSE_STREAM_FILE_BYTES": "100",
            "SHOPWAREHOUSE_LOAD_BATCH_ROWS": "20",
            "SHOPWAREHOUSE_MISSING_EXPORT": "warn",
            "SHOPWAREHOUSE_RETRY_ATTEMPTS": "5",
            "SHOPWAREHOUSE_RETRY_BASE_SECONDS": "0.5",
            "SHOPWAREHOUSE_LOCK_WAIT_SECONDS": "600",
            "SHOPWAREHOUSE_LOCK_TTL_SECONDS": "3600",
            "SHOPWAREHOUSE_REPORT_PATH": "/srv/reports/kpi.html",
            "SHOPWAREHOUSE_DBT_SELECTOR": "without_tests",
            "SHOPWAREHOUSE_TEST_SCOPE": "all",
            "SHOPWAREHOUSE_NOTIFY_WEBHOOK_URL": "https://hooks.example/run",
            "SHOPWAREHOUSE_NOTIFY_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:runs",
            "SHOPWAREHOUSE_NOTIFY_DQ_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:dq",
            "SHOPWAREHOUSE_METRICS_NAMESPACE": "ShopWarehouse",
            "SHOPWAREHOUSE_METRICS_TEXTFILE_DIR": "",
            "SHOPWAREHOUSE_REDSHIFT_IAM_ROLE": "arn:aws:iam::123456789012:role/loader",
            "SHOPWAREHOUSE_SNOWFLAKE_STORAGE_INTEGRATION": "landing_s3",
        }
    )
    assert settings == Settings(
        env="prod",
        landing="s3://bucket/prefix",
        s3_endpoint_url="http://127.0.0.1:9000",
        s3_timeout_seconds=2.5,
        target="postgres",
        max_file_bytes=1000,
        stream_file_bytes=100,
        load_batch_rows=20,
        missing_export="warn",
        retry_attempts=5,
        retry_base_seconds=0.5,
        lock_wait_seconds=600,
        lock_ttl_seconds=3600,
        report_path="/srv/reports/kpi.html",
        dbt_selector="without_tests",
        test_scope="all",
        notify_webhook_url="https://hooks.example/run",
        notify_sns_topic_arn="arn:aws:sns:us-east-1:123456789012:runs",
        notify_dq_sns_topic_arn="arn:aws:sns:us-east-1:123456789012:dq",
        metrics_namespace="ShopWarehouse",
        metrics_textfile_dir=None,
        redshift_iam_role="arn:aws:iam::123456789012:role/loader",
        snowflake_storage_integration="landing_s3",
    )


@pytest.mark.parametrize(
    ("landing", "topic", "env_landing", "env_topic"),
    [
        ("s3://acme-{env}-landing", "arn:aws:sns:eu-west-1:123456789012:shopwarehouse-{env}-pipeline",
         "s3://acme-staging-landing", "arn:aws:sns:eu-west-1:123456789012:shopwarehouse-staging-pipeline"),
        ("s3://acme-landing/{env}", None, "s3://acme-landing/staging", None),
        ("data/landing", None, "data/landing", None),
    ],
)  # fmt: skip
def test_the_environment_names_its_bucket_or_prefix_topics_and_schemas(
    landing: str, topic: str | None, env_landing: str, env_topic: str | None
) -> None:
    environ = {"SHOPWAREHOUSE_ENV": "staging", "SHOPWAREHOUSE_LANDING": landing}
    if topic:
        environ |= {
            "SHOPWAREHOUSE_NOTIFY_SNS_TOPIC_ARN": topic,
            "SHOPWAREHOUSE_NOTIFY_DQ_SNS_TOPIC_ARN": topic,
        }
    settings = Settings.from_env(environ)
    assert (settings.landing, settings.notify_sns_topic_arn) == (env_landing, env_topic)
    assert settings.notify_dq_sns_topic_arn == env_topic
    assert (settings.schema("raw"), settings.schema("main_marts")) == ("staging_raw", "staging_main_marts")
    # dev keeps the plain names: a warehouse made before environments is dev's
    assert Settings.from_env({"SHOPWAREHOUSE_LANDING": landing}).schema("raw") == "raw"


def test_flags_override_the_environment_and_unset_flags_do_not() -> None:
    settings = Settings.from_env({"SHOPWAREHOUSE_LANDING": "s3://from-env"})
    overridden = settings.with_overrides(landing="/tmp/landing", s3_endpoint_url=None)
    assert overridden.landing == "/tmp/landing"
    assert overridden.s3_endpoint_url is None
    assert settings.landing == "s3://from-env"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"SHOPWAREHOUSE_TARGET": "bigquery"},
            "SHOPWAREHOUSE_TARGET='bigquery' is not a known target",
        ),
        ({"SHOPWAREHOUSE_LANDING": "s3:///prefix"}, "names no bucket"),
        ({"SHOPWAREHOUSE_MAX_FILE_BYTES": "1GB"}, "is not a whole number"),
        ({"SHOPWAREHOUSE_MAX_FILE_BYTES": "0"}, "must be at least 1"),
        ({"SHOPWAREHOUSE_STREAM_FILE_BYTES": "0"}, "must be at least 1"),
        ({"SHOPWAREHOUSE_MISSING_EXPORT": "ignore"}, "use fail or warn"),
        ({"SHOPWAREHOUSE_TEST_SCOPE": "today"}, "use recent or all"),
        ({"SHOPWAREHOUSE_S3_TIMEOUT_SECONDS": "soon"}, "is not a number of seconds"),
        ({"SHOPWAREHOUSE_S3_TIMEOUT_SECONDS": "0"}, "must be more than 0"),
        ({"SHOPWAREHOUSE_LOCK_WAIT_SECONDS": "-1"}, "must be 0 or more"),
        ({"SHOPWAREHOUSE_LOCK_TTL_SECONDS": "0"}, "must be at least 1"),
        ({"SHOPWAREHOUSE_ENV": "Prod"}, "SHOPWAREHOUSE_ENV='Prod' is not an environment name"),
        ({"SHOPWAREHOUSE_ENV": "pre-prod"}, "up to 16 lowercase letters and digits"),
        ({"SHOPWAREHOUSE_ENV": "a" * 17}, "up to 16 lowercase letters and digits"),
    ],
)
def test_bad_settings_say_what_to_fix(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ)


def test_unknown_override_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="unknown settings"):
        Settings().with_overrides(landng="x")
