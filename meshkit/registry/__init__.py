"""Registry backends behind one small interface, chosen by the registry URL.

`s3://bucket/prefix` selects S3, `gs://bucket/prefix` Google Cloud Storage, `az://container/prefix`
(or `abfs[s]://container@account.dfs.core.windows.net/prefix`) Azure Blob Storage; anything else is
a local folder. Backends are looked up in a table, one small module each, and each imports its
cloud's client only when it opens.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import NamedTuple, Protocol

from meshkit.errors import InputError

REGISTRY_ENV = "MESHKIT_REGISTRY"


class Blob(NamedTuple):
    """Object bytes plus the version tag used for conditional writes.

    A cloud store sends its tag (ETag, generation) with the bytes; a local file's tag is its sha256, worked
    out only when a conditional write asks for it: most reads never do, and hashing a large contract is not free.
    """

    data: bytes
    tag: str | None = None  # the store's; None: the sha256 of data

    @property
    def etag(self) -> str:
        return self.tag if self.tag is not None else hashlib.sha256(self.data).hexdigest()


class Listed(NamedTuple):
    """An object as a listing shows it: its key, its size, and when the store wrote it.

    written_at is the store's own clock (S3's LastModified, a local file's mtime), never a runner's:
    a publisher whose clock is wrong cannot make its entry look newer than it is, and ages are taken
    between two of the store's times, so a sweeper's wrong clock cannot make a fresh object look old."""

    key: str
    size: int
    written_at: float  # seconds since the epoch, by the store's clock


class Registry(Protocol):
    """Keys are relative to the registry root, e.g. `dbt_up/prod/latest/manifest.json`."""

    url: str

    def get(self, key: str) -> Blob | None:
        """Return the object, or None if it does not exist; RegistryError past layout.size_limit(key)."""

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> None:
        """Write atomically; raise ConflictError when a condition fails."""

    def listing(self, prefix: str) -> list[Listed]:
        """The objects under prefix with their sizes and the store's times of writing them, sorted by key."""

    def list(self, prefix: str) -> list[str]:
        """Keys under prefix, sorted."""

    def delete(self, key: str) -> None:
        """Remove the object if it exists."""

    def sweep(self, prefix: str, max_age_seconds: float) -> int:
        """Remove what killed writers left under prefix (temporary files) older than max_age; return how many."""


def _open_local(url: str, endpoint_url: str | None) -> Registry:
    from meshkit.registry.local import LocalRegistry

    path = url[len("file://") :] if url.startswith("file://") else url
    return LocalRegistry(path)


def _open_s3(url: str, endpoint_url: str | None) -> Registry:
    from meshkit.registry.s3 import S3Registry

    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise InputError(f"registry URL {url!r} has no bucket: use s3://BUCKET/PREFIX")
    return S3Registry(bucket=bucket, prefix=prefix.strip("/"), endpoint_url=endpoint_url)


def _open_gcs(url: str, endpoint_url: str | None) -> Registry:
    from meshkit.registry.gcs import GCSRegistry

    bucket, _, prefix = url[len("gs://") :].partition("/")
    if not bucket:
        raise InputError(f"registry URL {url!r} has no bucket: use gs://BUCKET/PREFIX")
    return GCSRegistry(bucket=bucket, prefix=prefix.strip("/"), endpoint_url=endpoint_url)


def _open_azure(url: str, endpoint_url: str | None) -> Registry:
    from meshkit.registry.azure import AzureRegistry, parse_url

    container, account, prefix = parse_url(url)
    return AzureRegistry(container=container, prefix=prefix, account=account, endpoint_url=endpoint_url)


_BACKENDS: dict[str, Callable[[str, str | None], Registry]] = {
    "s3://": _open_s3,
    "gs://": _open_gcs,
    "az://": _open_azure,
    "abfs://": _open_azure,
    "abfss://": _open_azure,
    "file://": _open_local,
}
REGISTRY_FORMS = "a folder path, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"


def seconds_from_env(variable: str, default: float) -> float:
    """A duration setting from the environment; a value that is not a non-negative number is an input error."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise InputError(f"{variable}={text!r} is not a number of seconds: unset it or give e.g. 60")
    return value


def resolve_registry_url(url: str | None) -> str:
    resolved = url or os.environ.get(REGISTRY_ENV)
    if not resolved:
        raise InputError(f"no registry given: pass --registry ({REGISTRY_FORMS}) or set {REGISTRY_ENV}")
    return resolved


def open_registry(url: str | None, *, endpoint_url: str | None = None) -> Registry:
    resolved = resolve_registry_url(url)
    for scheme, opener in _BACKENDS.items():
        if resolved.startswith(scheme):
            return opener(resolved, endpoint_url)
    if "://" in resolved:
        raise InputError(f"unsupported registry URL {resolved!r}: use {REGISTRY_FORMS}")
    return _open_local(resolved, endpoint_url)
