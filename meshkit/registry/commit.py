"""How a publish lands: one commit point, so no reader ever sees a torn contract.

1. The manifest and its metadata go to a new history entry (if-absent writes; the metadata last,
   so an entry without metadata.json is incomplete and never read).
2. `latest/pointer.json` is written last, with an if-match on what was read: it names the entry.
   Racing publishers retry until theirs lands or a newer one (by history id, the UTC time the
   publish started) already has: latest only ever moves forward, and every publish stays in history.
3. `latest/manifest.json` and `latest/metadata.json` are then made copies of what the pointer names,
   for dbt-loom and older readers; any publish (even an unchanged one) repairs copies that lag.

A killed publisher leaves at most an incomplete history entry or a temporary file: the next
publish sweeps those once they are older than SWEEP_AGE_SECONDS.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from meshkit.contract.build import sha256_hex
from meshkit.contract.model import POINTER_SCHEMA, LatestPointer
from meshkit.errors import ConflictError, IntegrityError, RegistryError
from meshkit.registry import Registry, layout, seconds_from_env
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


def write_entry(
    registry: Registry, project: str, env: str, started: datetime, payload: bytes, metadata: Callable[[str], bytes]
) -> str:
    """A new, complete history entry; returns its id. A publisher that started the same microsecond takes the next."""
    for attempt in range(COMMIT_ATTEMPTS):
        stamp = layout.history_stamp(started + timedelta(microseconds=attempt))
        try:
            registry.put(layout.history_key(project, env, stamp), payload, if_absent=True)
        except ConflictError:
            continue
        registry.put(layout.history_key(project, env, stamp, layout.METADATA), metadata(stamp), if_absent=True)
        if layout.history_key(project, env, stamp) not in registry.list(layout.history_key(project, env, stamp, "")):
            # stalled past the sweep age between the two writes, and swept: never name a broken entry
            registry.delete(layout.history_key(project, env, stamp, layout.METADATA))
            raise ConflictError(
                f"{project}/{env}: this publish stalled so long that its history entry was swept: rerun"
            )
        return stamp
    raise ConflictError(f"{project}/{env}: {COMMIT_ATTEMPTS} publishes started in the same instant: rerun publish")


def commit(registry: Registry, project: str, env: str, pointer: LatestPointer) -> str:
    """Make latest name pointer's entry unless a newer publish already landed; returns the id latest names."""
    key = layout.latest_key(project, env, layout.POINTER)
    data = _ENCODER.encode(pointer)
    for attempt in range(COMMIT_ATTEMPTS):
        current = registry.get(key)
        if current is not None:
            try:
                named = parse_pointer(current, key).history_id
            except IntegrityError:
                named = ""  # unreadable: this publish replaces it
            if named >= pointer.history_id:
                return named
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


def pointer_to(history_id: str, sha256: str, kind: str, published_at: str | None) -> LatestPointer:
    return LatestPointer(
        schema=POINTER_SCHEMA, history_id=history_id, sha256=sha256, kind=kind, published_at=published_at
    )


def sweep(registry: Registry, project: str, env: str, now: datetime) -> int:
    """Remove what killed publishers left: temporary files, and history entries never completed."""
    root = layout.env_root(project, env)
    age = sweep_age()
    removed = registry.sweep(f"{root}/", age)
    prefix = f"{root}/history/"
    entries: dict[str, set[str]] = {}
    for key in registry.list(prefix):
        stamp, _, name = key[len(prefix) :].partition("/")
        entries.setdefault(stamp, set()).add(name)
    for stamp, names in entries.items():
        started = layout.stamp_time(stamp)
        stale = started is not None and (now - started).total_seconds() > age
        if stale and layout.METADATA not in names:
            for name in names:
                registry.delete(f"{prefix}{stamp}/{name}")
                removed += 1
    return removed
