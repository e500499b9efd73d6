"""Shared fixtures: a real local S3 server (the project's own ``shopwarehouse s3 serve``) and test data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from mypy_boto3_s3 import S3Client

from shopwarehouse.config import Settings
from shopwarehouse.generate import GenerateOptions, generate
from shopwarehouse.landing import Landing, open_landing
from shopwarehouse.s3 import make_client

LANDING_BUCKET = "s3://shopwarehouse-test/landing"
START = date(2024, 3, 1)
DAYS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``shopwarehouse`` command; fails the test with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "shopwarehouse", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    assert result.returncode == 0, f"shopwarehouse {' '.join(args)} failed:\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``shopwarehouse s3 serve`` on a free loopback port, with the test landing bucket created."""
    port = free_port()
    env = {**os.environ, "SHOPWAREHOUSE_LANDING": LANDING_BUCKET}
    server = subprocess.Popen(
        [sys.executable, "-m", "shopwarehouse", "s3", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    client = make_client(endpoint)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.head_bucket(Bucket="shopwarehouse-test")
            client.get_bucket_lifecycle_configuration(Bucket="shopwarehouse-test")
            break
        except Exception:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                _, err = server.communicate()
                pytest.fail(f"local S3 server did not start:\n{err}")
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> S3Client:
    return make_client(s3_endpoint)


@pytest.fixture(scope="session")
def s3_settings(s3_endpoint: str) -> Settings:
    return Settings(landing=LANDING_BUCKET, s3_endpoint_url=s3_endpoint)


@pytest.fixture(scope="session")
def landing_30d(s3_settings: Settings) -> Landing:
    """Thirty days of exports (csv) generated into the local S3 server and read back through its API."""
    landing = open_landing(s3_settings)
    generate(landing, GenerateOptions(start=START, days=DAYS, seed=7, orders_per_day=120))
    return landing


@pytest.fixture
def local_landing(tmp_path: Path) -> Settings:
    return Settings(landing=str(tmp_path / "landing"))
