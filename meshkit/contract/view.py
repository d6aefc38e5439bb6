"""The explorer's view of a contract: what its page shows of each public node, worked out once, at publish.

`meshkit catalog` shows every public node of every latest contract. Decoding a 20,000-model project's
contract for that costs more than the rest of the command, so publish writes, beside the contract in its
history entry, `view.json`: each public node as the page shows it (columns and types, versions, relation,
the group's owner), the provenance of a publishing consumer's columns, and each deprecation date. The
entry's metadata records the view's sha256, and the view names the contract it was made from, so the
catalog splices it into the page as it is, and falls back to the contract (through `view_of`, the same
rules) for an entry with no view (an older meshkit's) or a view that does not match.

Nothing here depends on the day: whether a version is past its deprecation date is the catalog's to say.
"""

from __future__ import annotations

import msgspec

from meshkit.contract.manifest import Manifest
from meshkit.contract.model import (
    Access,
    Derivation,
    ModelContract,
    NodeConfig,
    NodeFace,
    Provenance,
    VersionValue,
    seed_columns,
)

VIEW_FORMAT = "meshkit-view/1"


class ColumnConstraint(msgspec.Struct, frozen=True, gc=False):
    type: str
    expression: str | None = None


class Column(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """A contract column as the page shows it: decoded from the contract and encoded to the page as it is."""

    name: str
    data_type: str | None = None
    description: str | None = ""
    constraints: list[ColumnConstraint] = []


def _column(name: str, data_type: str) -> Column:
    return Column(name=name, data_type=data_type)


class PageNode(msgspec.Struct, NodeFace, kw_only=True, gc=False):
    """A public node of a contract, read for the page: the fields it shows, and those NodeFace derives from."""

    name: str
    resource_type: str
    unique_id: str
    database: str | None = None
    schema: str | None = None
    alias: str | None = None
    version: VersionValue = None
    latest_version: VersionValue = None
    deprecation_date: str | None = None
    access: Access | None = None
    group: str | None = None
    contract: ModelContract | None = None
    description: str | None = ""
    config: NodeConfig | None = None
    columns: dict[str, Column] = {}

    def __post_init__(self) -> None:
        types = self.config.column_types if self.config else None
        if self.resource_type == "seed" and isinstance(types, dict) and types:
            self.columns = seed_columns(self.columns, types, _column)


_PAGE_NODE: msgspec.json.Decoder[PageNode] = msgspec.json.Decoder(PageNode)


class Model(msgspec.Struct, frozen=True, gc=False):
    """One public model version (or seed, snapshot) of a contract."""

    unique_id: str
    name: str
    resource_type: str
    version: str | None
    latest_version: str | None
    is_latest: bool
    deprecation_date: str | None  # the day
    relation: str
    description: str
    group: str | None
    owner: str | None  # the group's owner: name, else email
    materialized: str | None
    contract_enforced: bool
    columns: list[Column]


class ColumnSources(msgspec.Struct, frozen=True, gc=False):
    column: str
    sources: list[Derivation] | None  # None: not known, it may derive from anything the node reaches


class NodeProvenance(msgspec.Struct, frozen=True, gc=False):
    """Where one public node of a publishing consumer comes from: the upstream nodes it reaches, its columns'."""

    unique_id: str
    reaches: list[Derivation]
    columns: list[ColumnSources] | None  # None: not known


class ContractView(msgspec.Struct, kw_only=True, gc=False):
    """`view.json`: a contract's public nodes as the explorer shows them, and the contract they came from."""

    format: str = VIEW_FORMAT
    contract_sha256: str
    adapter: str
    models: list[Model]
    provenance: list[NodeProvenance]  # a publishing consumer's: where its public columns come from
    deprecations: dict[str, str]  # unique_id -> the day it is deprecated from, for the models that have one


def _owners(manifest: Manifest) -> dict[str, str]:
    """Each group's owner, as people read it: the name, else the email."""
    found = {}
    for group in manifest.doc.groups.values():
        text = (group.owner or {}).get("name") or (group.owner or {}).get("email")
        if isinstance(text, str):
            found[group.name] = text
    return found


def _model(node: PageNode, owners: dict[str, str]) -> Model:
    return Model(
        unique_id=node.unique_id,
        name=node.name,
        resource_type=node.resource_type,
        version=node.version_key,
        latest_version=node.latest_key,
        is_latest=node.is_latest,
        deprecation_date=node.deprecation_date[:10] if node.deprecation_date else None,
        relation=str(node.relation),
        description=node.description or "",
        group=node.group,
        owner=owners.get(node.group) if node.group else None,
        materialized=node.materialized,
        contract_enforced=node.enforced,
        columns=list(node.columns.values()),
    )


def _provenance(uid: str, provenance: Provenance) -> NodeProvenance:
    columns = provenance.columns
    return NodeProvenance(
        uid,
        provenance.reaches,
        None if columns is None else [ColumnSources(c, columns[c]) for c in sorted(columns)],
    )


def view_of(manifest: Manifest, contract_sha256: str) -> ContractView:
    """The view of a contract (or of a full manifest's own public nodes), made from its bytes' sha256."""
    mark = manifest.doc.meshkit
    owners = _owners(manifest)
    models = [_model(node, owners) for node in manifest.public_view(_PAGE_NODE)]
    return ContractView(
        contract_sha256=contract_sha256,
        adapter=manifest.adapter,
        models=models,
        provenance=[_provenance(uid, p) for uid, p in sorted(mark.provenance.items())] if mark else [],
        deprecations={m.unique_id: m.deprecation_date for m in models if m.deprecation_date},
    )


def encode_view(view: ContractView) -> bytes:
    return msgspec.json.encode(view)
