"""Turning a published contract into dbt sources, one source table per model version.

Naming: an unversioned model keeps its name; a versioned model `m` gives `m_v1`,
`m_v2`, ... and `m` itself, which points at its latest_version, matching what an
unpinned `ref('up', 'm')` resolves to.

A Selection says which of those tables a file declares: every one, or those the downstream
reads. The file's header records a fingerprint of everything its bytes depend on (format,
upstream, env, contract sha256, selection) and a digest of the rest of the file, so sync can
tell an intact, current file from the registry's small pointer and metadata files alone (read_stamp).

The YAML is emitted from events built here (what yaml.safe_dump's representer and serializer
would produce for these plain dicts, lists and strings), by libyaml's C emitter when PyYAML has
it and the document holds nothing the two emitters write differently, else by PyYAML's own:
the bytes are the same either way, and the same as yaml.safe_dump's.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode

from meshkit.contract.model import Node
from meshkit.contract.names import needs_quoting
from meshkit.contract.neutralise import neutralise
from meshkit.errors import InputError
from meshkit.registry.published import Published


def table_names(node: Node) -> list[str]:
    """The source table names that stand for one contract node."""
    version = node.version_key
    if version is None:
        return [node.name]
    names = [f"{node.name}_v{version}"]
    if node.is_latest:
        names.append(node.name)
    return names


def _table(table_name: str, node: Node, sha256: str) -> dict[str, Any]:
    """One source table; names table_index checked. A name SQL cannot read bare (`order-lines`) is quoted."""
    uid = node.unique_id
    identifier = node.relation.identifier or node.name
    columns = []
    for column in node.columns.values():
        entry: dict[str, Any] = {"name": column.name}
        if column.data_type:
            entry["data_type"] = column.data_type
        entry["description"] = column.description or ""
        if needs_quoting(column.name):
            entry["quote"] = True
        columns.append(entry)
    table: dict[str, Any] = {"name": table_name, "identifier": identifier}
    if needs_quoting(identifier):
        table["quoting"] = {"identifier": True}
    return {
        **table,
        "description": node.description or "",
        "meta": {
            "meshkit": {
                "unique_id": uid,
                "version": node.version_key,
                "latest_version": node.latest_key,
                "deprecation_date": node.deprecation_date,
                "contract_sha256": sha256,
            }
        },
        "columns": columns,
    }


FORMAT = 2  # bump whenever the bytes for the same contract and selection change (voids old stamps; a test pins it)
STAMP_PREFIX = "# meshkit-sync: "


@dataclass(frozen=True)
class Selection:
    """Which source tables a file declares: every one (`every`), or the `requested` ones the contract has.

    `requested` is what the downstream names (its source() calls plus includes); it is kept, and
    fingerprinted, even for every-table files, so that the unknown names can be reported.
    """

    every: bool
    requested: frozenset[str] = frozenset()

    @property
    def mode(self) -> str:
        return "all" if self.every else "used"

    def fingerprint(self, project: str, env: str, sha256: str) -> str:
        """Everything the file's bytes depend on: format, upstream, env, contract sha256 and this selection."""
        key = {
            "format": FORMAT,
            "project": project,
            "env": env,
            "contract_sha256": sha256,
            "every": self.every,
            "requested": sorted(self.requested),
        }
        return hashlib.sha256(orjson.dumps(key)).hexdigest()


ALL = Selection(every=True)


@dataclass(frozen=True)
class Rendered:
    data: bytes
    tables: int  # declared in the file
    published: int  # in the contract
    unknown: tuple[str, ...]  # requested, but not a table of the contract


@dataclass(frozen=True)
class Stamp:
    """What the header of an intact generated file records about it."""

    fingerprint: str
    tables: int
    published: int
    unknown: tuple[str, ...]


def source_tables(published: Published) -> dict[str, tuple[str, str, Node]]:
    """Every source table name the contract gives, checked: name -> (database, schema, node).

    Every public model is checked, written or not, so a contract with an unsafe name is refused whatever
    the downstream reads.
    """
    nodes = published.manifest.public_models()
    if not nodes:
        raise InputError(f"the {published.project}/{published.env} contract has no public models; nothing to sync")
    return table_index(nodes, published.manifest.adapter)


def table_index(nodes: Mapping[str, Node], adapter: str | None) -> dict[str, tuple[str, str, Node]]:
    """Source table name -> (database, schema, node); publish runs it too, so sync never meets what it refuses.

    adapter: the contract's (`metadata.adapter_type`), whose quoting decides which names are safe."""
    tables: dict[str, tuple[str, str, Node]] = {}
    for uid, node in nodes.items():
        node.check_writable(adapter)
        # Some adapters (Spark without a catalog) have no database: the source then omits it.
        database, schema = node.database or "", node.schema or ""
        for name in table_names(node):
            if name in tables:
                raise InputError(
                    f"source table name {name!r} would stand for both {tables[name][2].unique_id} and {uid}: "
                    "rename one upstream model"
                )
            tables[name] = (database, schema, node)
    return tables


def _document(published: Published, tables: dict[str, tuple[str, str, Node]], chosen: Set[str]) -> dict[str, Any]:
    by_relation: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for name in sorted(chosen):
        database, schema, node = tables[name]
        by_relation[(database, schema)].append(_table(name, node, published.sha256))
    if not by_relation:  # the project reads none: still one source, so the file names its contract
        database, schema, _ = min(tables.values(), key=lambda entry: (entry[0], entry[1]))
        by_relation[(database, schema)] = []
    source_meta = {
        "meshkit": {
            "upstream": published.project,
            "env": published.env,
            "contract_sha256": published.sha256,
        }
    }
    sources = []
    for (database, schema), entries in sorted(by_relation.items()):
        source: dict[str, Any] = {
            "name": published.project,
            "description": (
                f"Public models of dbt project {published.project} ({published.env}), "
                "generated by meshkit sync from the registry contract. Do not edit."
            ),
        }
        if database:
            source["database"] = database
        source["schema"] = schema
        quoting = {
            part: True for part, name in (("database", database), ("schema", schema)) if name and needs_quoting(name)
        }
        if quoting:  # dbt quotes by default on most adapters, not on Snowflake: say so where SQL needs it
            source["quoting"] = quoting
        source.update({"meta": source_meta, "tables": entries})
        sources.append(source)
    document: dict[str, Any] = neutralise({"version": 2, "sources": sources})
    return document


def build_sources(published: Published, selection: Selection = ALL) -> dict[str, Any]:
    tables = source_tables(published)
    return _document(published, tables, set(tables) if selection.every else selection.requested & set(tables))


def render_sources(published: Published, selection: Selection = ALL) -> Rendered:
    """The YAML file's bytes, with how many source tables it declares of how many the contract has."""
    tables = source_tables(published)
    chosen = set(tables) if selection.every else selection.requested & set(tables)
    unknown = tuple(sorted(selection.requested - set(tables)))
    body = dump_yaml(_document(published, tables, chosen))
    if selection.every:
        scope = f"# All {len(tables)} tables of the contract.\n"
    else:
        scope = (
            f"# {len(chosen)} of the contract's {len(tables)} tables: those the project reads (its source() "
            "calls and includes); meshkit sync --all writes all.\n"
        )
    text = (
        f"# Generated by `meshkit sync` from the {published.project}/{published.env} contract\n"
        f"# sha256 {published.sha256}. Do not edit: rerun meshkit sync instead.\n"
        f"{scope}"
    )
    stamp: dict[str, Any] = {
        "fingerprint": selection.fingerprint(published.project, published.env, published.sha256),
        "tables": len(chosen),
        "published": len(tables),
        "unknown": list(unknown),
    }
    stamp["digest"] = _digest(stamp, (text + body).encode("utf-8"))
    data = text + STAMP_PREFIX + orjson.dumps(stamp, option=orjson.OPT_SORT_KEYS).decode() + "\n" + body
    return Rendered(data.encode("utf-8"), len(chosen), len(tables), unknown)


def _digest(stamp: dict[str, Any], rest: bytes) -> str:
    """Over the stamp's other fields and every other byte of the file: any edit anywhere voids the stamp."""
    fields = {key: value for key, value in stamp.items() if key != "digest"}
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS) + b"\n" + rest).hexdigest()


def read_stamp(data: bytes) -> Stamp | None:
    """The stamp of a file render_sources wrote and nobody edited since (its digest checks), else None."""
    if not data.startswith(b"# Generated by `meshkit sync`"):
        return None
    start = data.find(b"\n" + STAMP_PREFIX.encode())
    end = data.find(b"\n", start + 1) if start >= 0 else -1
    if end < 0:
        return None
    try:
        stamp = orjson.loads(data[start + 1 + len(STAMP_PREFIX) : end])
        recorded = (stamp["fingerprint"], stamp["tables"], stamp["published"], stamp["unknown"], stamp["digest"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    fingerprint, tables, published, unknown, digest = recorded
    if set(stamp) != {"fingerprint", "tables", "published", "unknown", "digest"}:
        return None
    if digest != _digest(stamp, data[: start + 1] + data[end + 1 :]):
        return None
    if not (
        isinstance(fingerprint, str)
        and type(tables) is int
        and type(published) is int
        and isinstance(unknown, list)
        and all(isinstance(name, str) for name in unknown)
    ):
        return None
    return Stamp(fingerprint, tables, published, tuple(unknown))


# --- YAML --------------------------------------------------------------------------------------------

_STR, _NULL, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null", "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_WIDTH = 10_000
# Where libyaml's emitter and PyYAML's differ (found by comparing them character by character and by
# fuzzing): libyaml escapes characters beyond the BMP and writes NEL (U+0085) its own way, anywhere; and
# it folds long double-quoted scalars (those with characters that need escaping, or a space next to a
# line break) at other places. Up to 1,000 characters, even escaped, a scalar stays far below the width.
_C_DIFFERS = re.compile("[\x85\U00010000-\U0010ffff]")
_DOUBLE_QUOTED = re.compile("[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd]|\ufeff|[\u2028\u2029]|[ ][\n]|[\n][ ]")
_LONG = 1_000
_KEY_BREAKS = re.compile("[\r\n\x85\u2028\u2029]")
_C_EMITTER = getattr(yaml, "CSafeDumper", None)


def _same_in_both_emitters(value: str) -> bool:
    return not _C_DIFFERS.search(value) and (len(value) <= _LONG or not _DOUBLE_QUOTED.search(value))


class _Events:
    """yaml.safe_dump's events for a document of dicts, lists, strings, ints, bools and None, without its representer.

    One ScalarEvent per distinct string (keys and repeated values are most of them), its implicit
    flags from PyYAML's own resolver, as the serializer sets them.
    """

    _MAP_START = MappingStartEvent(None, _MAP, True, flow_style=False)
    _SEQ_START = SequenceStartEvent(None, _SEQ, True, flow_style=False)
    _MAP_END, _SEQ_END = MappingEndEvent(), SequenceEndEvent()
    _NONE = ScalarEvent(None, _NULL, (True, False), "null")

    def __init__(self) -> None:
        self.events: list[Any] = [StreamStartEvent(encoding=None), DocumentStartEvent(explicit=False)]
        self.scalars: dict[str, ScalarEvent] = {}
        self.keys: set[str] = set()
        self.c_emitter_safe = True
        self._resolve = yaml.resolver.Resolver().resolve

    def scalar(self, value: str) -> ScalarEvent:
        event = self.scalars.get(value)
        if event is None:
            plain = self._resolve(ScalarNode, value, (True, False)) == _STR  # type: ignore[no-untyped-call]
            event = self.scalars[value] = ScalarEvent(None, _STR, (plain, True), value)
            if self.c_emitter_safe and not _same_in_both_emitters(value):
                self.c_emitter_safe = False
        return event

    def add(self, value: Any) -> None:
        kind, events = type(value), self.events
        if kind is str:
            events.append(self.scalar(value))
        elif kind is dict:
            events.append(self._MAP_START)
            for key, item in value.items():
                if type(key) is not str:
                    raise TypeError(f"cannot write a {type(key).__name__} key as YAML")
                if key not in self.keys:
                    self.keys.add(key)
                    if len(key) >= 128 or _KEY_BREAKS.search(key):  # libyaml and PyYAML disagree on simple keys
                        self.c_emitter_safe = False
                events.append(self.scalar(key))
                self.add(item)
            events.append(self._MAP_END)
        elif kind is list:
            events.append(self._SEQ_START)
            for item in value:
                self.add(item)
            events.append(self._SEQ_END)
        elif value is None:
            events.append(self._NONE)
        elif kind is bool:
            events.append(ScalarEvent(None, _BOOL, (True, False), "true" if value else "false"))
        elif kind is int:
            events.append(ScalarEvent(None, _INT, (True, False), str(value)))
        else:
            raise TypeError(f"cannot write a {kind.__name__} as YAML")

    def finish(self) -> list[Any]:
        return [*self.events, DocumentEndEvent(explicit=False), StreamEndEvent()]


def dump_yaml(document: Any, *, c_emitter: bool | None = None) -> str:
    """yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False).

    c_emitter: None picks libyaml's emitter when it is there and writes this document as PyYAML's own
    does; True or False forces one (for tests).
    """
    events = _Events()
    events.add(document)
    use_c = (events.c_emitter_safe and _C_EMITTER is not None) if c_emitter is None else c_emitter
    dumper = _C_EMITTER if use_c else yaml.SafeDumper
    if dumper is None:
        raise RuntimeError("PyYAML was built without libyaml: its C emitter is not available")
    return str(yaml.emit(events.finish(), Dumper=dumper, allow_unicode=True, width=_WIDTH))
