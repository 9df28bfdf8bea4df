"""Where the bytes of attachments live: the local disk (the default) or an S3-compatible object store.

`CRM_ATTACHMENT_STORE` unset or `local`: files under `CRM_ATTACHMENT_DIR` (default `var/attachments`), one folder per
service. `s3://bucket` or `s3://bucket/prefix`: objects `<prefix>/<service>/<id>` in that bucket through boto3 (the
optional extra: `pip install crm-common[s3]`), at `CRM_S3_ENDPOINT_URL` when set (MinIO, Ceph, Garage...; AWS
otherwise), in `CRM_S3_REGION` (default us-east-1). Credentials come from boto3's usual chain
(`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a profile, an instance role), never from the URL, and never appear
in an error. A store that does not answer is a 503 for the upload or download, never a 500.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from crm_common import config
from crm_common.errors import ServiceError


class LocalStore:
    def __init__(self, root: Path):
        self.root = root

    def _path(self, service: str, key: str) -> Path:
        folder = self.root / service
        folder.mkdir(parents=True, exist_ok=True)
        return folder / key

    def put(self, service: str, key: str, data: bytes) -> None:
        self._path(service, key).write_bytes(data)

    def get(self, service: str, key: str) -> bytes:
        try:
            return self._path(service, key).read_bytes()
        except FileNotFoundError:
            raise ServiceError("not_found", "the attachment's file is missing from the store") from None

    def delete(self, service: str, key: str) -> None:
        self._path(service, key).unlink(missing_ok=True)


class S3Store:
    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None, region: str):
        try:
            import boto3
            from botocore.config import Config
        except ImportError:  # pragma: no cover - the extra is missing
            raise ServiceError("unavailable", "CRM_ATTACHMENT_STORE is s3:// but boto3 is not installed "
                                              "(pip install crm-common[s3])") from None
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region,
                                   config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                                 connect_timeout=5, read_timeout=30))

    def _key(self, service: str, key: str) -> str:
        return "/".join(part for part in (self.prefix, service, key) if part)

    def _failed(self, exc: Exception, what: str) -> ServiceError:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        return ServiceError("unavailable", f"the attachment store could not {what} the file"
                                           + (f" ({code})" if code else ""))

    def put(self, service: str, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(service, key), Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc, "keep") from None

    def get(self, service: str, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(service, key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ServiceError("not_found", "the attachment's file is missing from the store") from None
            raise self._failed(exc, "read") from None
        except BotoCoreError as exc:
            raise self._failed(exc, "read") from None

    def delete(self, service: str, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(service, key))
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc, "remove") from None


def parse(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket[/prefix]` (ValueError otherwise)."""
    rest = url[len("s3://"):] if url.startswith("s3://") else None
    bucket, _, prefix = (rest or "").partition("/")
    if not bucket or "@" in bucket or ":" in bucket:
        raise ValueError("CRM_ATTACHMENT_STORE: local, or s3://bucket[/prefix] (credentials come from the "
                         "environment, not the URL)")
    return bucket, prefix


@lru_cache(maxsize=8)
def _store(kind: str, directory: str | None, endpoint: str | None, region: str):
    if kind in ("", "local"):
        return LocalStore(Path(directory) if directory else config.var_dir() / "attachments")
    bucket, prefix = parse(kind)
    return S3Store(bucket, prefix, endpoint, region)


def current():
    """The store the settings name (one per setting, reused)."""
    return _store(config.env("CRM_ATTACHMENT_STORE", "local"), config.env("CRM_ATTACHMENT_DIR"),
                  config.env("CRM_S3_ENDPOINT_URL"), config.env("CRM_S3_REGION", "us-east-1"))
