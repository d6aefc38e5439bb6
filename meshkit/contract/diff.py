"""Classifying changes to a project's public surface: the contract in the registry against a new build.

The breaking rules are dbt-core's own for contracted models (`ModelNode.same_contract`
and, since 1.9, `same_contract_removed` for deleted or renamed models), widened to what
matters across projects: access, relation and `latest_version`, which consumers in other
repositories depend on even where dbt's single-project check does not look.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import Enum

import msgspec

from meshkit.contract.manifest import Manifest
from meshkit.contract.model import Column, Constraint, Node, RecordedChange, is_deprecated


class StrEnum(str, Enum):
    """A closed set of names that are also their JSON strings (enum.StrEnum is 3.11+)."""

    def __str__(self) -> str:
        return str(self.value)


class Severity(StrEnum):
    """How a change lands on consumers, most severe first."""

    BREAKING = "breaking"
    PLANNED = "planned-removal"  # a removal past its deprecation date: announced, so not a surprise
    WARNING = "warning"
    INFO = "info"


class ChangeCode(StrEnum):
    """Every kind of change `diff_surfaces` reports; check.schema.json lists the same set (test_schemas.py)."""

    ACCESS_LOWERED = "access-lowered"
    COLUMN_ADDED = "column-added"
    COLUMN_DOCS_CHANGED = "column-docs-changed"
    COLUMN_REMOVED = "column-removed"
    CONSTRAINT_REMOVED = "constraint-removed"
    CONTRACT_DISABLED = "contract-disabled"
    CONTRACT_ENFORCED = "contract-enforced"
    DEPRECATION_ADDED = "deprecation-added"
    DEPRECATION_CHANGED = "deprecation-changed"
    DEPRECATION_REMOVED = "deprecation-removed"
    DESCRIPTION_CHANGED = "description-changed"
    LATEST_VERSION_MOVED = "latest-version-moved"
    MATERIALIZATION_CHANGED = "materialization-changed"
    META_CHANGED = "meta-changed"
    MODEL_ADDED = "model-added"
    MODEL_REMOVED = "model-removed"
    MODEL_VERSIONED = "model-versioned"
    RELATION_MOVED = "relation-moved"
    TAGS_CHANGED = "tags-changed"
    TYPE_CHANGED = "type-changed"
    TYPE_RESPELLED = "type-respelled"
    VERSION_ADDED = "version-added"
    VERSION_REMOVED = "version-removed"


BREAKING, PLANNED, WARNING, INFO = Severity.BREAKING, Severity.PLANNED, Severity.WARNING, Severity.INFO
C = ChangeCode

# dbt treats only these materializations as enforcing constraints (`materialization_enforces_constraints`).
_ENFORCING_MATERIALIZATIONS = ("table", "incremental")
# Constraint types each adapter enforces (its CONSTRAINT_SUPPORT); removing one of these breaks consumers.
_ENFORCED_CONSTRAINTS: dict[str, frozenset[str]] = {
    "default": frozenset({"not_null", "foreign_key"}),
    "duckdb": frozenset({"check", "not_null", "unique", "primary_key", "foreign_key"}),
    "postgres": frozenset({"check", "not_null", "unique", "primary_key", "foreign_key"}),
    "snowflake": frozenset({"not_null"}),
    "bigquery": frozenset({"not_null"}),
    "redshift": frozenset({"not_null"}),
    "databricks": frozenset({"check", "not_null"}),
    "spark": frozenset({"check", "not_null"}),
}
# Spellings of one type across warehouses; applied after dbt's own lower-casing and parameter stripping.
_TYPE_ALIASES = {
    "int": "integer",
    "int4": "integer",
    "signed": "integer",
    "int8": "bigint",
    "long": "bigint",
    "int2": "smallint",
    "short": "smallint",
    "int1": "tinyint",
    "bool": "boolean",
    "logical": "boolean",
    "float8": "double",
    "double precision": "double",
    "float4": "real",
    "numeric": "decimal",
    "text": "varchar",
    "string": "varchar",
    "character varying": "varchar",
    "char varying": "varchar",
    "bpchar": "char",
    "character": "char",
    "timestamp without time zone": "timestamp",
    "timestamptz": "timestamp with time zone",
    "timetz": "time with time zone",
    "bytea": "blob",
    "binary": "blob",
    "varbinary": "blob",
}
# Size, precision and scale: `(10)`, `(18, 2)`, `(max)`; struct or enum bodies in parentheses are kept.
_TYPE_PARAMETERS = re.compile(r"\(\s*(?:-?\d+|max)(?:\s*,\s*-?\d+)*\s*\)")


class Change(msgspec.Struct, frozen=True):
    """One difference in the public surface, with what it means for consumers."""

    code: ChangeCode
    severity: Severity
    model: str  # model name, the table groups by it
    unique_id: str  # the contract node (old one for removals)
    message: str
    version: str | None = None
    before: str | None = None
    after: str | None = None
    columns: tuple[str, ...] = ()  # the columns it touches; empty means the model as a whole
    file: str | None = None  # yml or sql path in the new build, for annotations

    @property
    def breaking(self) -> bool:
        return self.severity == BREAKING


class Surface(msgspec.Struct):
    """The public models of one side of the diff, by unique_id."""

    models: dict[str, Node]
    adapter: str = "default"
    all_nodes: Mapping[str, Node] = msgspec.field(
        default_factory=dict
    )  # every node: a model no longer public is still here

    @classmethod
    def of(cls, manifest: Manifest) -> Surface:
        return cls(models=manifest.public_models(), adapter=manifest.adapter, all_nodes=manifest.nodes)


def normalise_type(data_type: str | None) -> str | None:
    """dbt's comparison (case and size/precision/scale ignored) plus alias folding.

    Only the parameter list goes, not what follows it: `timestamp(6) with time zone` keeps its
    time zone and `varchar(10)[]` stays an array.
    """
    if not data_type:
        return None
    base = _TYPE_PARAMETERS.sub("", data_type.lower())
    base = re.sub(r"\s+", " ", base).strip()
    return _TYPE_ALIASES.get(base, base)


def _day(value: str | None) -> str | None:
    """dbt stores deprecation dates as timestamps; people read days."""
    return value[:10] if value else None


def _removed_constraints(old: list[Constraint], new: list[Constraint], enforced: frozenset[str]) -> list[Constraint]:
    kept = {c.key for c in new}
    return [c for c in old if c.key not in kept and c.type in enforced]


def _applies_constraints(node: Node) -> bool:
    """dbt only enforces constraints on an enforced contract materialized as a table or incremental."""
    return node.enforced and node.materialized in _ENFORCING_MATERIALIZATIONS


def _column_changes(
    old: Node, new: Node, enforced: frozenset[str], file: str | None, *, owner: str | None = None
) -> list[Change]:
    """Column by column; `owner` names the model in messages read on their own (text lines, annotations)."""
    of = f" of {owner}" if owner else ""
    changes: list[Change] = []

    def add(
        code: ChangeCode,
        severity: Severity,
        message: str,
        column: str,
        before: str | None = None,
        after: str | None = None,
    ) -> None:
        changes.append(
            Change(code, severity, old.name, old.unique_id, message, old.version_key, before, after, (column,), file)
        )

    new_columns: dict[str, Column] = {name.lower(): column for name, column in new.columns.items()}
    constraints_matter = _applies_constraints(old)
    for name, column in sorted(old.columns.items()):
        current = new_columns.get(name.lower())
        if current is None:
            add(C.COLUMN_REMOVED, BREAKING, f"column {name}{of} was removed", name, column.data_type, None)
            continue
        before, after = column.data_type, current.data_type
        if before != after:
            if before and normalise_type(before) != normalise_type(after):
                add(C.TYPE_CHANGED, BREAKING, f"column {name}{of} changed type {before} → {after}", name, before, after)
            else:
                add(
                    C.TYPE_RESPELLED,
                    INFO,
                    f"column {name}{of} type {before} → {after} (same type for dbt)",
                    name,
                    before,
                    after,
                )
        if constraints_matter:
            for gone in _removed_constraints(column.constraints, current.constraints, enforced):
                add(
                    C.CONSTRAINT_REMOVED,
                    BREAKING,
                    f"enforced {gone.describe()} constraint on column {name}{of} was removed",
                    name,
                    gone.describe(),
                )
    old_names = {n.lower() for n in old.columns}
    for name, column in sorted(new.columns.items()):
        if name.lower() not in old_names:
            add(C.COLUMN_ADDED, INFO, f"column {name}{of} was added", name, None, column.data_type)
    return changes


def _model_changes(old: Node, new: Node, enforced: frozenset[str]) -> list[Change]:
    file = new.file
    changes: list[Change] = []

    def add(
        code: ChangeCode, severity: Severity, message: str, before: str | None = None, after: str | None = None
    ) -> None:
        changes.append(
            Change(code, severity, old.name, old.unique_id, message, old.version_key, before, after, (), file)
        )

    if old.enforced and not new.enforced:
        add(C.CONTRACT_DISABLED, BREAKING, f"{old.label} no longer enforces its contract", "enforced", "not enforced")
    elif not old.enforced and new.enforced:
        add(C.CONTRACT_ENFORCED, INFO, f"{old.label} now enforces its contract", "not enforced", "enforced")
    if old.relation != new.relation:
        add(
            C.RELATION_MOVED,
            BREAKING,
            f"{old.label} moved from {old.relation} to {new.relation}",
            str(old.relation),
            str(new.relation),
        )
    old_mat, new_mat = old.materialized, new.materialized
    has_constraints = bool(old.constraints) or any(c.constraints for c in old.columns.values())
    if _applies_constraints(old) and new_mat not in _ENFORCING_MATERIALIZATIONS and has_constraints:
        add(
            C.MATERIALIZATION_CHANGED,
            BREAKING,
            f"{old.label} changed from {old_mat} to {new_mat}, which drops its enforced constraints",
            str(old_mat),
            str(new_mat),
        )
    if _applies_constraints(old):
        for gone in _removed_constraints(old.constraints, new.constraints, enforced):
            add(
                C.CONSTRAINT_REMOVED,
                BREAKING,
                f"enforced model constraint {gone.describe()} of {old.label} was removed",
                gone.describe(),
            )
    if old.deprecation_date != new.deprecation_date:
        if new.deprecation_date:
            add(
                C.DEPRECATION_CHANGED if old.deprecation_date else C.DEPRECATION_ADDED,
                WARNING,
                f"{new.label} is deprecated from {_day(new.deprecation_date)}: consumers should migrate",
                _day(old.deprecation_date),
                _day(new.deprecation_date),
            )
        else:
            add(C.DEPRECATION_REMOVED, INFO, f"{new.label} is no longer deprecated", _day(old.deprecation_date))
    if (old.description or None) != (new.description or None):
        add(C.DESCRIPTION_CHANGED, INFO, f"{old.label} description changed")
    if (old.tags or None) != (new.tags or None):
        add(C.TAGS_CHANGED, INFO, f"{old.label} tags changed")
    if (old.meta or None) != (new.meta or None):
        add(C.META_CHANGED, INFO, f"{old.label} meta changed")
    if any(old.columns[n].description != c.description for n, c in new.columns.items() if n in old.columns):
        add(C.COLUMN_DOCS_CHANGED, INFO, f"{old.label} column descriptions changed")
    changes.extend(_column_changes(old, new, enforced, file, owner=old.label))
    return changes


def _removal(old: Node, new_node: Node | None, siblings: list[Node], today: date) -> Change:
    file = new_node.file if new_node else (siblings[0].file if siblings else None)
    past = is_deprecated(old.deprecation_date, today)
    severity = PLANNED if past else BREAKING
    if new_node is not None:
        access = new_node.access_level or "protected"
        message = f"{old.label} is no longer public (access {access})"
        return Change(
            C.ACCESS_LOWERED,
            severity,
            old.name,
            old.unique_id,
            message,
            old.version_key,
            "public",
            str(access),
            (),
            file,
        )
    deprecated = _day(old.deprecation_date)
    when = (
        f" (deprecated since {deprecated})"
        if past
        else (f" before its deprecation date {deprecated}" if deprecated else "")
    )
    if old.version_key and siblings:
        return Change(
            C.VERSION_REMOVED,
            severity,
            old.name,
            old.unique_id,
            f"{old.label} was removed{when}",
            old.version_key,
            old.label,
            None,
            (),
            file,
        )
    return Change(
        C.MODEL_REMOVED,
        severity,
        old.name,
        old.unique_id,
        f"{old.label} was removed or renamed{when}",
        old.version_key,
        old.label,
        None,
        (),
        file,
    )


_VERSIONING_KEEPS = frozenset(
    {
        C.CONTRACT_DISABLED,
        C.RELATION_MOVED,
        C.MATERIALIZATION_CHANGED,
        C.CONSTRAINT_REMOVED,
        C.COLUMN_REMOVED,
        C.TYPE_CHANGED,
        C.COLUMN_ADDED,
        C.TYPE_RESPELLED,
    }
)


def _versioned(old: Node, latest: Node, enforced: frozenset[str]) -> list[Change]:
    """An unversioned model that gained versions: unpinned refs now resolve to its latest version,
    so it is judged like an edit of the old model into that version (columns, relation, contract)."""
    moved = Change(
        C.MODEL_VERSIONED,
        INFO,
        old.name,
        old.unique_id,
        f"{old.name} is now versioned; unpinned refs resolve to {latest.label}",
        None,
        old.name,
        latest.label,
        (),
        latest.file,
    )
    return [moved, *(c for c in _model_changes(old, latest, enforced) if c.code in _VERSIONING_KEEPS)]


def _latest_moves(base: Surface, current: Surface, enforced: frozenset[str]) -> list[Change]:
    """Unpinned consumers follow latest_version: a move is breaking if the new latest drops what the old had."""
    found: list[Change] = []
    old_latest = {n.name: n for n in base.models.values() if n.is_latest}
    new_latest = {n.name: n for n in current.models.values() if n.is_latest}
    for name, old in sorted(old_latest.items()):
        new = new_latest.get(name)
        if new is None or new.unique_id == old.unique_id or not old.version_key:
            continue
        diffs = [c for c in _column_changes(old, new, enforced, new.file) if c.breaking]
        before, after = old.version_key, new.version_key
        if diffs:
            detail = "; ".join(c.message for c in diffs)
            message = f"{name} latest version moved v{before} → v{after}, and unpinned refs now break: {detail}"
            columns = tuple(col for c in diffs for col in c.columns)
            found.append(
                Change(
                    C.LATEST_VERSION_MOVED,
                    BREAKING,
                    name,
                    old.unique_id,
                    message,
                    before,
                    f"v{before}",
                    f"v{after}",
                    columns,
                    new.file,
                )
            )
        else:
            found.append(
                Change(
                    C.LATEST_VERSION_MOVED,
                    INFO,
                    name,
                    old.unique_id,
                    f"{name} latest version moved v{before} → v{after} with compatible columns",
                    before,
                    f"v{before}",
                    f"v{after}",
                    (),
                    new.file,
                )
            )
    return found


_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}


def diff_surfaces(*, base: Surface, current: Surface, today: date) -> list[Change]:
    """Every change from base (the registry's contract) to current (the new build)."""
    enforced = _ENFORCED_CONSTRAINTS.get(current.adapter, _ENFORCED_CONSTRAINTS["default"])
    changes: list[Change] = []
    for uid, old in base.models.items():
        new = current.models.get(uid)
        if new is not None:
            changes.extend(_model_changes(old, new, enforced))
            continue
        still_there = current.all_nodes.get(uid)  # present but no longer public: access was lowered
        siblings = [n for n in current.models.values() if n.name == old.name]
        newly_versioned = [n for n in siblings if n.is_latest] if old.version_key is None else []
        if still_there is None and newly_versioned:
            changes.extend(_versioned(old, newly_versioned[0], enforced))
        else:
            changes.append(_removal(old, still_there, siblings, today))
    base_names = {n.name for n in base.models.values()}
    for uid, new in current.models.items():
        if uid in base.models:
            continue
        if new.name in base_names and new.version_key:
            code, what = C.VERSION_ADDED, f"{new.label} is a new version"
        else:
            code, what = C.MODEL_ADDED, f"{new.label} is a new public model"
        changes.append(Change(code, INFO, new.name, uid, what, new.version_key, None, new.label, (), new.file))
    changes.extend(_latest_moves(base, current, enforced))
    return sorted(changes, key=lambda c: (c.model, c.version or "", _SEVERITY_ORDER[c.severity], c.code, c.columns))


def recorded(changes: list[Change]) -> list[RecordedChange]:
    """Changes as a publish records them in its metadata, and as the catalog reads them back."""
    return [
        RecordedChange(
            code=str(c.code),
            severity=str(c.severity),
            model=c.model,
            unique_id=c.unique_id,
            version=c.version,
            columns=list(c.columns),
            message=c.message,
        )
        for c in changes
    ]
