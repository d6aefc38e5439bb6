"""Unit tests for meshkit.mesh.sync: writing or checking models/_mesh_<upstream>.yml."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from meshkit.errors import InputError, IntegrityError, NotPublishedError, UnsafeNameError
from meshkit.mesh.publish import PublishRequest, publish
from meshkit.registry.published import read_latest
from meshkit.registry.local import LocalRegistry
from meshkit.mesh.sources import render_sources
from meshkit.mesh.sync import SyncOutcome, UpstreamRef, sync

DATA = Path(__file__).parents[1] / "data"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _registry(tmp_path: Path, envs: tuple[str, ...] = ("prod",)) -> LocalRegistry:
    project = tmp_path / "shop"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "target" / "manifest.json").write_bytes((DATA / "manifest_shop.json").read_bytes())
    registry = LocalRegistry(tmp_path / "reg")
    for env in envs:
        publish(PublishRequest(project_dir=project, project="shop", env=env, git_commit=None, now=NOW), registry)
    return registry


def _downstream(tmp_path: Path) -> Path:
    down = tmp_path / "down"
    down.mkdir()
    (down / "dbt_project.yml").write_text("name: down\n")
    return down


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _expected(registry: LocalRegistry, env: str = "prod") -> bytes:
    return render_sources(read_latest(registry, "shop", env))[0]


def test_upstream_ref_parse():
    assert UpstreamRef.parse("dbt_up@staging", "prod") == UpstreamRef("dbt_up", "staging")
    assert UpstreamRef.parse("dbt_up", "prod") == UpstreamRef("dbt_up", "prod")
    assert UpstreamRef.parse("dbt_up@dev-eu", "prod") == UpstreamRef("dbt_up", "dev-eu")
    assert UpstreamRef.parse("dbt_up@", "prod") == UpstreamRef("dbt_up", "prod")


@pytest.mark.parametrize("text", ["../x", "a/b@prod", "x@../prod", "x@a@b", "@prod", "dbt_up@a b"])
def test_upstream_ref_parse_rejects(text):
    with pytest.raises(UnsafeNameError):
        UpstreamRef.parse(text, "prod")


def test_check_on_missing_file(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    before = _snapshot(down)
    [outcome] = sync(down, [UpstreamRef("shop", "prod")], registry, check=True)
    published = read_latest(registry, "shop", "prod")
    assert outcome == SyncOutcome("shop", "prod", str(down / "models" / "_mesh_shop.yml"), "missing", published.sha256, 4)
    assert outcome.is_finding
    assert _snapshot(down) == before
    assert not (down / "models").exists()


def test_check_on_stale_file_writes_nothing(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    target = down / "models" / "_mesh_shop.yml"
    target.parent.mkdir()
    target.write_bytes(_expected(registry).replace(b"customers_v2", b"customers_v3"))
    before = _snapshot(down)
    [outcome] = sync(down, [UpstreamRef("shop", "prod")], registry, check=True)
    assert outcome.status == "stale"
    assert outcome.is_finding
    assert _snapshot(down) == before


def test_check_on_current_file(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    target = down / "models" / "_mesh_shop.yml"
    target.parent.mkdir()
    target.write_bytes(_expected(registry))
    [outcome] = sync(down, [UpstreamRef("shop", "prod")], registry, check=True)
    assert outcome.status == "up-to-date"
    assert not outcome.is_finding


def test_write_then_unchanged(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    target = down / "models" / "_mesh_shop.yml"
    [first] = sync(down, [UpstreamRef("shop", "prod")], registry, check=False)
    assert first.status == "written"
    assert not first.is_finding
    assert target.read_bytes() == _expected(registry)
    assert sorted(p.name for p in (down / "models").iterdir()) == ["_mesh_shop.yml"]  # no temp files left
    mtime = target.stat().st_mtime_ns
    [second] = sync(down, [UpstreamRef("shop", "prod")], registry, check=False)
    assert second.status == "unchanged"
    assert target.stat().st_mtime_ns == mtime
    [third] = sync(down, [UpstreamRef("shop", "prod")], registry, check=True)
    assert third.status == "up-to-date"


def test_write_replaces_stale_file(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    target = down / "models" / "_mesh_shop.yml"
    target.parent.mkdir()
    target.write_text("# hand edited\n")
    [outcome] = sync(down, [UpstreamRef("shop", "prod")], registry, check=False)
    assert outcome.status == "written"
    assert target.read_bytes() == _expected(registry)
    assert sorted(p.name for p in target.parent.iterdir()) == ["_mesh_shop.yml"]


def test_models_dir_option(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    [outcome] = sync(down, [UpstreamRef("shop", "prod")], registry, check=False, models_dir="models/mesh")
    assert outcome.path == str(down / "models" / "mesh" / "_mesh_shop.yml")
    assert Path(outcome.path).is_file()


def test_env_is_taken_from_the_ref(tmp_path):
    registry = _registry(tmp_path, envs=("prod", "staging"))
    down = _downstream(tmp_path)
    [outcome] = sync(down, [UpstreamRef("shop", "staging")], registry, check=False)
    assert outcome.env == "staging"
    text = Path(outcome.path).read_text()
    assert text.startswith("# Generated by `meshkit sync` from the shop/staging contract\n")
    assert "      env: staging\n" in text


def test_not_a_dbt_project(tmp_path):
    registry = _registry(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError) as caught:
        sync(empty, [UpstreamRef("shop", "prod")], registry, check=False)
    assert str(caught.value) == f"{empty} is not a dbt project (no dbt_project.yml): pass --project-dir"
    assert list(empty.iterdir()) == []


def test_same_upstream_twice_is_an_input_error(tmp_path):
    registry = _registry(tmp_path, envs=("prod", "staging"))
    down = _downstream(tmp_path)
    with pytest.raises(InputError, match="^each upstream may be synced from one env only"):
        sync(down, [UpstreamRef("shop", "prod"), UpstreamRef("shop", "staging")], registry, check=False)
    assert not (down / "models").exists()


def test_missing_upstream_writes_nothing_for_the_others(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    with pytest.raises(NotPublishedError, match="has no project 'other'"):
        sync(down, [UpstreamRef("shop", "prod"), UpstreamRef("other", "prod")], registry, check=False)
    assert not (down / "models").exists()


def test_registry_entry_of_another_project(tmp_path):
    registry = _registry(tmp_path)
    for name in ("manifest.json", "metadata.json"):
        registry.put(f"impostor/prod/latest/{name}", registry.get(f"shop/prod/latest/{name}").data)
    down = _downstream(tmp_path)
    with pytest.raises(IntegrityError) as caught:
        sync(down, [UpstreamRef("impostor", "prod")], registry, check=False)
    assert str(caught.value) == (
        "the registry entry impostor/prod holds a manifest of project 'shop': republish it from the right project"
    )


def test_outcome_as_dict(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    [outcome] = sync(down, [UpstreamRef("shop", "prod")], registry, check=True)
    assert outcome.as_dict() == {
        "upstream": "shop", "env": "prod", "path": str(down / "models" / "_mesh_shop.yml"),
        "status": "missing", "sha256": orjson.loads(registry.get("shop/prod/latest/metadata.json").data)["sha256"],
        "tables": 4,
    }
