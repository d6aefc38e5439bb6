"""A registry in an S3 bucket, or any S3-compatible store (MinIO, R2, moto).

The endpoint comes from --endpoint-url or the standard AWS variables
(AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL). Each object is written with one PUT, so
readers never see a torn object; If-None-Match / If-Match make lost races visible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meshkit.errors import ConflictError, InputError, RegistryError
from meshkit.registry import Blob, Listed, layout

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_CONFLICT_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise InputError(
            "the S3 registry needs boto3: pip install boto3 (it is in meshkit's requirements.txt)"
        ) from None
    return boto3


class S3Registry:
    def __init__(
        self, *, bucket: str, prefix: str, endpoint_url: str | None = None, session: Any | None = None
    ) -> None:
        """`session` is a boto3 Session to take credentials from; default: the standard AWS chain."""
        boto3 = session or _boto3()
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self._client = boto3.client("s3", endpoint_url=endpoint_url, config=config)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, exc: Exception, key: str, action: str) -> RegistryError:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )

        where = f"s3://{self.bucket}/{self._key(key)}"
        if isinstance(exc, NoCredentialsError):
            return RegistryError(
                f"no AWS credentials to {action} {where}: configure a role (OIDC in CI) or AWS_* variables"
            )
        if isinstance(exc, BotoConnectionError):
            endpoint = self._client.meta.endpoint_url
            return RegistryError(
                f"cannot reach the S3 endpoint {endpoint} to {action} {where}: "
                "check --endpoint-url / AWS_ENDPOINT_URL_S3 and the network"
            )
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _CONFLICT_CODES:
                return ConflictError(f"{where} changed while this publish ran; another publisher won the race")
            if code == "NoSuchBucket":
                return RegistryError(f"bucket {self.bucket!r} does not exist: create it or fix the registry URL")
            if code in {"AccessDenied", "403", "Forbidden"}:
                return RegistryError(
                    f"access denied to {action} {where}: the role needs s3:GetObject, s3:PutObject and s3:ListBucket"
                )
            return RegistryError(f"S3 refused to {action} {where}: {code or exc}")
        if isinstance(exc, BotoCoreError):
            return RegistryError(f"S3 error while trying to {action} {where}: {exc}")
        raise exc

    def get(self, key: str) -> Blob | None:
        from botocore.exceptions import BotoCoreError, ClientError

        limit = layout.size_limit(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            if int(response.get("ContentLength") or 0) > limit:
                response["Body"].close()
                raise RegistryError(
                    f"s3://{self.bucket}/{self._key(key)} is larger than meshkit reads for it "
                    f"({limit} bytes): it was not written by meshkit; republish the contract"
                )
            data = response["Body"].read(limit + 1)
            if len(data) > limit:
                raise RegistryError(f"s3://{self.bucket}/{self._key(key)} is larger than meshkit reads for it")
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in _MISSING_CODES:
                return None
            raise self._fail(exc, key, "read") from None
        except BotoCoreError as exc:
            raise self._fail(exc, key, "read") from None
        return Blob(data=data, tag=str(response.get("ETag", "")))

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        extra: dict[str, str] = {}
        if if_absent:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = if_match
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ContentType="application/json",
                **extra,
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if if_match is not None and code in _MISSING_CODES:
                # S3 answers If-Match on a deleted object with 404 NoSuchKey: the condition failed.
                raise ConflictError(
                    f"s3://{self.bucket}/{self._key(key)} was removed while this publish ran; "
                    "another publisher changed the registry"
                ) from None
            raise self._fail(exc, key, "write") from None
        except BotoCoreError as exc:
            raise self._fail(exc, key, "write") from None

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, key, "delete") from None

    def sweep(self, prefix: str, max_age_seconds: float) -> int:
        return 0  # a PUT is atomic on S3: a killed writer leaves no partial object behind

    def listing(self, prefix: str) -> list[Listed]:
        from botocore.exceptions import BotoCoreError, ClientError

        full_prefix = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        found: list[Listed] = []
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for item in page.get("Contents", []):
                    written: datetime = item["LastModified"]
                    found.append(Listed(item["Key"][strip:], int(item.get("Size", 0)), written.timestamp()))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, prefix, "list") from None
        return sorted(found, key=lambda item: item.key)

    def list(self, prefix: str) -> list[str]:
        return [item.key for item in self.listing(prefix)]
