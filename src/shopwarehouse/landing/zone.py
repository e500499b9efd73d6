"""The landing zone: where raw exports land, as an S3 bucket (+prefix) or a local directory.

Keys are relative to the landing root and always use '/',
e.g. ``raw/orders/date=2024-03-01/orders_20240301_000.csv``.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from shopwarehouse.errors import ConfigurationError
from shopwarehouse.landing.s3 import S3_ATTEMPTS, configuration_problem, make_client, split_url

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from shopwarehouse.config import Settings

log = logging.getLogger(__name__)


class LandingUnavailable(Exception):
    """The landing zone did not answer a call, after the S3 client's retries; ``__cause__`` says why."""


@dataclass(frozen=True)
class LandedObject:
    key: str
    size: int


class Landing(Protocol):
    url: str

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; readers never see a partly written object."""

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """The object stored under ``key`` as a stream read from start to end, never held whole."""

    def list(self, prefix: str = "") -> list[LandedObject]:
        """Every object whose key starts with ``prefix``, sorted by key; a
        :class:`~shopwarehouse.errors.ConfigurationError` when the landing zone itself does not exist (no
        such directory, bucket, or object under the bucket's prefix) or may not be read."""

    def copy(self, source: str, target: str) -> None:
        """Copy the object at ``source`` to ``target`` without reading it into memory."""

    def delete(self, key: str) -> None:
        """Remove the object at ``key`` if it exists."""

    def location(self, key: str) -> str:
        """The object's address for a warehouse that reads the landing zone: ``s3://...`` or ``file://...``."""


class LocalLanding:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key {key!r} escapes the landing directory {self.root}")
        return path

    @contextmanager
    def _replacing(self, key: str) -> Iterator[Path]:
        """A temporary path beside ``key``'s file, renamed onto it once written: the rename is atomic, so
        a reader sees the whole file or none of it."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        os.close(fd)
        try:
            yield Path(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put(self, key: str, data: bytes) -> None:
        with self._replacing(key) as tmp:
            tmp.write_bytes(data)

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        return self._path(key).open("rb")

    def list(self, prefix: str = "") -> list[LandedObject]:
        if not self.root.is_dir():
            what = "is not a directory" if self.root.exists() else "does not exist"
            raise ConfigurationError(
                f"the landing directory {self.root} {what}: set SHOPWAREHOUSE_LANDING (or --landing) to the "
                "directory the exports land in, or s3://bucket[/prefix]"
            )
        found = []
        for path in self.root.rglob("*"):
            if not path.is_file() or path.name.startswith(".tmp-"):
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                found.append(LandedObject(key=key, size=path.stat().st_size))
        return sorted(found, key=lambda obj: obj.key)

    def copy(self, source: str, target: str) -> None:
        # A hard link: instant whatever the size, and as good as a copy here, because landed files are never
        # changed in place (put() replaces a file by renaming a new one over it, as S3 replaces an object).
        with self._replacing(target) as tmp:
            tmp.unlink()
            os.link(self._path(source), tmp)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Directories exist only for their files here, as prefixes in S3: drop the ones left empty.
        root = self.root.resolve()
        for parent in path.parents:
            if parent == root or (parent.exists() and any(parent.iterdir())):
                break
            if parent.exists():
                parent.rmdir()

    def location(self, key: str) -> str:
        return self._path(key).as_uri()


class S3Landing:
    def __init__(self, url: str, client: S3Client) -> None:
        self.url = url
        self.bucket, self.prefix = split_url(url)
        self.client = client

    def put(self, key: str, data: bytes) -> None:
        # upload_fileobj switches to multipart uploads for large objects; S3 publishes an object whole.
        with self._calling("writing", key):
            self.client.upload_fileobj(io.BytesIO(data), self.bucket, self.prefix + key)

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        stream = _S3Object(self, key)
        try:
            yield io.BufferedReader(stream, buffer_size=_S3_READ_BYTES)
        finally:
            stream.close()

    def list(self, prefix: str = "") -> list[LandedObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        found = []
        with self._calling("listing", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    found.append(LandedObject(key=item["Key"][len(self.prefix) :], size=item["Size"]))
            if not found and self.prefix and not self._prefix_exists():
                raise ConfigurationError(
                    f"nothing has landed under {self.url} (no object has the prefix {self.prefix}): correct "
                    "the prefix in SHOPWAREHOUSE_LANDING (s3://bucket/prefix), or land the exports there"
                )
        return sorted(found, key=lambda obj: obj.key)

    def _prefix_exists(self) -> bool:
        """Whether any object has the landing zone's prefix (S3 has no folders: a prefix exists by them)."""
        page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        return bool(page.get("KeyCount"))

    @contextmanager
    def _calling(self, doing: str, key: str) -> Iterator[None]:
        """An S3 call that failed after every attempt, as a :class:`LandingUnavailable` naming the file; a
        :class:`~shopwarehouse.errors.ConfigurationError` when the bucket is missing or the credentials are
        refused (the SDK does not retry those)."""
        import botocore.exceptions

        try:
            yield
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            endpoint = self.client.meta.endpoint_url
            local = None if endpoint.endswith(".amazonaws.com") else endpoint
            problem = configuration_problem(error, self.location(key), local)
            if problem is not None:
                raise ConfigurationError(problem) from error
            raise LandingUnavailable(
                f"{doing} {self.location(key)} failed after {S3_ATTEMPTS} attempts: {type(error).__name__}: "
                f"{error}"
            ) from error

    def copy(self, source: str, target: str) -> None:
        # The managed copy is server-side and switches to multipart copies above 5 GB.
        source_object = {"Bucket": self.bucket, "Key": self.prefix + source}
        with self._calling("copying", source):
            self.client.copy(source_object, self.bucket, self.prefix + target)  # type: ignore[arg-type]

    def delete(self, key: str) -> None:
        with self._calling("deleting", key):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"


_S3_READ_BYTES = 8 << 20


class _S3Object(io.RawIOBase):
    """An S3 object read from start to end. The SDK retries a call that fails, but not the reading of its
    response body: when the connection drops mid-way, the read resumes where it stopped, with a ranged GET of
    the same version of the object (``If-Match`` its ETag), up to :data:`S3_ATTEMPTS` times in a row."""

    def __init__(self, landing: S3Landing, key: str) -> None:
        self.landing, self.key = landing, key
        self.position = 0
        self.etag: str | None = None
        self.body = self._get()

    def _get(self) -> Any:
        bucket, key = self.landing.bucket, self.landing.prefix + self.key
        with self.landing._calling("reading", self.key):
            if self.etag is None:
                response = self.landing.client.get_object(Bucket=bucket, Key=key)
            else:
                range_ = f"bytes={self.position}-"
                response = self.landing.client.get_object(
                    Bucket=bucket, Key=key, Range=range_, IfMatch=self.etag
                )
        self.etag = response["ETag"]
        return response["Body"]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import botocore.exceptions

        for attempt in range(1, S3_ATTEMPTS + 1):
            try:
                data = self.body.read(len(buffer))
                break
            except botocore.exceptions.BotoCoreError as error:
                if attempt == S3_ATTEMPTS:
                    raise LandingUnavailable(
                        f"reading {self.landing.location(self.key)} failed at byte {self.position:,} "
                        f"{S3_ATTEMPTS} times in a row: {type(error).__name__}: {error}"
                    ) from error
                log.warning("reading %s stopped at byte %d (%s); resuming", self.key, self.position, error)
                self.body.close()
                self.body = self._get()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.body.close()
        super().close()


def open_landing(settings: Settings) -> Landing:
    """The landing zone the settings name: S3 for ``s3://`` URLs, a local directory otherwise."""
    if settings.landing.startswith("s3://"):
        return S3Landing(settings.landing, make_client(settings.s3_endpoint_url, settings.s3_timeout_seconds))
    return LocalLanding(Path(settings.landing))
