"""A moto S3 server on loopback, loaded with a local registry's files, for counting S3 requests.

Only counts come from here: moto's speed says nothing about S3's, so nothing S3 is timed.
"""

from __future__ import annotations

import socket
from pathlib import Path
from types import TracebackType
from typing import Any

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/meshkit-bench/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/meshkit-bench/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
PREFIX = "registry"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Counter:
    """`with S3Counter() as s3: url = s3.load(registry_dir); ...; s3.drop()`."""

    def __init__(self) -> None:
        self.endpoint = ""
        self._server: Any = None
        self._client: Any = None
        self._bucket = ""
        self._serial = 0

    def __enter__(self) -> S3Counter:
        import logging

        import boto3
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

        port = _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        self._client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bucket:
            self.drop()
        self._server.stop()

    def env(self) -> dict[str, str]:
        """What a child needs to talk to this server and to nothing else."""
        return FAKE_AWS | {"AWS_ENDPOINT_URL_S3": self.endpoint}

    def load(self, registry: Path) -> str:
        """A fresh bucket holding registry's files under registry/ (empty if it does not exist); its URL."""
        self._serial += 1
        self._bucket = f"meshkit-bench-{self._serial}"
        self._client.create_bucket(Bucket=self._bucket)
        if registry.is_dir():
            for path in sorted(registry.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    key = f"{PREFIX}/{path.relative_to(registry).as_posix()}"
                    self._client.put_object(Bucket=self._bucket, Key=key, Body=path.read_bytes())
        return f"s3://{self._bucket}/{PREFIX}"

    def drop(self) -> None:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket):
            for item in page.get("Contents", []):
                self._client.delete_object(Bucket=self._bucket, Key=item["Key"])
        self._client.delete_bucket(Bucket=self._bucket)
        self._bucket = ""
