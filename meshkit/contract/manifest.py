"""Reading dbt manifests, which may be large (180 MB at 20,000 models), corrupt or from the wrong project.

One pass over the bytes keeps every node as raw JSON (msgspec.Raw, a view of the input, nothing
copied); a node is decoded into its type, and type-checked, the first time something reads it. So
`publish` and `check` decode the model nodes' access and then only the public models, and a wrong-typed
field is still reported with its JSON path, in one line, wherever it is read.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Generic, TypeVar

import msgspec

from meshkit.contract import budget
from meshkit.contract.model import (
    PUBLISHABLE,
    ManifestDoc,
    ManifestMetadata,
    Node,
    NodeAccess,
    NodeFace,
    SourceNode,
)
from meshkit.errors import ManifestError
from meshkit.files import MANIFEST_LIMIT, read_regular

MANIFEST_SCHEMA_MARK = "/manifest/"
# dbt 1.6 wrote manifest schema v10: the first with model versions, contracts and access, which meshkit reads.
OLDEST_SCHEMA, OLDEST_DBT = 10, "1.6"
_SUPPORTED = f"meshkit reads manifests of dbt {OLDEST_DBT} or newer (schema v{OLDEST_SCHEMA}+)"
_NOT_A_MANIFEST = f"is not a dbt manifest (no dbt manifest schema version in its metadata): {_SUPPORTED}"
_SCHEMA_NUMBER = re.compile(r"/manifest/v(\d+)\.json$")
_PUBLISHABLE_PREFIXES = tuple(f"{kind}." for kind in PUBLISHABLE)  # the unique_ids of nodes that can be public

T = TypeVar("T")
FaceT = TypeVar("FaceT", bound=NodeFace)


REBUILD = "rebuild it with dbt"  # what to do about a bad manifest; a registry entry's readers say republish


def _shape_error(origin: str, problem: str, *, at: str = "$", fix: str = REBUILD) -> str:
    """msgspec's "Expected `str`, got `int` - at `$.name`", as one line that names the field and what to do."""
    where = problem.rpartition(" - at `")[2].rstrip("`") if " - at `" in problem else "$"
    what = problem.rpartition(" - at `")[0] if " - at `" in problem else problem
    if at == "$" and where == "$" and problem.startswith("Expected `object`"):
        return f"{origin} is not a dbt manifest (top level is not an object)"
    if at == "$" and where in ("$", "$.metadata", "$.nodes"):
        return f"{origin} {_NOT_A_MANIFEST}"
    path = at + where[1:]
    hint = f"{fix} or fix that field" if fix == REBUILD else fix
    return f"{origin} is not a dbt manifest meshkit can read ({what} at {path}): {hint}"


class LazyIndex(Mapping[str, T], Generic[T]):
    """A manifest section (nodes, sources) whose entries are decoded on first read, then kept."""

    def __init__(
        self, raw: dict[str, msgspec.Raw], decoder: msgspec.json.Decoder[T], origin: str, section: str, fix: str
    ):
        self._raw = raw
        self._decoder = decoder
        self._origin = origin
        self._section = section
        self._fix = fix
        self._decoded: dict[str, T] = {}

    def __getitem__(self, key: str) -> T:
        found = self._decoded.get(key)
        if found is None:
            found = self._decoded[key] = decode_part(
                self._decoder, self._raw[key], self._origin, f"$.{self._section}[{key!r}]", self._fix
            )
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def raw(self, key: str) -> msgspec.Raw:
        return self._raw[key]


def decode_part(
    decoder: msgspec.json.Decoder[T], raw: msgspec.Raw | bytes, origin: str, at: str, fix: str = REBUILD
) -> T:
    try:
        return budget.decode(decoder, raw)
    except msgspec.ValidationError as exc:
        raise ManifestError(_shape_error(origin, str(exc), at=at, fix=fix)) from None
    except budget.OverBudget as exc:
        raise ManifestError(f"{origin} {exc} at {at}: {fix}") from None


class _Nodes(msgspec.Struct, Generic[T]):
    nodes: dict[str, T]


@cache
def _nodes_decoder(decoder: msgspec.json.Decoder[FaceT]) -> msgspec.json.Decoder[_Nodes[FaceT]]:
    """A decoder of a whole document's nodes, each as decoder's type: one pass, no per-node call."""
    return msgspec.json.Decoder(_Nodes[decoder.type])  # type: ignore[name-defined]


_NODE: msgspec.json.Decoder[Node] = msgspec.json.Decoder(Node)
_SOURCE: msgspec.json.Decoder[SourceNode] = msgspec.json.Decoder(SourceNode)
_ACCESS: msgspec.json.Decoder[NodeAccess] = msgspec.json.Decoder(NodeAccess)
_PARENT_MAP: msgspec.json.Decoder[dict[str, list[str]]] = msgspec.json.Decoder(dict[str, list[str]])


class Manifest:
    """A dbt manifest (or contract) plus where it came from, for error messages."""

    def __init__(
        self, doc: ManifestDoc, origin: str, *, contract: bool = False, fix: str = REBUILD, data: bytes = b""
    ) -> None:
        self.doc = doc
        self.data = data  # the bytes doc was decoded from (a view kept, not a copy): public_view decodes them again
        self.origin = origin
        self.fix = fix
        self._contract = contract
        self.nodes: LazyIndex[Node] = LazyIndex(doc.nodes, _NODE, origin, "nodes", fix)
        self.sources: LazyIndex[SourceNode] = LazyIndex(doc.sources, _SOURCE, origin, "sources", fix)

    @property
    def project_name(self) -> str:
        return self.doc.metadata.project_name or ""

    @property
    def dbt_version(self) -> str:
        return self.doc.metadata.dbt_version

    @property
    def adapter(self) -> str:
        return self.doc.metadata.adapter_type or "default"

    @cached_property
    def parent_map(self) -> dict[str, list[str]]:
        return decode_part(_PARENT_MAP, self.doc.parent_map, self.origin, "$.parent_map", self.fix)

    @cached_property
    def _candidates(self) -> list[str]:
        """The project's own nodes that can be public (models, seeds, snapshots), sorted."""
        return sorted(uid for uid in self.nodes if uid.startswith(_PUBLISHABLE_PREFIXES) and self.owns(uid))

    def _decoded(self, decoder: msgspec.json.Decoder[T], uid: str) -> T:
        return decode_part(decoder, self.nodes.raw(uid), self.origin, f"$.nodes[{uid!r}]", self.fix)

    @cached_property
    def _public(self) -> dict[str, Node]:
        if self._contract:  # every node should be public: decode each once, in full
            return {uid: node for uid in self._candidates if (node := self.nodes[uid]).is_public_node}
        return {uid: self.nodes[uid] for uid in self._candidates if self._decoded(_ACCESS, uid).is_public_node}

    def public_view(self, decoder: msgspec.json.Decoder[FaceT]) -> list[FaceT]:
        """The public nodes of public_models(), each decoded as another node type: one that reads only the
        fields its caller shows (the catalog's), so a contract's nodes are never decoded in full for it."""
        if self._contract and self.data:  # every node should be public: one pass over the bytes decodes them all
            try:
                nodes = budget.decode(_nodes_decoder(decoder), self.data).nodes
            except msgspec.ValidationError as exc:
                raise ManifestError(_shape_error(self.origin, str(exc), fix=self.fix)) from None
            except budget.OverBudget as exc:
                raise ManifestError(f"{self.origin} {exc}: {self.fix}") from None
            return [node for uid in self._candidates if (node := nodes[uid]).is_public_node]
        return [self._decoded(decoder, uid) for uid in self._candidates if self._decoded(_ACCESS, uid).is_public_node]

    def owns(self, uid: str) -> bool:
        """Whether a node is the project's own: not one dbt-loom injected from an upstream's contract."""
        return not self.project_name or uid.split(".", 2)[1:2] == [self.project_name]

    def public_models(self) -> dict[str, Node]:
        """The project's own public models, model versions, seeds and snapshots by unique_id, sorted; only these
        are decoded in full (dbt-loom's injected upstream nodes are the upstream's, never published again).

        (Named for the models most of them are: a seed or snapshot dbt-loom would let another project ref()
        is part of the public surface as well.)"""
        return self._public

    def ignored_public(self) -> list[tuple[str, str]]:
        """(unique_id, resource type) of nodes marked public that nothing can ref() across projects (an analysis,
        a test): publish says it leaves them out. A node's raw bytes are searched before it is decoded."""
        ignored = []
        for uid in sorted(self.nodes):
            if (
                uid.startswith(_PUBLISHABLE_PREFIXES)
                or not self.owns(uid)
                or b'"public"' not in bytes(self.nodes.raw(uid))
            ):
                continue
            access = self._decoded(_ACCESS, uid)
            if access.access_level == "public":
                ignored.append((uid, access.resource_type))
        return ignored


_DECODER: msgspec.json.Decoder[ManifestDoc] = msgspec.json.Decoder(ManifestDoc)


class _Head(msgspec.Struct):
    metadata: ManifestMetadata


_HEAD: msgspec.json.Decoder[_Head] = msgspec.json.Decoder(_Head)


def _check_schema(metadata: ManifestMetadata, origin: str) -> None:
    """Refuse what is not a dbt manifest, or one older than meshkit reads, naming the dbt that wrote it."""
    schema = metadata.dbt_schema_version
    if MANIFEST_SCHEMA_MARK not in schema:
        raise ManifestError(f"{origin} {_NOT_A_MANIFEST}")
    number = _SCHEMA_NUMBER.search(schema)
    if number is not None and int(number.group(1)) < OLDEST_SCHEMA:
        made_by = f"dbt {metadata.dbt_version}" if metadata.dbt_version else "dbt"
        raise ManifestError(
            f"{origin} is a {made_by} manifest (schema v{number.group(1)}), older than meshkit supports: "
            f"{_SUPPORTED}; rebuild it with dbt {OLDEST_DBT} or newer"
        )


def parse_manifest(raw: bytes, origin: str, *, contract: bool = False, fix: str = REBUILD) -> Manifest:
    """Decode bytes that should be a dbt manifest; every failure is one clear line naming the field.

    contract: the bytes are a published contract, whose nodes are all public models, so each is
    decoded once in full rather than its access first (a dbt manifest is ~90% other nodes).
    fix: what the error lines tell the reader to do (a registry entry is republished, not rebuilt)."""
    try:
        doc = budget.decode(_DECODER, raw)
    except msgspec.ValidationError as exc:
        # an old dbt's manifest fails on some field: say it is old, not which field
        with contextlib.suppress(msgspec.ValidationError, msgspec.DecodeError, budget.OverBudget):
            _check_schema(budget.decode(_HEAD, raw).metadata, origin)
        raise ManifestError(_shape_error(origin, str(exc), fix=fix)) from None
    except budget.OverBudget as exc:
        raise ManifestError(f"{origin} {exc}: {fix}") from None
    except msgspec.DecodeError as exc:
        raise ManifestError(f"{origin} is not valid JSON ({exc}); it may be truncated or corrupt: {fix}") from None
    _check_schema(doc.metadata, origin)
    return Manifest(doc=doc, origin=origin, contract=contract, fix=fix, data=raw)


def load_manifest(path: Path, *, build_hint: str | None = None) -> Manifest:
    try:
        raw = read_regular(path, MANIFEST_LIMIT)
    except (FileNotFoundError, NotADirectoryError):
        hint = build_hint or f"run `dbt build` (or `dbt parse`) in {path.parent.parent} first"
        raise ManifestError(f"no dbt manifest at {path}: {hint}") from None
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror}") from None
    return parse_manifest(raw, str(path))


def require_project(manifest: Manifest, expected: str) -> None:
    actual = manifest.project_name
    if actual != expected:
        raise ManifestError(
            f"{manifest.origin} belongs to dbt project {actual or '(unknown)'!r}, not {expected!r}: "
            f"point at the {expected} project or pass --project {actual}"
        )
