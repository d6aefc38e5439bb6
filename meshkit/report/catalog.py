"""The mesh catalog: every project, env, public model, version, consumer and publish in one registry.

Everything here is read from the registry alone, so the explorer can be built by anyone with read
access and shows only what was published: never upstream SQL. It is also `meshkit catalog --format
json` (schema meshkit-catalog/3), so the shapes below are typed Structs that encode straight to JSON.

The same contract is often published to several envs (dev, staging, prod): contracts are kept once,
by sha256, and each env entry names its contract.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import msgspec

from meshkit import __version__
from meshkit.contract import budget
from meshkit.contract.build import sha256_hex
from meshkit.contract.manifest import Manifest
from meshkit.contract.model import PublishSummary, RecordedChange, is_deprecated, publish_order
from meshkit.contract.view import VIEW_FORMAT, Model, NodeProvenance, view_of
from meshkit.errors import IntegrityError, MeshkitError
from meshkit.mesh.consumers import ConsumerIndex, Use, read_consumers
from meshkit.registry import Registry, layout
from meshkit.registry.published import latest_sha256, parse_summary, published_envs, read_latest, read_published

if TYPE_CHECKING:
    from meshkit.report.whatif import ModelWhatIf

# /2: contracts by sha256, column readers, recorded diffs, what-if. /3: each contract as its view (contract/view.py):
# columns as the contract has them (constraints as objects with their expression, a description may be null), and
# which model versions are deprecated as a list per contract instead of a flag per model.
CATALOG_SCHEMA = "meshkit-catalog/3"


class Contract(msgspec.Struct, frozen=True, gc=False):
    """One distinct latest contract: its view (contract/view.py), as its publish wrote it or made from it here."""

    sha256: str
    project: str
    adapter: str
    models: list[Model] | list[msgspec.Raw]  # a view's models are spliced into the page as they are
    provenance: list[NodeProvenance] | msgspec.Raw  # a publishing consumer's: where its public columns come from
    deprecated: list[str]  # the model versions past their deprecation date on the catalog's day


class Consumer(msgspec.Struct, frozen=True, gc=False):
    """A consumer record as read back: trusted, stale or unreadable (problem says why; then no uses)."""

    downstream: str
    key: str
    repository: str | None
    recorded_at: str | None
    git_commit: str | None
    contract_sha256: str | None
    age_days: int | None
    stale: bool
    problem: str | None
    uses: list[Use]


class Publish(msgspec.Struct, frozen=True, gc=False):
    history_id: str
    published_at: str | None
    sha256: str | None
    git_commit: str | None
    dbt_version: str | None
    public_models: int
    changes: int | None  # since the previous entry; None when not compared
    breaking: int | None
    problem: str | None = None
    diff: list[RecordedChange] | None = None  # the changes since the previous entry, in check's words
    diff_source: str | None = None  # recorded (by publish) or computed (here, from both manifests)


class Entry(msgspec.Struct, gc=False):
    project: str
    env: str
    sha256: str  # the latest contract's, a key of Catalog.contracts; "" when problem says why it could not be read
    published_at: str | None
    git_commit: str | None
    problem: str | None = None
    history: list[Publish] = []
    consumers: list[Consumer] = []
    what_if: list[ModelWhatIf] = []  # for each public node a record names: what removing each column would break


class Catalog(msgspec.Struct, gc=False):
    meshkit_version: str
    command: str
    schema: str
    registry: str
    today: str
    consumer_max_age_days: int
    contracts: list[Contract] = []  # each distinct contract once; entries name theirs by sha256
    entries: list[Entry] = []

    @property
    def projects(self) -> list[str]:
        return sorted({e.project for e in self.entries})

    @property
    def downstreams(self) -> list[str]:
        readers = {c.downstream for e in self.entries for c in e.consumers if c.problem is None}
        return sorted(readers - set(self.projects))

    @property
    def model_versions(self) -> int:
        sizes = {c.sha256: len(c.models) for c in self.contracts}
        return sum(sizes[e.sha256] for e in self.entries if e.sha256)


def _deprecated(deprecations: dict[str, str], today: date) -> list[str]:
    return sorted(uid for uid, day in deprecations.items() if is_deprecated(day, today))


def _contract(sha256: str, project: str, manifest: Manifest, today: date) -> Contract:
    """From the contract itself: for an entry with no view (an older meshkit's) or none that matches."""
    view = view_of(manifest, sha256)
    return Contract(sha256, project, view.adapter, view.models, view.provenance, _deprecated(view.deprecations, today))


class _ViewParts(msgspec.Struct, gc=False):
    """A view as the catalog reads it: its models and provenance kept as JSON, to be spliced into the page."""

    format: str
    contract_sha256: str
    adapter: str
    models: list[msgspec.Raw]
    provenance: msgspec.Raw
    deprecations: dict[str, str]


_VIEW_PARTS: msgspec.json.Decoder[_ViewParts] = msgspec.json.Decoder(_ViewParts)


def _from_view(registry: Registry, project: str, env: str, latest: PublishSummary, today: date) -> Contract | None:
    """The latest contract from the view its publish wrote; None when there is none, or it does not match its
    sha256 or its contract's (a hand-edited entry): then the contract itself is read, and checked."""
    if not latest.view_sha256 or not latest.history_id:
        return None
    blob = registry.get(layout.history_key(project, env, latest.history_id, layout.VIEW))
    if blob is None or sha256_hex(blob.data) != latest.view_sha256:
        return None
    try:
        view = budget.decode(_VIEW_PARTS, blob.data)
    except (msgspec.DecodeError, budget.OverBudget):
        return None
    if view.format != VIEW_FORMAT or view.contract_sha256 != latest.sha256:
        return None
    return Contract(
        latest.sha256, project, view.adapter, view.models, view.provenance, _deprecated(view.deprecations, today)
    )


def _consumers(index: ConsumerIndex) -> list[Consumer]:
    found = []
    for status in index.statuses:
        record = status.record
        found.append(
            Consumer(
                status.downstream,
                status.key,
                record.repository if record else None,
                record.recorded_at if record else None,
                record.git_commit if record else None,
                record.contract_sha256 if record else None,
                status.age_days,
                status.stale,
                status.problem,
                list(record.uses) if record else [],
            )
        )
    return found


def _history(
    registry: Registry, project: str, env: str, today: date
) -> tuple[list[Publish], dict[str, PublishSummary]]:
    """Newest first, from each entry's small metadata.json (and those, by history id).

    What changed since the entry before is recorded at publish time (`since_previous`, in check's words);
    only for entries a meshkit that merely counted wrote are both manifests read and compared here.
    Broken entries are listed with the reason.
    """
    prefix = f"{layout.env_root(project, env)}/history/"
    stored: dict[str, float] = {}  # each entry's manifest, written at (the store's clock)
    for item in registry.listing(prefix):
        stamp, _, name = item.key[len(prefix) :].partition("/")
        stored.setdefault(stamp, 0.0)
        if name == layout.MANIFEST:
            stored[stamp] = item.written_at
    entries: list[tuple[tuple[int, float, str], Publish]] = []
    summaries: dict[str, PublishSummary] = {}
    for stamp, stored_at in stored.items():
        key = layout.history_key(project, env, stamp, layout.METADATA)
        blob = registry.get(key)
        try:
            if blob is None:
                raise IntegrityError("missing")
            metadata = parse_summary(blob, key)
        except IntegrityError:
            problem = Publish(stamp, None, None, None, None, 0, None, None, "metadata.json missing or corrupt")
            entries.append((publish_order(-1, stored_at, stamp), problem))
            continue
        summaries[stamp] = metadata
        since = metadata.since_previous if isinstance(metadata.since_previous, msgspec.Struct) else None
        publish = Publish(
            stamp,
            metadata.published_at,
            metadata.sha256,
            metadata.git_commit,
            metadata.dbt_version,
            len(metadata.public_models),
            since.changes if since else None,
            since.breaking if since else None,
            diff=since.listed if since else None,
            diff_source="recorded" if since and since.listed is not None else None,
        )
        entries.append((publish_order(metadata.based_on or 0, stored_at, stamp), publish))
    entries.sort(key=lambda pair: pair[0], reverse=True)  # newest first, by the rule latest moves by
    history = [publish for _, publish in entries]
    for index, publish in enumerate(history[:-1]):
        if publish.diff is None and publish.changes is not None and publish.sha256 and history[index + 1].sha256:
            from meshkit.report.history import diff_between  # only entries older meshkit wrote need a diff computed

            changes = diff_between(registry, project, env, history[index + 1].history_id, publish.history_id, today)
            if changes is not None:
                history[index] = msgspec.structs.replace(publish, diff=changes, diff_source="computed")
    return history, summaries


def _entry(
    registry: Registry,
    catalog: Catalog,
    manifests: dict[str, Manifest],
    contracts: set[str],
    project: str,
    env: str,
    today: date,
    consumer_max_age_days: int,
) -> Entry:
    """One env of one project. Its latest contract (confirmed by the pointer and a listing of its entry) is shown
    from the view its publish wrote, and only once: dev, staging and prod often hold the same one. The contract
    itself is read when there is no view to trust, or when a consumer record asks what removing a column breaks."""
    history, summaries = _history(registry, project, env, today)
    sha = latest_sha256(registry, project, env)
    latest = next((p for p in history if sha and p.sha256 == sha), None)
    if sha is None or latest is None:
        published = read_latest(registry, project, env)  # says what is wrong, or reads an older registry's pair
        sha = published.sha256
        manifests.setdefault(sha, published.manifest)
        published_at, git_commit = published.metadata.published_at, published.metadata.git_commit
    else:
        published_at, git_commit = latest.published_at, latest.git_commit
    summary = summaries.get(latest.history_id) if latest else None  # the latest entry's metadata
    if sha not in contracts:
        contract = _from_view(registry, project, env, summary, today) if summary else None
        if contract is None:
            contract = _contract(sha, project, _manifest(registry, manifests, project, env, sha, summary), today)
        contracts.add(sha)
        catalog.contracts.append(contract)
    index = read_consumers(registry, project, env, today=today, max_age_days=consumer_max_age_days)
    what_if: list[ModelWhatIf] = []
    if index.trusted:  # what removing a column would break is check's analysis: loaded only when someone reads
        from meshkit.report.whatif import what_if as removals

        manifest = _manifest(registry, manifests, project, env, sha, summary)
        what_if = removals(manifest, index, registry=registry, project=project, today=today)
    return Entry(
        project,
        env,
        sha,
        published_at,
        git_commit,
        history=history,
        consumers=_consumers(index),
        what_if=what_if,
    )


def _manifest(
    registry: Registry,
    manifests: dict[str, Manifest],
    project: str,
    env: str,
    sha: str,
    latest: PublishSummary | None,
) -> Manifest:
    """The contract sha names, read (and checked whole) once: from the latest entry whose metadata the history
    read, else through the pointer."""
    if sha not in manifests:
        if latest is not None and latest.history_id and latest.sha256 == sha:
            manifests[sha] = read_published(registry, project, env, latest.history_id, latest).manifest
            return manifests[sha]
        published = read_latest(registry, project, env)
        manifests[published.sha256] = published.manifest
        if published.sha256 != sha:  # latest moved on while the catalog was read: show what was confirmed
            raise IntegrityError(f"{project}/{env}'s latest contract changed while it was read: rerun meshkit catalog")
    return manifests[sha]


def build_catalog(
    registry: Registry, *, today: date, consumer_max_age_days: int = 30, envs: list[str] | None = None
) -> Catalog:
    catalog = Catalog(__version__, "catalog", CATALOG_SCHEMA, registry.url, today.isoformat(), consumer_max_age_days)
    manifests: dict[str, Manifest] = {}  # by sha256: each distinct contract decoded once
    contracts: set[str] = set()  # those in catalog.contracts
    for project, env in published_envs(registry):
        if envs and env not in envs:
            continue
        try:
            entry = _entry(registry, catalog, manifests, contracts, project, env, today, consumer_max_age_days)
            catalog.entries.append(entry)
        except (
            MeshkitError
        ) as problem:  # damaged, unreadable or refused: a problem entry, the rest of the mesh is shown
            catalog.entries.append(Entry(project, env, "", None, None, problem=str(problem)))
    return catalog


def catalog_json(catalog: Catalog) -> bytes:
    """The catalog as compact JSON: the explorer's data, and `meshkit catalog --format json`."""
    return msgspec.json.encode(catalog)
