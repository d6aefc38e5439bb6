"""Fixtures for the S3 tests: a moto server on loopback and a fresh bucket per test.

Nothing here may reach a cloud address: every client (in this process and in the
children the tests start) gets fake credentials, a fixed region, no shared AWS config
files and an explicit http://127.0.0.1 endpoint.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from support.helpers import clean_env

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # A developer's ~/.aws must not add profiles, credential processes or endpoints.
    "AWS_CONFIG_FILE": "/nonexistent/meshkit-tests/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/meshkit-tests/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Real credentials a shell may carry: dropped so they are never sent anywhere, even to moto.
_DROPPED = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def free_port() -> int:
    """A loopback port nobody listens on (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def s3_env(endpoint: str | None, **extra: str) -> dict[str, str]:
    """A child-process environment with fake credentials and, if given, AWS_ENDPOINT_URL_S3."""
    env = clean_env(**FAKE_AWS)
    for name in _DROPPED:
        env.pop(name, None)
    if endpoint is not None:
        env["AWS_ENDPOINT_URL_S3"] = endpoint
    env.update(extra)
    return env


class S3Bucket:
    """A bucket on the moto server plus a boto3 client to inspect it."""

    def __init__(self, name: str, endpoint: str, client: Any) -> None:
        self.name = name
        self.endpoint = endpoint
        self.client = client

    def url(self, prefix: str = "registry") -> str:
        return f"s3://{self.name}/{prefix}"

    def object_keys(self, prefix: str = "") -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return sorted(
            item["Key"]
            for page in paginator.paginate(Bucket=self.name, Prefix=prefix)
            for item in page.get("Contents", [])
        )

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def snapshot(self) -> dict[str, str]:
        """Every object with its ETag: compare before and after to prove nothing was written."""
        paginator = self.client.get_paginator("list_objects_v2")
        return {
            item["Key"]: item["ETag"]
            for page in paginator.paginate(Bucket=self.name)
            for item in page.get("Contents", [])
        }


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode on a free loopback port (one per xdist worker); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def fake_session() -> Any:
    """A boto3 session with fake credentials, for registries built in this process."""
    import boto3

    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


@pytest.fixture
def s3_bucket(moto_server: str) -> Iterator[S3Bucket]:
    """A fresh, uniquely named, empty bucket."""
    client = _client(moto_server)
    name = f"meshkit-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    yield S3Bucket(name, moto_server, client)
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


@pytest.fixture
def closed_endpoint() -> str:
    """An http://127.0.0.1 URL on a port with no listener: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


__all__ = ["FAKE_AWS", "S3Bucket", "closed_endpoint", "fake_session", "free_port", "moto_server", "s3_bucket", "s3_env"]
