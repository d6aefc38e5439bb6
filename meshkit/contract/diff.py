"""Classifying changes to a project's public surface: the contract in the registry against a new build.

The breaking rules are dbt-core's own for contracted models (`ModelNode.same_contract`
and, since 1.9, `same_contract_removed` for deleted or renamed models), widened to what
matters across projects: access, relation and `latest_version`, which consumers in other
repositories depend on even where dbt's single-project check does not look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from meshkit.contract.build import version_str
from meshkit.contract.manifest import Manifest
from meshkit.contract.words import model_label

BREAKING = "breaking"
PLANNED = "planned-removal"
WARNING = "warning"
INFO = "info"

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
    "int": "integer", "int4": "integer", "signed": "integer",
    "int8": "bigint", "long": "bigint",
    "int2": "smallint", "short": "smallint",
    "int1": "tinyint",
    "bool": "boolean", "logical": "boolean",
    "float8": "double", "double precision": "double",
    "float4": "real",
    "numeric": "decimal",
    "text": "varchar", "string": "varchar", "character varying": "varchar", "char varying": "varchar",
    "bpchar": "char", "character": "char",
    "timestamp without time zone": "timestamp",
    "timestamptz": "timestamp with time zone",
    "timetz": "time with time zone",
    "bytea": "blob", "binary": "blob", "varbinary": "blob",
}
# Size, precision and scale: `(10)`, `(18, 2)`, `(max)`; struct or enum bodies in parentheses are kept.
_TYPE_PARAMETERS = re.compile(r"\(\s*(?:-?\d+|max)(?:\s*,\s*-?\d+)*\s*\)")


@dataclass(frozen=True)
class Change:
    """One difference in the public surface, with what it means for consumers."""

    code: str
    severity: str  # breaking, planned-removal, warning or info
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


@dataclass
class Surface:
    """The public models of one side of the diff, by unique_id."""

    models: dict[str, dict[str, Any]]
    adapter: str = "default"
    all_nodes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, manifest: Manifest) -> Surface:
        adapter = str((manifest.data.get("metadata") or {}).get("adapter_type") or "default")
        return cls(models=manifest.public_models(), adapter=adapter, all_nodes=manifest.nodes)


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


def _config(node: dict[str, Any]) -> dict[str, Any]:
    return node.get("config") or {}


def _enforced(node: dict[str, Any]) -> bool:
    """dbt applies constraints (and same_contract looks at them) only while the contract is enforced."""
    contract = node.get("contract") or _config(node).get("contract") or {}
    return bool(contract.get("enforced"))


def _materialized(node: dict[str, Any]) -> str | None:
    return _config(node).get("materialized")


def _relation(node: dict[str, Any]) -> str:
    return ".".join(str(part) for part in (node.get("database"), node.get("schema"), node.get("alias") or node.get("name")))


def _label(node: dict[str, Any]) -> str:
    version = version_str(node.get("version"))
    return model_label(str(node.get("name")), version)


def _file(node: dict[str, Any]) -> str | None:
    patch = node.get("patch_path") or ""
    return patch.split("://", 1)[-1] if patch else node.get("original_file_path")


def _constraint_key(constraint: dict[str, Any]) -> tuple[Any, ...]:
    return (
        constraint.get("type"), constraint.get("name"), constraint.get("expression"),
        tuple(constraint.get("columns") or ()), constraint.get("to"), tuple(constraint.get("to_columns") or ()),
    )


def _describe_constraint(constraint: dict[str, Any]) -> str:
    kind = str(constraint.get("type"))
    if constraint.get("expression"):
        kind += f" ({constraint['expression']})"
    if constraint.get("columns"):
        kind += f" on {', '.join(map(str, constraint['columns']))}"
    return kind


def _day(value: object) -> str | None:
    """dbt stores deprecation dates as timestamps; people read days."""
    return str(value)[:10] if value else None


def _past(deprecation_date: object, today: date) -> bool:
    if not deprecation_date:
        return False
    try:
        return date.fromisoformat(str(deprecation_date)[:10]) < today
    except ValueError:
        return False


def _removed_constraints(old: list[dict[str, Any]], new: list[dict[str, Any]], enforced: frozenset[str]) -> list[dict[str, Any]]:
    kept = {_constraint_key(c) for c in new}
    return [c for c in old if _constraint_key(c) not in kept and c.get("type") in enforced]


def _column_changes(old: dict[str, Any], new: dict[str, Any], enforced: frozenset[str], file: str | None,
                    *, owner: str | None = None) -> list[Change]:
    """Column by column; `owner` names the model in messages read on their own (text lines, annotations)."""
    uid, model, version = old["unique_id"], str(old.get("name")), version_str(old.get("version"))
    of = f" of {owner}" if owner else ""
    changes: list[Change] = []

    def add(code: str, severity: str, message: str, column: str, before: str | None = None, after: str | None = None) -> None:
        changes.append(Change(code, severity, model, uid, message, version, before, after, (column,), file))

    old_columns = old.get("columns") or {}
    new_columns = {name.lower(): column for name, column in (new.get("columns") or {}).items()}
    constraints_matter = _enforced(old) and _materialized(old) in _ENFORCING_MATERIALIZATIONS
    for name, column in sorted(old_columns.items()):
        current = new_columns.get(name.lower())
        if current is None:
            add("column-removed", BREAKING, f"column {name}{of} was removed", name, column.get("data_type"), None)
            continue
        before, after = column.get("data_type"), current.get("data_type")
        if before != after:
            if before and normalise_type(before) != normalise_type(after):
                add("type-changed", BREAKING, f"column {name}{of} changed type {before} → {after}",
                    name, before, after)
            else:
                add("type-respelled", INFO, f"column {name}{of} type {before} → {after} (same type for dbt)",
                    name, before, after)
        if constraints_matter:
            for gone in _removed_constraints(column.get("constraints") or [], current.get("constraints") or [], enforced):
                add("constraint-removed", BREAKING,
                    f"enforced {_describe_constraint(gone)} constraint on column {name}{of} was removed",
                    name, _describe_constraint(gone), None)
    for name, column in sorted((new.get("columns") or {}).items()):
        if name.lower() not in {n.lower() for n in old_columns}:
            add("column-added", INFO, f"column {name}{of} was added", name, None, column.get("data_type"))
    return changes


def _model_changes(old: dict[str, Any], new: dict[str, Any], enforced: frozenset[str]) -> list[Change]:
    uid, model, version, file = old["unique_id"], str(old.get("name")), version_str(old.get("version")), _file(new)
    changes: list[Change] = []

    def add(code: str, severity: str, message: str, before: object = None, after: object = None) -> None:
        changes.append(Change(code, severity, model, uid, message, version,
                              None if before is None else str(before), None if after is None else str(after), (), file))

    if _enforced(old) and not _enforced(new):
        add("contract-disabled", BREAKING, f"{_label(old)} no longer enforces its contract", "enforced", "not enforced")
    elif not _enforced(old) and _enforced(new):
        add("contract-enforced", INFO, f"{_label(old)} now enforces its contract", "not enforced", "enforced")
    if _relation(old) != _relation(new):
        add("relation-moved", BREAKING, f"{_label(old)} moved from {_relation(old)} to {_relation(new)}",
            _relation(old), _relation(new))
    old_mat, new_mat = _materialized(old), _materialized(new)
    has_constraints = bool(old.get("constraints")) or any((c.get("constraints") for c in (old.get("columns") or {}).values()))
    constraints_applied = _enforced(old) and old_mat in _ENFORCING_MATERIALIZATIONS
    if constraints_applied and new_mat not in _ENFORCING_MATERIALIZATIONS and has_constraints:
        add("materialization-changed", BREAKING,
            f"{_label(old)} changed from {old_mat} to {new_mat}, which drops its enforced constraints", old_mat, new_mat)
    if constraints_applied:
        for gone in _removed_constraints(old.get("constraints") or [], new.get("constraints") or [], enforced):
            add("constraint-removed", BREAKING,
                f"enforced model constraint {_describe_constraint(gone)} of {_label(old)} was removed",
                _describe_constraint(gone), None)
    if old.get("deprecation_date") != new.get("deprecation_date"):
        if new.get("deprecation_date"):
            add("deprecation-added" if not old.get("deprecation_date") else "deprecation-changed", WARNING,
                f"{_label(new)} is deprecated from {_day(new['deprecation_date'])}: consumers should migrate",
                _day(old.get("deprecation_date")), _day(new["deprecation_date"]))
        else:
            add("deprecation-removed", INFO, f"{_label(new)} is no longer deprecated", _day(old.get("deprecation_date")))
    for key in ("description", "tags", "meta"):
        if (old.get(key) or None) != (new.get(key) or None):
            add(f"{key}-changed", INFO, f"{_label(old)} {key} changed")
    if any((old.get("columns") or {}).get(n, {}).get("description") != c.get("description")
           for n, c in (new.get("columns") or {}).items() if n in (old.get("columns") or {})):
        add("column-docs-changed", INFO, f"{_label(old)} column descriptions changed")
    changes.extend(_column_changes(old, new, enforced, file, owner=_label(old)))
    return changes


def _removal(old: dict[str, Any], new_node: dict[str, Any] | None, siblings: list[dict[str, Any]], today: date) -> Change:
    uid, model, version = old["unique_id"], str(old.get("name")), version_str(old.get("version"))
    file = _file(new_node) if new_node else (_file(siblings[0]) if siblings else None)
    past = _past(old.get("deprecation_date"), today)
    severity = PLANNED if past else BREAKING
    if new_node is not None:
        access = new_node.get("access") or _config(new_node).get("access") or "protected"
        message = f"{_label(old)} is no longer public (access {access})"
        return Change("access-lowered", severity, model, uid, message, version, "public", str(access), (), file)
    deprecated = _day(old.get("deprecation_date"))
    when = f" (deprecated since {deprecated})" if past else (
        f" before its deprecation date {deprecated}" if deprecated else "")
    if version and siblings:
        return Change("version-removed", severity, model, uid, f"{_label(old)} was removed{when}", version,
                      _label(old), None, (), file)
    return Change("model-removed", severity, model, uid, f"{_label(old)} was removed or renamed{when}", version,
                  _label(old), None, (), file)


def _versioned(old: dict[str, Any], latest: dict[str, Any], enforced: frozenset[str]) -> list[Change]:
    """An unversioned model that gained versions: unpinned refs now resolve to its latest version,
    so it is judged like an edit of the old model into that version (columns, relation, contract)."""
    moved = Change("model-versioned", INFO, str(old.get("name")), old["unique_id"],
                   f"{old.get('name')} is now versioned; unpinned refs resolve to {_label(latest)}", None,
                   str(old.get("name")), _label(latest), (), _file(latest))
    kept = ("contract-disabled", "relation-moved", "materialization-changed", "constraint-removed",
            "column-removed", "type-changed", "column-added", "type-respelled")
    return [moved, *(c for c in _model_changes(old, latest, enforced) if c.code in kept)]


def _latest_moves(base: Surface, current: Surface, enforced: frozenset[str]) -> list[Change]:
    """Unpinned consumers follow latest_version: a move is breaking if the new latest drops what the old had."""
    found: list[Change] = []
    old_latest = {n.get("name"): n for n in base.models.values() if _is_latest(n)}
    new_latest = {n.get("name"): n for n in current.models.values() if _is_latest(n)}
    for name, old in sorted(old_latest.items()):
        new = new_latest.get(name)
        if new is None or new["unique_id"] == old["unique_id"] or not old.get("version"):
            continue
        diffs = [c for c in _column_changes(old, new, enforced, _file(new)) if c.breaking]
        before, after = version_str(old.get("version")), version_str(new.get("version"))
        if diffs:
            detail = "; ".join(c.message for c in diffs)
            message = f"{name} latest version moved v{before} → v{after}, and unpinned refs now break: {detail}"
            columns = tuple(col for c in diffs for col in c.columns)
            found.append(Change("latest-version-moved", BREAKING, str(name), old["unique_id"], message, before,
                                f"v{before}", f"v{after}", columns, _file(new)))
        else:
            found.append(Change("latest-version-moved", INFO, str(name), old["unique_id"],
                                f"{name} latest version moved v{before} → v{after} with compatible columns", before,
                                f"v{before}", f"v{after}", (), _file(new)))
    return found


def _is_latest(node: dict[str, Any]) -> bool:
    version = version_str(node.get("version"))
    return version is None or version == version_str(node.get("latest_version"))


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
        siblings = [n for n in current.models.values() if n.get("name") == old.get("name")]
        newly_versioned = [n for n in siblings if _is_latest(n)] if old.get("version") is None else []
        if still_there is None and newly_versioned:
            changes.extend(_versioned(old, newly_versioned[0], enforced))
        else:
            changes.append(_removal(old, still_there, siblings, today))
    for uid, new in current.models.items():
        if uid in base.models:
            continue
        version = version_str(new.get("version"))
        known_model = any(n.get("name") == new.get("name") for n in base.models.values())
        code, what = ("version-added", f"{_label(new)} is a new version") if known_model and version else (
            "model-added", f"{_label(new)} is a new public model")
        changes.append(Change(code, INFO, str(new.get("name")), uid, what, version, None, _label(new), (), _file(new)))
    changes.extend(_latest_moves(base, current, enforced))
    order = {BREAKING: 0, PLANNED: 1, WARNING: 2, INFO: 3}
    return sorted(changes, key=lambda c: (c.model, c.version or "", order[c.severity], c.code, c.columns))
