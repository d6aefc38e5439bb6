"""Reading a published contract back, with its integrity checked.

latest/pointer.json is the truth: it names a complete, immutable history entry, whose sha256 is
checked. Registries from before the pointer are read from latest/manifest.json and metadata.json,
two objects, so a reader can land between a publisher's two writes: on a sha256 mismatch it
re-reads a few times, then fails instead of trusting a torn pair.

What a reader cannot trust it refuses, in one line: an unknown pointer schema or contract format, a
contract of another project, a manifest older than meshkit reads, JSON past its depth budget.
"""

from __future__ import annotations

import time
from typing import TypeVar

import msgspec

from meshkit.contract import budget
from meshkit.contract.build import CONTRACT_FORMAT, sha256_hex
from meshkit.contract.manifest import Manifest, parse_manifest
from meshkit.contract.model import POINTER_SCHEMA, PUBLISH_KINDS, LatestPointer, PublishMetadata, PublishSummary
from meshkit.contract.names import is_env_name, is_project_name
from meshkit.errors import IntegrityError, NotPublishedError, RegistryError
from meshkit.registry import Blob, Registry, layout

_RETRIES = 3
_RETRY_PAUSE_SECONDS = 0.5


class Published(msgspec.Struct, frozen=True):
    """The registry's current contract for one project and env."""

    project: str
    env: str
    manifest: Manifest
    metadata: PublishMetadata

    @property
    def sha256(self) -> str:
        return self.metadata.sha256


_METADATA: msgspec.json.Decoder[PublishMetadata] = msgspec.json.Decoder(PublishMetadata)
_POINTER: msgspec.json.Decoder[LatestPointer] = msgspec.json.Decoder(LatestPointer)
_SUMMARY: msgspec.json.Decoder[PublishSummary] = msgspec.json.Decoder(PublishSummary)


_REPUBLISH = "republish the contract with meshkit publish"
M = TypeVar("M", bound=PublishMetadata)


def parse_metadata(blob: Blob, where: str) -> PublishMetadata:
    return _checked(_METADATA, blob, where)


def parse_summary(blob: Blob, where: str) -> PublishSummary:
    """The metadata file as a history lists it, its public models counted but not decoded (at 20,000 models
    each entry's metadata lists thousands)."""
    return _checked(_SUMMARY, blob, where)


def _checked(decoder: msgspec.json.Decoder[M], blob: Blob, where: str) -> M:
    try:
        metadata = budget.decode(decoder, blob.data)
    except msgspec.ValidationError as exc:
        raise IntegrityError(f"{where} is not a meshkit metadata file ({exc}): {_REPUBLISH}") from None
    except msgspec.DecodeError:
        raise IntegrityError(f"{where} is corrupt (not JSON): {_REPUBLISH}") from None
    except budget.OverBudget as exc:
        raise IntegrityError(f"{where} {exc}: {_REPUBLISH}") from None
    if metadata.kind not in PUBLISH_KINDS:
        raise IntegrityError(
            f"{where} records a {metadata.kind!r} publish, which this meshkit cannot read: upgrade meshkit"
        )
    return metadata


_LATEST_MARKS = (f"latest/{layout.POINTER}", f"latest/{layout.METADATA}")  # a pointer, or an older registry's pair


def published_envs(registry: Registry, project: str | None = None) -> list[tuple[str, str]]:
    """Every (project, env) with a latest contract: found by its pointer (or an older registry's metadata).

    A first publish killed right after its pointer leaves only the pointer in latest/: still published."""
    pairs = set()
    for key in registry.list(f"{project}/" if project else ""):
        parts = key.split("/")
        marked = len(parts) == 4 and "/".join(parts[2:]) in _LATEST_MARKS
        if marked and is_project_name(parts[0]) and is_env_name(parts[1]):
            pairs.add((parts[0], parts[1]))
    return sorted(pairs)


def registry_projects(registry: Registry) -> list[str]:
    """Projects that have at least one env published."""
    return sorted({project for project, _ in published_envs(registry)})


def _missing(registry: Registry, project: str, env: str) -> NotPublishedError:
    envs = [name for _, name in published_envs(registry, project)]
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


class Entry(msgspec.Struct, frozen=True, gc=False):
    """A complete history entry: its metadata and its manifest, whose sha256 matched."""

    history_id: str
    metadata: PublishMetadata
    manifest: Blob
    metadata_data: bytes  # as stored, for a copy


def parse_pointer(blob: Blob, where: str) -> LatestPointer:
    try:
        pointer = budget.decode(_POINTER, blob.data)
    except (msgspec.ValidationError, msgspec.DecodeError, budget.OverBudget) as exc:
        raise IntegrityError(f"{where} is unreadable ({exc}): {_REPUBLISH}") from None
    if pointer.schema != POINTER_SCHEMA:
        raise IntegrityError(
            f"{where} is {pointer.schema!r}, which this meshkit ({POINTER_SCHEMA}) cannot read: upgrade meshkit"
        )
    if layout.stamp_time(pointer.history_id) is None:
        raise IntegrityError(f"{where} names {pointer.history_id!r}, not a history entry: republish the contract")
    return pointer


def read_entry(
    registry: Registry,
    project: str,
    env: str,
    history_id: str,
    sha256: str | None = None,
    metadata: PublishMetadata | None = None,
) -> Entry:
    """A history entry, checked whole: its metadata, its manifest, and their sha256 (and the expected one).

    metadata: the entry's, already read by the caller (the catalog's history): then only the manifest is fetched,
    and the entry's metadata_data (kept for latest's copies) is empty."""
    metadata_key = layout.history_key(project, env, history_id, layout.METADATA)
    manifest_key = layout.history_key(project, env, history_id)
    metadata_blob = registry.get(metadata_key) if metadata is None else Blob(b"")
    manifest_blob = registry.get(manifest_key) if metadata_blob is not None else None
    if metadata_blob is None or manifest_blob is None:
        raise IntegrityError(
            f"{registry.url}/{layout.history_key(project, env, history_id, '')} is missing or incomplete: "
            "republish the contract with meshkit publish"
        )
    metadata = metadata or parse_metadata(metadata_blob, f"{registry.url}/{metadata_key}")
    actual = sha256_hex(manifest_blob.data)
    if actual != metadata.sha256 or (sha256 is not None and actual != sha256):
        raise IntegrityError(
            f"{registry.url}/{manifest_key} does not match its recorded sha256: "
            "the registry was altered; republish the contract with meshkit publish"
        )
    return Entry(history_id, metadata, manifest_blob, metadata_blob.data)


def _published(registry: Registry, project: str, env: str, entry: Entry, key: str) -> Published:
    """The entry's manifest, refused unless it is a contract (or full manifest) of this project in a known format."""
    where = f"{registry.url}/{key}"
    contract = entry.metadata.kind == "contract"
    manifest = parse_manifest(entry.manifest.data, where, contract=contract, fix=_REPUBLISH)
    mark = manifest.doc.meshkit.format if manifest.doc.meshkit else None
    if contract and mark != CONTRACT_FORMAT:
        raise IntegrityError(
            f"{where} is contract format {mark!r}, which this meshkit ({CONTRACT_FORMAT}) cannot read: "
            "upgrade meshkit, or republish the contract"
        )
    if manifest.project_name != project:
        raise IntegrityError(
            f"{where} holds a manifest of project {manifest.project_name!r}, not {project!r}: "
            f"republish {project} from its own project"
        )
    return Published(project, env, manifest, entry.metadata)


def read_published(registry: Registry, project: str, env: str, history_id: str, metadata: PublishMetadata) -> Published:
    """The contract of a history entry whose metadata the caller has read: fetched, sha256-checked and parsed."""
    entry = read_entry(registry, project, env, history_id, metadata=metadata)
    return _published(registry, project, env, entry, layout.history_key(project, env, history_id))


def read_latest(registry: Registry, project: str, env: str) -> Published:
    """The contract latest/pointer.json names: a complete history entry, so a reader never sees a torn publish.

    Registries published before the pointer existed are read from the latest pair, checked by its sha256."""
    pointer_key = layout.latest_key(project, env, layout.POINTER)
    pointer_blob = registry.get(pointer_key)
    if pointer_blob is not None:
        pointer = parse_pointer(pointer_blob, f"{registry.url}/{pointer_key}")
        entry = read_entry(registry, project, env, pointer.history_id, pointer.sha256)
        return _published(registry, project, env, entry, layout.history_key(project, env, pointer.history_id))
    return _read_latest_pair(registry, project, env)


def _read_latest_pair(registry: Registry, project: str, env: str) -> Published:
    return _published(registry, project, env, _latest_pair(registry, project, env), layout.latest_key(project, env))


def _latest_pair(registry: Registry, project: str, env: str) -> Entry:
    """latest/manifest.json and its metadata.json as a registry without a pointer holds them, sha256-checked.

    The pair is two objects, so a reader can land between an old publisher's two writes: on a
    mismatch it re-reads a few times, then fails instead of trusting a torn pair."""
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
        metadata = parse_metadata(metadata_blob, f"{registry.url}/{metadata_key}")
        if sha256_hex(manifest_blob.data) == metadata.sha256:
            return Entry(metadata.history_id or "", metadata, manifest_blob, metadata_blob.data)
        time.sleep(_RETRY_PAUSE_SECONDS)
    if missing:
        raise IntegrityError(f"{registry.url}/{missing} is missing while its pair exists: republish the contract")
    raise IntegrityError(
        f"{registry.url}/{manifest_key} does not match the sha256 in its metadata.json: "
        "the registry is inconsistent; republish the contract"
    )


def latest_sha256(registry: Registry, project: str, env: str) -> str | None:
    """The sha256 of the latest contract from the smallest objects that record it; None when unknown or unsure.

    With a pointer, the entry it names must be there too: one listing shows its metadata.json, and its
    manifest at the size the pointer records (pointers from before that field: the size the entry's
    metadata records). Anything less (an entry deleted, truncated or replaced) is None, and the caller's
    full read says what is wrong."""
    key = layout.latest_key(project, env, layout.POINTER)
    blob = registry.get(key)
    try:
        if blob is None:
            key = layout.latest_key(project, env, layout.METADATA)
            legacy = registry.get(key)
            return parse_metadata(legacy, key).sha256 if legacy is not None else None
        pointer = parse_pointer(blob, key)
        entry = layout.history_key(project, env, pointer.history_id, "")
        sizes = {item.key[len(entry) :]: item.size for item in registry.listing(entry)}
        if layout.METADATA not in sizes or layout.MANIFEST not in sizes:
            return None
        expected = pointer.size
        if expected is None:
            metadata_blob = registry.get(entry + layout.METADATA)
            metadata = parse_metadata(metadata_blob, entry + layout.METADATA) if metadata_blob is not None else None
            if metadata is None or metadata.sha256 != pointer.sha256:
                return None
            expected = metadata.size
    except RegistryError:
        return None
    return pointer.sha256 if expected in (None, sizes[layout.MANIFEST]) else None


class Current(msgspec.Struct, frozen=True):
    """What latest names, as a publisher sees it; problem says why it could not be read (a publish repairs it)."""

    pointer_blob: Blob | None
    entry: Entry | None
    problem: str | None = None


def read_current(registry: Registry, project: str, env: str) -> Current:
    pointer_key = layout.latest_key(project, env, layout.POINTER)
    pointer_blob = registry.get(pointer_key)
    try:
        if pointer_blob is not None:
            pointer = parse_pointer(pointer_blob, pointer_key)
            return Current(pointer_blob, read_entry(registry, project, env, pointer.history_id, pointer.sha256))
        return Current(None, _latest_pair(registry, project, env))
    except NotPublishedError:
        return Current(None, None)
    except IntegrityError as problem:
        return Current(pointer_blob, None, str(problem))
