"""How a publish lands: one commit point, so no reader ever sees a torn contract.

1. The manifest and its metadata go to a new history entry (if-absent writes; the metadata last,
   so an entry without metadata.json is incomplete and never read).
2. `latest/pointer.json` is written last, with an if-match on what was read: it names the entry.
   Racing publishers retry until theirs lands or a newer one already has: latest only ever moves
   forward, and every publish stays in history. "Newer" is never a runner's clock alone
   (model.publish_order): each commit writes the sequence it replaces plus one, and a publish records
   the sequence it saw when it started (`based_on`), so one that started after another committed wins
   whatever its clock says; racers that saw the same pointer are told apart by the store's time of
   their history manifests, then by their ids. A runner whose clock is an hour (or a day) off can
   neither freeze latest nor, stalled, undo a newer publish.
3. `latest/manifest.json` and `latest/metadata.json` are then made copies of what the pointer names,
   for dbt-loom and older readers; any publish (even an unchanged one) repairs copies that lag.

A killed publisher leaves at most an incomplete history entry or a temporary file: a later
publish sweeps those once they are older than SWEEP_AGE_SECONDS, by the store's own clock (the
times a listing gives), so a sweeper with a wrong clock never removes an entry still being written.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from meshkit.contract.build import sha256_hex
from meshkit.contract.model import POINTER_SCHEMA, LatestPointer
from meshkit.errors import ConflictError, IntegrityError, RegistryError
from meshkit.registry import Blob, Listed, Registry, layout, seconds_from_env
from meshkit.registry.published import parse_metadata, parse_pointer, read_entry

COMMIT_ATTEMPTS = 200
SWEEP_AGE_SECONDS = 600.0  # far longer than a publish takes between its two history writes
SWEEP_AGE_VARIABLE = "MESHKIT_SWEEP_AFTER_SECONDS"  # a shorter age, for tests and operators cleaning up


def sweep_age() -> float:
    return seconds_from_env(SWEEP_AGE_VARIABLE, SWEEP_AGE_SECONDS)


_ENCODER = msgspec.json.Encoder()


def _pause(attempt: int) -> None:
    """Jittered and growing, so racers spread out instead of colliding again."""
    time.sleep(random.uniform(0, min(0.5, 0.005 * 2 ** min(attempt, 7))))


@dataclass(frozen=True)
class Written:
    """A complete history entry this publish wrote: its id, the store's time and the size of its manifest."""

    history_id: str
    stored_at: float
    size: int | None = None


def write_entry(
    registry: Registry,
    project: str,
    env: str,
    started: datetime,
    payload: bytes,
    metadata: Callable[[str], bytes],
    view: bytes | None = None,
) -> Written:
    """A new, complete history entry: the manifest, its view, then the metadata that marks the entry complete.
    A publisher that started the same microsecond takes the next id."""
    for attempt in range(COMMIT_ATTEMPTS):
        stamp = layout.history_stamp(started + timedelta(microseconds=attempt))
        manifest_key = layout.history_key(project, env, stamp)
        try:
            registry.put(manifest_key, payload, if_absent=True)
        except ConflictError:
            continue
        if view is not None:
            registry.put(layout.history_key(project, env, stamp, layout.VIEW), view, if_absent=True)
        registry.put(layout.history_key(project, env, stamp, layout.METADATA), metadata(stamp), if_absent=True)
        manifest = next(
            (i for i in registry.listing(layout.history_key(project, env, stamp, "")) if i.key == manifest_key), None
        )
        if manifest is None:
            # stalled past the sweep age between the two writes, and swept: never name a broken entry
            registry.delete(layout.history_key(project, env, stamp, layout.METADATA))
            raise ConflictError(
                f"{project}/{env}: this publish stalled so long that its history entry was swept: rerun"
            )
        return Written(stamp, manifest.written_at, manifest.size)
    raise ConflictError(f"{project}/{env}: {COMMIT_ATTEMPTS} publishes started in the same instant: rerun publish")


def sequence_of(blob: Blob | None, key: str) -> int:
    """The sequence of the pointer a publish saw when it started (its based_on); 0 when none was readable."""
    if blob is None:
        return 0
    try:
        return parse_pointer(blob, key).sequence
    except IntegrityError:
        return 0


def commit(registry: Registry, project: str, env: str, pointer: LatestPointer) -> str:
    """Make latest name pointer's entry unless a newer publish already landed; returns the id latest names."""
    key = layout.latest_key(project, env, layout.POINTER)
    for attempt in range(COMMIT_ATTEMPTS):
        current = registry.get(key)
        replaced = 0
        if current is not None:
            try:
                named = parse_pointer(current, key)
            except IntegrityError:
                named = None  # unreadable: this publish replaces it
            if named is not None and named.order >= pointer.order:
                return named.history_id
            replaced = named.sequence if named is not None else 0
        data = _ENCODER.encode(msgspec.structs.replace(pointer, sequence=max(replaced + 1, pointer.sequence)))
        try:
            if current is None:
                registry.put(key, data, if_absent=True)
            else:
                registry.put(key, data, if_match=current.etag)
            return pointer.history_id
        except ConflictError:
            _pause(attempt)
    raise ConflictError(
        f"latest of {project}/{env} changed {COMMIT_ATTEMPTS} times while this publish tried to land: "
        f"history entry {pointer.history_id} is kept; rerun publish"
    )


def converge_copies(registry: Registry, project: str, env: str) -> bool:
    """Make latest/manifest.json and metadata.json copies of what the pointer names; True if anything was written.

    Each round ends by re-reading the pointer, so a publisher whose copy landed after a newer
    publisher's copies puts the newer ones back before it exits."""
    key = layout.latest_key(project, env, layout.POINTER)
    wrote = False
    for attempt in range(COMMIT_ATTEMPTS):
        blob = registry.get(key)
        if blob is None:
            return wrote
        pointer = parse_pointer(blob, key)
        if not _copies_match(registry, project, env, pointer):
            entry = read_entry(registry, project, env, pointer.history_id, pointer.sha256)
            registry.put(layout.latest_key(project, env), entry.manifest.data)
            registry.put(layout.latest_key(project, env, layout.METADATA), entry.metadata_data)
            wrote = True
        after = registry.get(key)
        if after is not None and after.data == blob.data:
            return wrote
        _pause(attempt)
    raise ConflictError(f"latest of {project}/{env} kept changing while its copies were written: rerun publish")


def _copies_match(registry: Registry, project: str, env: str, pointer: LatestPointer) -> bool:
    metadata = registry.get(layout.latest_key(project, env, layout.METADATA))
    manifest = registry.get(layout.latest_key(project, env))
    if metadata is None or manifest is None:
        return False
    try:
        recorded = parse_metadata(metadata, "latest/metadata.json")
    except RegistryError:
        return False
    same = (recorded.sha256, recorded.history_id) == (pointer.sha256, pointer.history_id)
    return same and sha256_hex(manifest.data) == pointer.sha256


def pointer_to(written: Written, sha256: str, kind: str, published_at: str | None, based_on: int) -> LatestPointer:
    """The pointer a publish commits; commit() sets its sequence from the pointer it replaces (at least this one)."""
    return LatestPointer(
        schema=POINTER_SCHEMA,
        history_id=written.history_id,
        sha256=sha256,
        kind=kind,
        published_at=published_at,
        sequence=based_on + 1,
        based_on=based_on,
        stored_at=written.stored_at,
        size=written.size,
    )


def sweep(registry: Registry, project: str, env: str) -> int:
    """Remove what killed publishers left: temporary files, and history entries never completed.

    An entry is incomplete while it has no metadata.json. It is removed once it is older than the sweep
    age, measured between two of the store's own times: its newest object's, and the newest object's in
    the env. So no clock of any runner takes part, and an entry still being written (itself the newest)
    is never touched; a later publish, which writes something newer, sweeps it."""
    root = layout.env_root(project, env)
    age = sweep_age()
    removed = registry.sweep(f"{root}/", age)
    listed = registry.listing(f"{root}/")
    if not listed:
        return removed
    store_now = max(item.written_at for item in listed)
    prefix = f"{root}/history/"
    entries: dict[str, list[Listed]] = {}
    for item in listed:
        if item.key.startswith(prefix):
            entries.setdefault(item.key[len(prefix) :].partition("/")[0], []).append(item)
    for stamp, items in entries.items():
        names = {item.key.rsplit("/", 1)[-1] for item in items}
        if layout.METADATA in names or layout.stamp_time(stamp) is None:
            continue  # complete, or a folder meshkit did not write
        if store_now - max(item.written_at for item in items) >= age:
            for item in items:
                registry.delete(item.key)
                removed += 1
    return removed
