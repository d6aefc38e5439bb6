"""Reading a published contract back, with its integrity checked.

latest/manifest.json and latest/metadata.json are two objects, so a reader can
land between a publisher's two writes. The sha256 in the metadata tells: on a
mismatch we re-read a few times, then fail instead of trusting a torn pair.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import msgspec

from meshkit.contract.build import sha256_hex
from meshkit.contract.manifest import Manifest, parse_manifest
from meshkit.contract.model import PublishMetadata
from meshkit.errors import IntegrityError, NotPublishedError, RegistryError
from meshkit.registry import Blob, Registry, layout

_RETRIES = 3
_RETRY_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class Published:
    """The registry's current contract for one project and env."""

    project: str
    env: str
    manifest: Manifest
    metadata: PublishMetadata
    manifest_etag: str

    @property
    def sha256(self) -> str:
        return self.metadata.sha256


_METADATA: msgspec.json.Decoder[PublishMetadata] = msgspec.json.Decoder(PublishMetadata)


def parse_metadata(blob: Blob, where: str) -> PublishMetadata:
    try:
        return _METADATA.decode(blob.data)
    except msgspec.ValidationError as exc:
        raise IntegrityError(f"{where} is not a meshkit metadata file ({exc}): republish the contract") from None
    except msgspec.DecodeError:
        raise IntegrityError(f"{where} is corrupt (not JSON): republish the contract") from None


def registry_projects(registry: Registry) -> list[str]:
    """Projects that have at least one env published."""
    return sorted({key.split("/")[0] for key in registry.list("") if key.endswith("/latest/metadata.json")})


def _missing(registry: Registry, project: str, env: str) -> NotPublishedError:
    envs = sorted({k.split("/")[1] for k in registry.list(f"{project}/") if k.endswith("/latest/metadata.json")})
    if envs:
        return NotPublishedError(
            f"registry {registry.url} has project {project!r} but not env {env!r} (it has: {', '.join(envs)})"
        )
    known = registry_projects(registry)
    listing = f" (it has: {', '.join(known)})" if known else " (it is empty)"
    return NotPublishedError(
        f"registry {registry.url} has no project {project!r}{listing}: publish it first or fix the name"
    )


def _damaged(registry: Registry, project: str, env: str) -> IntegrityError | None:
    """No latest contract, yet history or consumer records (or a stray `latest` file): fail closed.

    Such an env was published, so "never published" would let check pass a breaking change and sync
    call the registry empty."""
    left = registry.list(f"{layout.env_root(project, env)}/")
    if not left:
        return None
    return IntegrityError(
        f"registry {registry.url} has {project}/{env} ({len(left)} objects, such as {left[0]}) but no readable "
        "latest contract: it was damaged; republish the contract with meshkit publish"
    )


def read_latest(registry: Registry, project: str, env: str) -> Published:
    manifest_key = layout.latest_key(project, env)
    metadata_key = layout.latest_key(project, env, layout.METADATA)
    missing = ""
    for attempt in range(_RETRIES):
        metadata_blob = registry.get(metadata_key)
        manifest_blob = registry.get(manifest_key)
        if metadata_blob is None or manifest_blob is None:
            if attempt == 0 and metadata_blob is None and manifest_blob is None:
                raise _damaged(registry, project, env) or _missing(registry, project, env)
            missing = metadata_key if metadata_blob is None else manifest_key
            time.sleep(_RETRY_PAUSE_SECONDS)
            continue
        missing = ""
        where = f"{registry.url}/{metadata_key}"
        metadata = parse_metadata(metadata_blob, where)
        if sha256_hex(manifest_blob.data) == metadata.sha256:
            manifest = parse_manifest(manifest_blob.data, f"{registry.url}/{manifest_key}", contract=True)
            return Published(project, env, manifest, metadata, manifest_blob.etag)
        time.sleep(_RETRY_PAUSE_SECONDS)
    if missing:
        raise IntegrityError(f"{registry.url}/{missing} is missing while its pair exists: republish the contract")
    raise IntegrityError(
        f"{registry.url}/{manifest_key} does not match the sha256 in its metadata.json: "
        "the registry is inconsistent; republish the contract"
    )


def read_latest_metadata(registry: Registry, project: str, env: str) -> tuple[PublishMetadata | None, Blob | None]:
    """Metadata and the raw manifest blob, for a publisher deciding whether to write."""
    metadata_blob = registry.get(layout.latest_key(project, env, layout.METADATA))
    manifest_blob = registry.get(layout.latest_key(project, env))
    if metadata_blob is None:
        return None, manifest_blob
    try:
        return parse_metadata(metadata_blob, layout.latest_key(project, env, layout.METADATA)), manifest_blob
    except RegistryError:
        return None, manifest_blob
