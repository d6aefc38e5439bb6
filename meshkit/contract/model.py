"""The part of a dbt manifest that meshkit reads, as types: decoded straight from JSON bytes.

A 20,000-model manifest is about 180 MB. Decoding it into these Structs (unknown fields are
skipped by the decoder, never materialised) keeps time and memory near a bare schema decode,
and a wrong-typed field fails at the boundary with its JSON path instead of deep in a diff.
Field order is the order the contract writes, so the contract's bytes stay what they were.

The rules about these types live here, once: how a relation is rendered, how a version is
compared, and when a version counts as deprecated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal, TypeVar

import msgspec

from meshkit.contract.budget import check_nesting
from meshkit.contract.names import check_identifier, check_quoted
from meshkit.contract.words import model_label
from meshkit.errors import InputError

# dbt writes a model version as an int, a float or a string; it compares them as strings.
VersionValue = int | float | str | None
# dbt's AccessType: anything else (`PUBLIC`, `Public`) dbt refuses at parse time, so a manifest holding it was edited.
Access = Literal["private", "protected", "public"]


def version_str(value: object) -> str | None:
    """The one spelling of a version: `2`, `2.0` and `"2"` are all version "2"."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def deprecation_day(value: str | None) -> date | None:
    """The day a version is deprecated from; dbt stores a timestamp, people (and this rule) use the day."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def is_date_time(value: str) -> bool:
    """An ISO 8601 date or date-time, as dbt writes deprecation_date (`2027-06-30T00:00:00+00:00`, `...Z`)."""
    try:
        date.fromisoformat(value[:10])
        if len(value) > 10:
            datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return False
    return True


def is_deprecated(deprecation_date: str | None, today: date) -> bool:
    """Deprecated from the start of its deprecation day (UTC), on the day itself included.

    dbt warns once `deprecation_date < now`; a date without a time is midnight, so on day D
    dbt already calls the version deprecated. check, validate and the catalog all ask here.
    """
    day = deprecation_day(deprecation_date)
    return day is not None and day <= today


# What dbt-loom injects into a downstream and lets it ref() when public: every node but tests and macros
# whose access (node-level, else config) is public. Only these three can stand behind a ref().
PUBLISHABLE = ("model", "seed", "snapshot")


def is_public(resource_type: str, access: str | None) -> bool:
    """What other projects may read: a model, seed or snapshot whose access (node-level, else config) is public."""
    return resource_type in PUBLISHABLE and access == "public"


class Relation(msgspec.Struct, frozen=True):
    """Where a model's table lives; `identifier` is the alias, or the name when there is none."""

    database: str | None
    schema: str | None
    identifier: str | None

    def __str__(self) -> str:
        return ".".join(str(part) for part in (self.database, self.schema, self.identifier))


class _Strict(msgspec.Struct, kw_only=True, gc=False):
    """Base of the decoded types: keyword-only, and untracked by the GC (no cycles, many instances)."""


class Constraint(_Strict, kw_only=True):
    type: str
    name: str | None = None
    expression: str | None = None
    warn_unenforced: bool = True
    warn_unsupported: bool = True
    to: str | None = None
    to_columns: list[str] = []
    columns: list[str] | msgspec.UnsetType = msgspec.UNSET  # model-level constraints only

    @property
    def columns_named(self) -> list[str]:
        return self.columns or []

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two constraints the same one (the warn flags do not)."""
        return (self.type, self.name, self.expression, tuple(self.columns_named), self.to, tuple(self.to_columns))

    def describe(self) -> str:
        text = self.type + (f" ({self.expression})" if self.expression else "")
        return text + (f" on {', '.join(self.columns_named)}" if self.columns_named else "")


class Column(_Strict, kw_only=True):
    name: str
    description: str | None = ""
    data_type: str | None = None
    constraints: list[Constraint] = []
    meta: dict[str, Any] = {}
    tags: list[str] = []
    quote: bool | None = None

    def __post_init__(self) -> None:
        if self.meta:
            check_nesting(self.meta, "meta")


class ModelContract(_Strict, kw_only=True):
    enforced: bool = False
    alias_types: bool = True
    checksum: str | msgspec.UnsetType | None = msgspec.UNSET  # the node's has one, the config's not


class NodeConfig(_Strict, kw_only=True):
    """A node's config. dbt Fusion writes null for an unset `enabled`, `tags` or `meta`: read as dbt's defaults."""

    enabled: bool | None = True
    materialized: str | None = None
    access: Access | None = None
    group: str | None = None
    contract: ModelContract | None = None
    tags: list[str] | str | None = []
    meta: dict[str, Any] | None = {}
    database: str | None = None
    schema: str | None = None
    alias: str | None = None
    # A seed's declared types, for the columns its yml leaves untyped. Read, never written: the contract's
    # columns carry them (contract.build), so its bytes are what they were before meshkit read this field.
    column_types: dict[str, str] | msgspec.UnsetType | None = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.enabled is None:
            self.enabled = True
        if self.tags is None:
            self.tags = []
        if self.meta is None:
            self.meta = {}
        elif self.meta:
            check_nesting(self.meta, "meta")


class RefArgs(_Strict, kw_only=True):
    """A `ref()` as the manifest records it, so a check can tell pinned refs from unpinned ones."""

    name: str
    package: str | None = None
    version: VersionValue = None


class NodeFace:
    """What a public node shows other projects, worked out from its fields: the rules once, for every node type.

    A mixin of properties only (no fields, no slots): the decoded types declare the fields, in their own order."""

    __slots__ = ()
    name: str
    resource_type: str
    database: str | None
    schema: str | None
    alias: str | None
    version: VersionValue
    latest_version: VersionValue
    access: Access | None
    contract: ModelContract | None
    config: NodeConfig | None

    @property
    def settings(self) -> NodeConfig:
        return self.config or _NO_CONFIG

    @property
    def access_level(self) -> str | None:
        return self.access or self.settings.access

    @property
    def is_public_node(self) -> bool:
        return is_public(self.resource_type, self.access_level)

    @property
    def enforced(self) -> bool:
        """dbt applies constraints (and compares contracts) only while the contract is enforced."""
        contract = self.contract or self.settings.contract
        return bool(contract and contract.enforced)

    @property
    def materialized(self) -> str | None:
        return self.settings.materialized

    @property
    def relation(self) -> Relation:
        return Relation(self.database, self.schema, self.alias or self.name)

    @property
    def version_key(self) -> str | None:
        return version_str(self.version)

    @property
    def latest_key(self) -> str | None:
        return version_str(self.latest_version)

    @property
    def is_latest(self) -> bool:
        """An unversioned model, or the version an unpinned ref resolves to."""
        return self.version_key is None or self.version_key == self.latest_key

    @property
    def label(self) -> str:
        """How people name a model version: `orders` or `orders v2`."""
        return model_label(self.name, self.version_key)


ColumnT = TypeVar("ColumnT", bound=msgspec.Struct)


def seed_columns(
    columns: dict[str, ColumnT], types: dict[str, str], make: Callable[[str, str], ColumnT]
) -> dict[str, ColumnT]:
    """A seed's columns with the types its `column_types` config gives where its yml gives none.

    A seed declares its types in config, not in a contract, and may document no column at all: every
    typed column is then part of what consumers read, and what a check compares. make builds a column the
    yml leaves out, as the caller's column type."""
    typed = {
        name: msgspec.structs.replace(column, data_type=getattr(column, "data_type", None) or types.get(name))
        for name, column in columns.items()
    }
    for name, data_type in types.items():
        typed.setdefault(name, make(name, data_type))
    return typed


def _column(name: str, data_type: str) -> Column:
    return Column(name=name, data_type=data_type)


class ContractNode(_Strict, NodeFace, kw_only=True):
    """A public model as the contract publishes it: no SQL, no dependencies, no file paths."""

    name: str
    resource_type: str
    package_name: str = ""
    unique_id: str
    fqn: list[str] = []
    database: str | None = None
    schema: str | None = None
    alias: str | None = None
    relation_name: str | None = None
    version: VersionValue = None
    latest_version: VersionValue = None
    deprecation_date: str | None = None
    access: Access | None = None
    group: str | None = None
    contract: ModelContract | None = None
    constraints: list[Constraint] = []
    primary_key: list[str] = []
    description: str | None = ""
    meta: dict[str, Any] = {}
    tags: list[str] = []
    config: NodeConfig | None = None
    columns: dict[str, Column] = {}

    def __post_init__(self) -> None:
        if self.meta:
            check_nesting(self.meta, "meta")
        types = self.config.column_types if self.config else None
        if self.resource_type == "seed" and isinstance(types, dict) and types:
            self.columns = seed_columns(self.columns, types, _column)

    def check_writable(self, adapter: str | None) -> None:
        """Refuse what a downstream would read wrong: a name it puts in SQL or YAML, a date it cannot read.

        dbt itself never writes these; a manifest holding one was edited, or is hostile. The names are
        judged by the adapter's quoting (names.check_quoted); one line names the field."""
        uid = self.unique_id
        check_identifier(self.name, what=f"{uid} name")
        check_quoted(self.schema, what=f"{uid} schema", adapter=adapter)  # every relation has one
        if self.database:  # Spark without a catalog has none
            check_quoted(self.database, what=f"{uid} database", adapter=adapter)
        if self.alias is not None:  # dbt sets the alias to the name; an empty one names no table
            check_quoted(self.alias, what=f"{uid} alias", adapter=adapter)
        version = version_str(self.version)
        if version is not None:  # the versioned source table is NAME_vVERSION
            check_identifier(f"{self.name}_v{version}", what=f"{uid} version")
        if self.deprecation_date is not None and not is_date_time(self.deprecation_date):
            raise InputError(
                f"{uid} deprecation_date {self.deprecation_date!r} is not a date (YYYY-MM-DD, as dbt writes it): "
                "fix it in the model's yml and rebuild"
            )
        for key, column in self.columns.items():
            check_quoted(key, what=f"{uid} column", adapter=adapter)
            if column.name != key:
                raise InputError(
                    f"{uid} column {key!r} is named {column.name!r}: dbt keys each column by its name; rebuild "
                    "the manifest with dbt"
                )


class Node(ContractNode, kw_only=True):
    """Any manifest node (model, test, seed...): the contract's fields, plus where it is defined and what it refs."""

    patch_path: str | None = None
    original_file_path: str | None = None
    path: str | None = None
    refs: list[RefArgs] = []

    @property
    def file(self) -> str | None:
        """The yml (or sql) path that defines the model, for annotations."""
        if self.patch_path:
            return self.patch_path.split("://", 1)[-1]
        return self.original_file_path

    @property
    def injected(self) -> bool:
        """A node dbt-loom injected from another project has no file of its own."""
        return not self.original_file_path and not self.path


_NO_CONFIG = NodeConfig()


class SourceConfig(_Strict, kw_only=True):
    meta: dict[str, Any] = {}

    def __post_init__(self) -> None:
        if self.meta:
            check_nesting(self.meta, "meta")


class SourceNode(_Strict, kw_only=True):
    """A downstream's source table; meshkit's generated ones carry `meta.meshkit`."""

    name: str
    unique_id: str
    source_name: str = ""
    database: str | None = None
    schema: str | None = None
    identifier: str | None = None
    relation_name: str | None = None
    meta: dict[str, Any] = {}
    source_meta: dict[str, Any] = {}
    config: SourceConfig | None = None
    columns: dict[str, Column] = {}
    original_file_path: str | None = None

    def __post_init__(self) -> None:
        for value in (self.meta, self.source_meta):
            if value:
                check_nesting(value, "meta")

    @property
    def relation(self) -> Relation:
        return Relation(self.database, self.schema, self.identifier or self.name)

    @property
    def meshkit_meta(self) -> dict[str, Any]:
        """The table's `meta.meshkit` over the source-level one (upstream, env).

        dbt merges source and table meta shallowly, so in `meta` the table's `meshkit` block
        hides the source's; the source-level block (with env) survives only in `source_meta`.
        """
        merged: dict[str, Any] = {}
        config_meta = self.config.meta if self.config else {}
        for container in (self.source_meta, config_meta, self.meta):
            block = container.get("meshkit")
            if isinstance(block, dict):
                merged.update(block)
        return merged


class Group(_Strict, kw_only=True):
    name: str
    unique_id: str
    owner: dict[str, Any] = {}
    description: str | msgspec.UnsetType | None = msgspec.UNSET  # dbt writes it from 1.9
    package_name: str = ""
    resource_type: str = "group"

    def __post_init__(self) -> None:
        if self.owner:
            check_nesting(self.owner, "owner")


class ContractMetadata(_Strict, kw_only=True):
    dbt_schema_version: str = ""
    project_name: str | None = None
    project_id: str | None = None
    adapter_type: str | None = None


class ManifestMetadata(ContractMetadata, kw_only=True):
    dbt_version: str = ""


class NodeAccess(_Strict, kw_only=True):
    """Just enough of a node to tell whether it is a public model: read for every model, so kept small."""

    resource_type: str
    access: Access | None = None
    config: AccessConfig | None = None

    @property
    def access_level(self) -> str | None:
        return self.access or (self.config.access if self.config else None)

    @property
    def is_public_node(self) -> bool:
        return is_public(self.resource_type, self.access_level)


class AccessConfig(_Strict, kw_only=True):
    access: Access | None = None


class Derivation(_Strict, kw_only=True):
    """An upstream public column a public column derives from: `sales_core`'s `orders.amount`."""

    project: str
    node: str  # the upstream contract's unique_id
    column: str


class Provenance(_Strict, kw_only=True):
    """Where one public node's columns come from in the projects it consumes (a consumer that also publishes).

    reaches: the upstream public nodes it reads, directly or through its own models. columns: each of its
    columns' derivations; a column maps to None (or the whole map is None) when that is not known, and then
    it may derive from anything it reaches."""

    reaches: list[Derivation] = []  # column "" : the node as a whole
    columns: dict[str, list[Derivation] | None] | None = None


class ContractMark(_Strict, kw_only=True):
    """`meshkit: {format: ..., provenance: ...}` in a contract: the format that wrote it, and column provenance.

    Provenance sits here, beside the nodes and not in them, so dbt-loom reads the contract unchanged."""

    format: str
    provenance: dict[str, Provenance] = {}


class ManifestDoc(_Strict, kw_only=True):
    """A dbt manifest (or a meshkit contract, which has the same shape): nodes stay raw JSON until read."""

    metadata: ManifestMetadata
    meshkit: ContractMark | None = None  # contracts only
    nodes: dict[str, msgspec.Raw]
    sources: dict[str, msgspec.Raw] = {}
    groups: dict[str, Group] = {}
    parent_map: msgspec.Raw = msgspec.Raw(b"{}")


class PublicModel(_Strict, kw_only=True):
    """What a consumer needs to know about one published model version (kept in the publish metadata)."""

    unique_id: str
    name: str
    version: str | None = None
    latest_version: str | None = None
    deprecation_date: str | None = None
    relation_name: str | None = None


class RecordedChange(_Strict, kw_only=True):
    """One change since the previous publish, in the words `check` prints: the catalog shows it with no old manifest."""

    code: str
    severity: str
    model: str
    unique_id: str
    version: str | None = None
    columns: list[str] = []
    message: str


class ChangeCounts(_Strict, kw_only=True):
    """How a publish differed from the one before it, so history needs no old manifest to describe it."""

    changes: int
    breaking: int
    listed: list[RecordedChange] | None = None  # each change; None in entries written by a meshkit that only counted


POINTER_SCHEMA = "meshkit-latest/1"
PUBLISH_KINDS = ("contract", "full")


def publish_order(based_on: int, stored_at: float, history_id: str) -> tuple[int, float, str]:
    """Which of two publishes is newer: the rule latest moves by, and the history's order.

    First the pointer sequence each publish saw when it started (based_on): a publish that started after
    another one committed has seen it, so it is newer whatever its clock says. Publishes that saw the same
    pointer raced; the one whose history entry the store wrote last (its own clock: S3's LastModified, a
    local file's mtime) is newer, and the history id (the publisher's clock) only breaks a tie within the
    store's resolution. So no runner's clock can freeze latest, or make a stalled publish undo a newer one.
    """
    return (based_on, stored_at, history_id)


class LatestPointer(_Strict, kw_only=True):
    """`latest/pointer.json`: the one object a publish commits, naming a complete, immutable history entry.

    sequence counts the commits: each one writes the sequence of the pointer it replaces, plus one.
    based_on is the sequence the publish saw when it started, stored_at the store's time of its history
    manifest: with the history id they order publishes (publish_order). Pointers written by older meshkit
    versions have neither and rank below any that has.
    """

    schema: str
    history_id: str
    sha256: str
    kind: str = "contract"
    published_at: str | None = None
    sequence: int = 0
    based_on: int = 0
    stored_at: float = 0.0
    size: int | None = None  # of the entry's manifest: a reader confirms the entry from a listing alone

    @property
    def order(self) -> tuple[int, float, str]:
        """A publish replaces latest only when its order is greater."""
        return publish_order(self.based_on if self.sequence else -1, self.stored_at, self.history_id)


class PublishMetadata(_Strict, kw_only=True):
    """`metadata.json` beside every published manifest: small, so readers decide before fetching the manifest.

    Only `sha256` is required: entries written by older meshkit versions lack the newer fields.
    """

    meshkit_version: str | None = None
    project: str | None = None
    env: str | None = None
    kind: str = "contract"
    sha256: str
    size: int | None = None
    published_at: str | None = None
    history_id: str | None = None
    git_commit: str | None = None
    dbt_version: str | None = None
    dbt_schema_version: str | None = None
    public_models: list[PublicModel] = []
    since_previous: ChangeCounts | msgspec.UnsetType | None = msgspec.UNSET  # None: first publish
    based_on: int | None = None  # the pointer sequence the publish saw (LatestPointer.based_on); None before it
    view_sha256: str | None = None  # of the entry's view.json (contract/view.py); None: no view, read the contract


class PublishSummary(PublishMetadata, kw_only=True):
    """A history entry's metadata as the catalog lists it: its public models are only counted, not decoded."""

    public_models: list[msgspec.Raw] = []  # type: ignore[assignment]
