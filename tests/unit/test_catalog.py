"""meshkit.report.catalog: which registry folders become catalog entries."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import msgspec
import orjson
import pytest

from meshkit.mesh.publish import PublishRequest, publish
from meshkit.registry import Blob
from meshkit.registry.layout import VIEW
from meshkit.registry.local import LocalRegistry
from meshkit.report.catalog import build_catalog, catalog_json

DATA = Path(__file__).parents[1] / "data"


def _publish(registry: LocalRegistry, tmp_path: Path, env: str) -> None:
    project = tmp_path / "shop"
    if not project.exists():
        (project / "target").mkdir(parents=True)
        (project / "dbt_project.yml").write_text("name: shop\n")
        shutil.copy(DATA / "manifest_shop.json", project / "target" / "manifest.json")
    publish(
        PublishRequest(
            project_dir=project, project="shop", env=env, git_commit=None, now=datetime(2025, 1, 1, tzinfo=timezone.utc)
        ),
        registry,
    )


def test_every_valid_env_name_is_catalogued_and_foreign_folders_are_skipped(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    _publish(registry, tmp_path, "prod")
    _publish(registry, tmp_path, "staging-eu")  # a legal env name (check_env allows '-')
    foreign = tmp_path / "registry" / "up$x" / "prod" / "latest"  # not a project name: never published by meshkit
    foreign.mkdir(parents=True)
    (foreign / "metadata.json").write_text("{}")

    catalog = build_catalog(registry, today=date(2025, 1, 2))

    assert [(e.project, e.env, e.problem) for e in catalog.entries] == [
        ("shop", "prod", None),
        ("shop", "staging-eu", None),
    ]


def test_one_contract_published_to_several_envs_is_kept_once(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    for env in ("prod", "staging", "dev"):
        _publish(registry, tmp_path, env)

    catalog = build_catalog(registry, today=date(2025, 1, 2))

    [contract] = catalog.contracts
    assert [(e.env, e.sha256) for e in catalog.entries] == [
        (env, contract.sha256) for env in ("dev", "prod", "staging")
    ]
    assert all(e.published_at == "2025-01-01T00:00:00Z" for e in catalog.entries)
    assert catalog.model_versions == 3 * len(contract.models)


def _republish_without(registry: LocalRegistry, tmp_path: Path, column: str) -> None:
    manifest = tmp_path / "shop" / "target" / "manifest.json"
    data = orjson.loads(manifest.read_bytes())
    del data["nodes"]["model.shop.orders"]["columns"][column]
    manifest.write_bytes(orjson.dumps(data))
    _publish(registry, tmp_path, "prod")


def test_history_shows_each_publishs_changes_in_checks_words(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    _publish(registry, tmp_path, "prod")
    _republish_without(registry, tmp_path, "status")

    [entry] = build_catalog(registry, today=date(2025, 1, 2)).entries

    newest, first = entry.history
    assert (first.diff, first.diff_source, newest.diff_source) == (None, None, "recorded")
    assert newest.diff is not None
    assert [(c.code, c.severity, c.columns, c.message) for c in newest.diff] == [
        ("column-removed", "breaking", ["status"], "column status of orders was removed")
    ]
    assert (newest.changes, newest.breaking) == (1, 1)


def test_history_written_by_an_older_meshkit_is_compared_from_both_manifests(tmp_path: Path) -> None:
    """Entries whose metadata only counted the changes: the catalog diffs the two manifests, with the same rule."""
    registry = LocalRegistry(tmp_path / "registry")
    _publish(registry, tmp_path, "prod")
    _republish_without(registry, tmp_path, "status")
    recorded = build_catalog(registry, today=date(2025, 1, 2)).entries[0].history[0]
    for path in (tmp_path / "registry" / "shop" / "prod").rglob("metadata.json"):
        metadata = orjson.loads(path.read_bytes())
        if metadata.get("since_previous"):
            del metadata["since_previous"]["listed"]
            path.write_bytes(orjson.dumps(metadata))

    computed = build_catalog(registry, today=date(2025, 1, 2)).entries[0].history[0]

    assert (computed.diff_source, recorded.diff_source) == ("computed", "recorded")
    assert computed.diff == recorded.diff


class _Reads(LocalRegistry):
    """A local registry that remembers which keys were read, so a test can tell the view was used."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.read: list[str] = []

    def get(self, key: str) -> Blob | None:
        self.read.append(key)
        return super().get(key)


def _views(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "registry").rglob(VIEW))


def test_the_page_shows_the_view_publish_wrote_without_reading_the_contract(tmp_path: Path) -> None:
    registry = _Reads(tmp_path / "registry")
    _publish(registry, tmp_path, "prod")
    registry.read.clear()

    catalog = build_catalog(registry, today=date(2027, 7, 1))

    assert [key.rsplit("/", 1)[-1] for key in registry.read if "/history/" in key] == ["metadata.json", VIEW]
    [contract] = catalog.contracts
    assert all(isinstance(m, msgspec.Raw) for m in contract.models) and len(contract.models) == 3
    assert contract.deprecated == ["model.shop.customers.v1"]  # 2027-06-30 has passed on the catalog's day
    assert build_catalog(registry, today=date(2027, 6, 29)).contracts[0].deprecated == []


def test_without_a_view_the_page_is_made_from_the_contract_by_the_same_rules(tmp_path: Path) -> None:
    """An older meshkit wrote no view: the catalog is byte for byte what the view gives."""
    registry = LocalRegistry(tmp_path / "registry")
    for env in ("prod", "dev"):
        _publish(registry, tmp_path, env)
    from_views = catalog_json(build_catalog(registry, today=date(2027, 7, 1)))
    for view in _views(tmp_path):
        view.unlink()

    from_contracts = build_catalog(registry, today=date(2027, 7, 1))

    assert not isinstance(from_contracts.contracts[0].models[0], msgspec.Raw)
    assert catalog_json(from_contracts) == from_views


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda view: view.replace(b'"orders"', b'"ordres"'), id="bytes-changed"),
        pytest.param(lambda view: b"{" + view, id="not-json"),
    ],
)
def test_a_view_that_does_not_match_its_sha256_is_not_shown(tmp_path: Path, damage) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    _publish(registry, tmp_path, "prod")
    expected = catalog_json(build_catalog(registry, today=date(2025, 1, 2)))
    [view] = _views(tmp_path)
    view.write_bytes(damage(view.read_bytes()))

    assert catalog_json(build_catalog(registry, today=date(2025, 1, 2))) == expected


def test_a_view_of_another_contract_is_not_shown(tmp_path: Path) -> None:
    """A hand edit that replaced the contract (and its sha256) but not the view: the contract is read, and checked."""
    registry = LocalRegistry(tmp_path / "registry")
    _publish(registry, tmp_path, "prod")
    [view] = _views(tmp_path)
    document = orjson.loads(view.read_bytes())
    document["contract_sha256"] = "0" * 64
    document["models"] = document["models"][:1]
    edited = orjson.dumps(document)
    view.write_bytes(edited)
    for path in (tmp_path / "registry").rglob("metadata.json"):
        metadata = orjson.loads(path.read_bytes())
        metadata["view_sha256"] = hashlib.sha256(edited).hexdigest()
        path.write_bytes(orjson.dumps(metadata))

    [contract] = build_catalog(registry, today=date(2025, 1, 2)).contracts

    assert len(contract.models) == 3
