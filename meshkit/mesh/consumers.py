"""The consumer index: which downstream projects read which public models, for impact analysis.

Each downstream writes its own record, `{upstream}/{env}/consumers/{downstream}.json`,
so teams never write to each other's keys and no lock is needed. Records come from
other teams, so reading one is parsing untrusted input: anything malformed is
reported as unreadable, and an old record is reported as stale, never silently trusted.

Format 2 (`meshkit-consumer/2`) adds column lineage: for each use, the downstream models that read the
upstream node (directly, or through the project's own models) and which of its columns, or why that is not
known; and the analyses they came from, keyed by a digest of the SQL, so the next recording reuses them.
Format 1 records are still read: their uses name models only, and a check treats them at model level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import msgspec

from meshkit import __version__
from meshkit.contract import budget
from meshkit.contract.names import check_project, is_project_name, is_repository_name
from meshkit.errors import RegistryError, UnsafeNameError
from meshkit.lineage.graph import CachedAnalysis
from meshkit.registry import Registry, layout

# How a downstream reads an upstream public node: through dbt-loom's injected node, or a generated mesh source.
VIA_LOOM = "dbt-loom"
VIA_SOURCE = "mesh-source"
CONSUMER_FORMAT = "meshkit-consumer/2"
_JSON = msgspec.json.Decoder()  # a record is checked field by field below, with a reason for each
FORMAT_MODEL_LEVEL = "meshkit-consumer/1"  # still read: uses without readers


class Reader(msgspec.Struct, frozen=True, gc=False):
    """One downstream model that reads an upstream node: its columns (None: not known, reason says why),
    whether it names the node itself (direct) and which of the project's own models the read passes through."""

    model: str
    columns: list[str] | None
    direct: bool = True
    through: list[str] = []
    reason: str | None = None

    def reads_any(self, columns: Iterable[str]) -> bool:
        """Whether it reads one of columns (case-insensitive); a reader of unknown columns may read any."""
        if self.columns is None:
            return True
        read = {c.lower() for c in self.columns}
        return any(c.lower() in read for c in columns)


class Use(msgspec.Struct, frozen=True):
    """One upstream public model version as one downstream reads it."""

    unique_id: str
    model: str
    version: str | None
    pinned: bool  # False: follows latest_version (unversioned ref or the bare source table)
    via: str
    node: str  # the downstream's node for it: the loom model id or the mesh source id
    columns: tuple[str, ...] | None  # declared columns (mesh sources); None means the whole model
    downstream_models: tuple[str, ...]
    readers: tuple[Reader, ...] | None = None  # column lineage; None: a format 1 record (model level)

    def as_dict(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "model": self.model,
            "version": self.version,
            "pinned": self.pinned,
            "via": self.via,
            "node": self.node,
            "columns": None if self.columns is None else list(self.columns),
            "downstream_models": list(self.downstream_models),
            "readers": None if self.readers is None else msgspec.to_builtins(list(self.readers)),
        }


class ConsumerRecord(msgspec.Struct, frozen=True):
    downstream: str
    upstream: str
    env: str
    recorded_at: str
    git_commit: str | None
    contract_sha256: str | None
    uses: tuple[Use, ...]
    repository: str | None = None  # OWNER/REPO of the downstream, so a check can name the team's repository
    analyses: Mapping[str, CachedAnalysis] = msgspec.field(default_factory=dict)  # by model: reused while the SQL holds

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": CONSUMER_FORMAT,
            "meshkit_version": __version__,
            "downstream": self.downstream,
            "upstream": self.upstream,
            "env": self.env,
            "recorded_at": self.recorded_at,
            "git_commit": self.git_commit,
            "contract_sha256": self.contract_sha256,
            "repository": self.repository,
            "uses": [use.as_dict() for use in self.uses],
            "analyses": {uid: msgspec.to_builtins(self.analyses[uid]) for uid in sorted(self.analyses)},
        }


class ConsumerStatus(msgspec.Struct, frozen=True):
    """A record as read back: trusted, stale (too old) or unreadable (with the reason)."""

    downstream: str
    key: str
    record: ConsumerRecord | None
    age_days: int | None = None
    stale: bool = False
    problem: str | None = None


def _parse_use(raw: Any, *, lineage: bool) -> Use:
    if not isinstance(raw, dict):
        raise ValueError("a use is not an object")
    columns = raw.get("columns")
    texts = [raw.get("unique_id"), raw.get("model"), raw.get("via"), raw.get("node")]
    if not all(isinstance(t, str) for t in texts) or raw.get("via") not in (VIA_LOOM, VIA_SOURCE):
        raise ValueError("a use lacks unique_id, model, via or node")
    models = raw.get("downstream_models") or []
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ValueError("downstream_models is not a list of names")
    if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)):
        raise ValueError("columns is not a list of names")
    readers: tuple[Reader, ...] | None = None
    if lineage:
        try:
            readers = tuple(msgspec.convert(raw.get("readers"), list[Reader]))
        except msgspec.ValidationError as exc:
            raise ValueError(f"readers is not a list of readers ({exc})") from None
    version = raw.get("version")
    return Use(
        raw["unique_id"],
        raw["model"],
        None if version is None else str(version),
        bool(raw.get("pinned", True)),
        raw["via"],
        raw["node"],
        None if columns is None else tuple(columns),
        tuple(models),
        readers,
    )


def _parse_analyses(raw: Any) -> dict[str, CachedAnalysis]:
    """The cached analyses, or none when they do not decode: they only save work, a bad one is recomputed."""
    try:
        return msgspec.convert(raw or {}, dict[str, CachedAnalysis])
    except msgspec.ValidationError:
        return {}


def parse_record(data: bytes, *, downstream: str, upstream: str, env: str) -> ConsumerRecord:
    """Raise ValueError with a short reason for anything that is not a record for this key."""
    try:
        raw = budget.decode(_JSON, data)
    except msgspec.DecodeError:
        raise ValueError("not JSON") from None
    except budget.OverBudget as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(raw, dict) or raw.get("format") not in (CONSUMER_FORMAT, FORMAT_MODEL_LEVEL):
        raise ValueError(f"not a {CONSUMER_FORMAT} (or {FORMAT_MODEL_LEVEL}) record")
    lineage = raw["format"] == CONSUMER_FORMAT
    if (raw.get("downstream"), raw.get("upstream"), raw.get("env")) != (downstream, upstream, env):
        raise ValueError("its downstream, upstream or env does not match its key")
    recorded_at = raw.get("recorded_at")
    if not isinstance(recorded_at, str):
        raise ValueError("recorded_at is missing")
    uses = raw.get("uses")
    if not isinstance(uses, list):
        raise ValueError("uses is not a list")
    commit, sha, repository = raw.get("git_commit"), raw.get("contract_sha256"), raw.get("repository")
    if repository is not None and not is_repository_name(repository):
        raise ValueError("repository is not OWNER/REPO")
    return ConsumerRecord(
        downstream,
        upstream,
        env,
        recorded_at,
        commit if isinstance(commit, str) else None,
        sha if isinstance(sha, str) else None,
        tuple(_parse_use(u, lineage=lineage) for u in uses),
        repository,
        _parse_analyses(raw.get("analyses")) if lineage else {},
    )


def _recorded_date(recorded_at: str) -> date | None:
    try:
        return datetime.fromisoformat(recorded_at.replace("Z", "+00:00")).date()
    except ValueError:
        return None


class ConsumerIndex(msgspec.Struct):
    """Every consumer record of one upstream env, with staleness judged against `today`."""

    upstream: str
    env: str
    max_age_days: int
    statuses: list[ConsumerStatus] = msgspec.field(default_factory=list)

    @property
    def trusted(self) -> list[ConsumerStatus]:
        return [s for s in self.statuses if s.record is not None]


def read_consumers(registry: Registry, upstream: str, env: str, *, today: date, max_age_days: int) -> ConsumerIndex:
    index = ConsumerIndex(upstream, env, max_age_days)
    prefix = f"{layout.env_root(upstream, env)}/consumers/"
    for key in registry.list(prefix):
        filename = key[len(prefix) :]
        if "/" in filename or not filename.endswith(".json"):
            continue
        downstream = filename[: -len(".json")]
        try:
            check_project(downstream)
        except UnsafeNameError:
            index.statuses.append(ConsumerStatus(downstream, key, None, problem="unsafe downstream name in key"))
            continue
        try:
            blob = registry.get(key)
            if blob is None:
                continue  # deleted between list and get
            record = parse_record(blob.data, downstream=downstream, upstream=upstream, env=env)
        except RegistryError as why:  # one unreadable object (permissions, a torn write) is one untrusted record
            index.statuses.append(ConsumerStatus(downstream, key, None, problem=f"cannot be read: {why}"))
            continue
        except ValueError as why:
            index.statuses.append(ConsumerStatus(downstream, key, None, problem=str(why)))
            continue
        recorded = _recorded_date(record.recorded_at)
        if recorded is None:
            index.statuses.append(ConsumerStatus(downstream, key, None, problem="recorded_at is not a timestamp"))
            continue
        age = (today - recorded).days
        if age < -1:  # a day of clock skew is tolerated; a record from the future is not believed
            index.statuses.append(ConsumerStatus(downstream, key, None, problem="recorded_at is in the future"))
            continue
        index.statuses.append(ConsumerStatus(downstream, key, record, age, age > max_age_days))
    return index


def recorded_analyses(registry: Registry, downstream: str) -> dict[str, CachedAnalysis]:
    """The analyses this downstream's records hold (every upstream and env): a rerun reuses those whose SQL holds."""
    found: dict[str, CachedAnalysis] = {}
    if not is_project_name(downstream):
        return found
    for key in registry.list(""):
        parts = key.split("/")
        if len(parts) != 4 or parts[2:] != ["consumers", f"{downstream}.json"] or not is_project_name(parts[0]):
            continue
        try:
            blob = registry.get(key)
            if blob is not None:
                found.update(parse_record(blob.data, downstream=downstream, upstream=parts[0], env=parts[1]).analyses)
        except (RegistryError, ValueError):
            continue  # an unreadable record only costs the parse it would have saved
    return found
