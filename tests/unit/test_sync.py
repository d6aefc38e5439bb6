"""Unit tests for meshkit.mesh.sync: writing or checking models/_mesh_<upstream>.yml."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
import yaml

from meshkit.errors import InputError, IntegrityError, NotPublishedError, UnsafeNameError
from meshkit.mesh.publish import PublishRequest, publish
from meshkit.mesh.sources import Selection, render_sources
from meshkit.mesh.sync import SyncOutcome, UpstreamRef, sync
from meshkit.registry import Blob, Listed, layout
from meshkit.registry.local import LocalRegistry
from meshkit.registry.published import read_latest

DATA = Path(__file__).parents[1] / "data"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
SHOP = [UpstreamRef("shop", "prod")]
POINTER = "shop/prod/latest/pointer.json"  # what an unchanged sync reads first
ENTRY = f"shop/prod/history/{layout.history_stamp(NOW)}/"  # then the entry the pointer names, but never its manifest


def read_a_manifest(got: list[str], env: str = "prod") -> bool:
    return any(key.startswith(f"shop/{env}/") and key.endswith("/manifest.json") for key in got)


class RecordingRegistry:
    """A registry in front of another that records every key read: proof of what a sync fetched."""

    def __init__(self, inner: LocalRegistry) -> None:
        self.inner, self.url, self.got = inner, inner.url, []

    def get(self, key: str) -> Blob | None:
        self.got.append(key)
        return self.inner.get(key)

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> None:
        raise AssertionError(f"sync must never write to the registry (put {key})")

    def listing(self, prefix: str) -> list[Listed]:
        self.got.append(f"LIST {prefix}")
        return self.inner.listing(prefix)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)


def _registry(
    tmp_path: Path, envs: tuple[str, ...] = ("prod",), manifest: bytes | None = None, now: datetime = NOW
) -> LocalRegistry:
    project = tmp_path / "shop"
    (project / "target").mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "target" / "manifest.json").write_bytes(manifest or (DATA / "manifest_shop.json").read_bytes())
    registry = LocalRegistry(tmp_path / "reg")
    for env in envs:
        publish(PublishRequest(project_dir=project, project="shop", env=env, git_commit=None, now=now), registry)
    return registry


def _downstream(tmp_path: Path, *tables: str) -> Path:
    """A downstream project whose one model reads the given shop tables."""
    down = tmp_path / "down"
    (down / "models").mkdir(parents=True)
    (down / "dbt_project.yml").write_text("name: down\n")
    if tables:
        reads = "\nunion all\n".join(f"select * from {{{{ source('shop', '{t}') }}}}" for t in tables)
        (down / "models" / "report.sql").write_text(reads + "\n")
    return down


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _expected(registry: LocalRegistry, *tables: str, env: str = "prod", every: bool = False) -> bytes:
    selection = Selection(every=every, requested=frozenset(tables))
    return render_sources(read_latest(registry, "shop", env), selection).data


def _tables(path: Path) -> list[str]:
    return [t["name"] for s in yaml.safe_load(path.read_bytes())["sources"] for t in s["tables"]]


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
    down = _downstream(tmp_path, "orders")
    before = _snapshot(down)
    [outcome] = sync(down, SHOP, registry, check=True)
    published = read_latest(registry, "shop", "prod")
    assert outcome == SyncOutcome(
        "shop",
        "prod",
        str(down / "models" / "_mesh_shop.yml"),
        "missing",
        published.sha256,
        1,
        published=4,
        selection="used",
        requested_env="prod",
    )
    assert outcome.is_finding
    assert _snapshot(down) == before


def test_check_on_stale_file_writes_nothing(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "customers_v2")
    target = down / "models" / "_mesh_shop.yml"
    target.write_bytes(_expected(registry, "customers_v2").replace(b"customers_v2", b"customers_v3"))
    before = _snapshot(down)
    [outcome] = sync(down, SHOP, registry, check=True)
    assert outcome.status == "stale"
    assert outcome.is_finding
    assert _snapshot(down) == before


def test_check_on_current_file(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders")
    (down / "models" / "_mesh_shop.yml").write_bytes(_expected(registry, "orders"))
    [outcome] = sync(down, SHOP, registry, check=True)
    assert (outcome.status, outcome.tables, outcome.published) == ("up-to-date", 1, 4)
    assert not outcome.is_finding


def test_writes_only_the_tables_the_project_reads(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders", "customers_v1")
    [outcome] = sync(down, SHOP, registry, check=False)
    target = down / "models" / "_mesh_shop.yml"
    assert (outcome.status, outcome.tables, outcome.published, outcome.selection) == ("written", 2, 4, "used")
    assert (outcome.unknown_tables, outcome.notes) == ((), ())
    assert _tables(target) == ["customers_v1", "orders"]
    assert target.read_bytes() == _expected(registry, "orders", "customers_v1")


def test_include_and_every(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders")
    target = down / "models" / "_mesh_shop.yml"
    [included] = sync(down, SHOP, registry, check=False, include={"shop": ("customers",)})
    assert (included.status, included.tables, included.selection) == ("written", 2, "used")
    assert _tables(target) == ["customers", "orders"]
    [every] = sync(down, SHOP, registry, check=False, every=True)
    assert (every.status, every.tables, every.published, every.selection) == ("written", 4, 4, "all")
    assert _tables(target) == ["customers", "customers_v1", "customers_v2", "orders"]
    [back] = sync(down, SHOP, registry, check=False)
    assert (back.status, back.tables) == ("written", 1)
    assert _tables(target) == ["orders"]


def test_a_project_that_reads_nothing_gets_a_source_without_tables(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    [outcome] = sync(down, SHOP, registry, check=False)
    assert (outcome.status, outcome.tables, outcome.published) == ("written", 0, 4)
    [source] = yaml.safe_load((down / "models" / "_mesh_shop.yml").read_bytes())["sources"]
    assert source["tables"] == []
    assert source["meta"]["meshkit"]["contract_sha256"] == outcome.sha256  # what bump-pr and validate read


def test_unknown_tables_are_reported_not_written(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders", "refunds")
    [outcome] = sync(down, SHOP, registry, check=False, include={"shop": ("returns",)})
    assert outcome.status == "written" and outcome.tables == 1
    assert outcome.unknown_tables == ("refunds", "returns")
    assert outcome.notes == (
        "models/report.sql:3 reads source('shop', 'refunds'), which the shop/prod contract does not publish: "
        "not written",
        "included table 'returns' is not in the shop/prod contract: not written",
    )
    [again] = sync(down, SHOP, registry, check=False)  # the unchanged shortcut still knows them
    assert (again.status, again.unknown_tables) == ("written", ("refunds",))
    [third] = sync(down, SHOP, registry, check=False)
    assert (third.status, third.unknown_tables, third.notes) == ("unchanged", ("refunds",), again.notes)


def test_a_call_the_scan_cannot_resolve_writes_every_table_with_a_note(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders")
    (down / "macros").mkdir()
    (down / "macros" / "pick.sql").write_text(
        "{% macro pick(t) %}\n  {{ return(source('shop', t)) }}\n{% endmacro %}\n"
    )
    [outcome] = sync(down, SHOP, registry, check=False)
    assert (outcome.status, outcome.tables, outcome.selection) == ("written", 4, "all")
    assert outcome.notes == (
        "every shop table is written: macros/pick.sql:2 calls source('shop', ...) with a table name that is not "
        "a constant",
    )
    assert len(_tables(down / "models" / "_mesh_shop.yml")) == 4
    # the same call for another upstream leaves shop's selection alone
    (down / "macros" / "pick.sql").write_text("{{ source('other', var('t')) }}\n")
    [narrowed] = sync(down, SHOP, registry, check=False)
    assert (narrowed.status, narrowed.tables, narrowed.selection, narrowed.notes) == ("written", 1, "used", ())


def test_an_unparseable_file_writes_every_table_with_a_note(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders")
    (down / "models" / "broken.sql").write_text("select 1\n{% if %}\n{{ source('shop', 'orders') }}\n")
    [outcome] = sync(down, SHOP, registry, check=False)
    assert (outcome.tables, outcome.selection) == (4, "all")
    [note] = outcome.notes
    assert note.startswith("every shop table is written: models/broken.sql:2 cannot be parsed as Jinja (")


def test_unchanged_sync_reads_only_the_metadata_and_writes_nothing(tmp_path):
    registry = RecordingRegistry(_registry(tmp_path))
    down = _downstream(tmp_path, "orders", "customers")
    target = down / "models" / "_mesh_shop.yml"
    [first] = sync(down, SHOP, registry, check=False)
    assert first.status == "written"
    assert read_a_manifest(registry.got)
    stat = target.stat()
    registry.got.clear()

    [second] = sync(down, SHOP, registry, check=False)
    # the pointer, then one listing of the entry it names: both objects there, the manifest at the pointer's size
    assert registry.got == [POINTER, f"LIST {ENTRY}"]
    assert (second.status, second.sha256, second.tables, second.published) == ("unchanged", first.sha256, 2, 4)
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    assert sorted(p.name for p in target.parent.iterdir()) == ["_mesh_shop.yml", "report.sql"]  # no temp files

    registry.got.clear()
    [checked] = sync(down, SHOP, registry, check=True)
    assert registry.got == [POINTER, f"LIST {ENTRY}"]
    assert (checked.status, checked.tables) == ("up-to-date", 2)


@pytest.mark.parametrize("change", ["selection", "include", "every", "contract", "hand-edit", "env"])
def test_any_change_takes_the_full_path(tmp_path, change):
    envs = ("prod", "staging") if change == "env" else ("prod",)
    registry = RecordingRegistry(_registry(tmp_path, envs))
    down = _downstream(tmp_path, "orders")
    target = down / "models" / "_mesh_shop.yml"
    sync(down, SHOP, registry, check=False)
    upstreams, options = SHOP, {}
    if change == "selection":
        (down / "models" / "more.sql").write_text("select * from {{ source('shop', 'customers_v1') }}\n")
    elif change == "include":
        options = {"include": {"shop": ("customers_v2",)}}
    elif change == "every":
        options = {"every": True}
    elif change == "contract":
        manifest = orjson.loads((DATA / "manifest_shop.json").read_bytes())
        manifest["nodes"]["model.shop.orders"]["description"] = "Orders, described anew."
        _registry(tmp_path, manifest=orjson.dumps(manifest), now=NOW.replace(day=3))
    elif change == "hand-edit":
        target.write_bytes(target.read_bytes().replace(b"Order status.", b"Order status (edited)."))
    else:
        upstreams = [UpstreamRef("shop", "staging")]
    stale = target.read_bytes()
    registry.got.clear()
    [checked] = sync(down, upstreams, registry, check=True, **options)
    assert checked.status == "stale"
    assert read_a_manifest(registry.got, upstreams[0].env)
    assert target.read_bytes() == stale
    [written] = sync(down, upstreams, registry, check=False, **options)
    assert written.status == "written"
    env = upstreams[0].env
    expected = read_latest(registry.inner, "shop", env)
    assert (
        target.read_bytes()
        == render_sources(
            expected,
            Selection(
                every=change == "every",
                requested=frozenset(
                    {"orders"}
                    | ({"customers_v1"} if change == "selection" else set())
                    | ({"customers_v2"} if change == "include" else set())
                ),
            ),
        ).data
    )


def test_write_replaces_stale_file(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders")
    target = down / "models" / "_mesh_shop.yml"
    target.write_text("# hand edited\n")
    [outcome] = sync(down, SHOP, registry, check=False)
    assert outcome.status == "written"
    assert target.read_bytes() == _expected(registry, "orders")
    assert sorted(p.name for p in target.parent.iterdir()) == ["_mesh_shop.yml", "report.sql"]


def test_models_dir_option(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    [outcome] = sync(down, SHOP, registry, check=False, models_dir="models/mesh")
    assert outcome.path == str(down / "models" / "mesh" / "_mesh_shop.yml")
    assert Path(outcome.path).is_file()


def test_env_is_taken_from_the_ref(tmp_path):
    registry = _registry(tmp_path, envs=("prod", "staging"))
    down = _downstream(tmp_path, "orders")
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
        sync(empty, SHOP, registry, check=False)
    assert str(caught.value) == f"{empty} is not a dbt project (no dbt_project.yml): pass --project-dir"
    assert list(empty.iterdir()) == []


def test_same_upstream_twice_is_an_input_error(tmp_path):
    registry = _registry(tmp_path, envs=("prod", "staging"))
    down = _downstream(tmp_path)
    with pytest.raises(InputError, match=r"^each upstream may be synced from one env only"):
        sync(down, [UpstreamRef("shop", "prod"), UpstreamRef("shop", "staging")], registry, check=False)
    assert list((down / "models").iterdir()) == []


def test_includes_for_an_upstream_not_synced_are_an_input_error(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path)
    with pytest.raises(InputError) as caught:
        sync(down, SHOP, registry, check=False, include={"billing": ("invoices",)})
    assert str(caught.value) == (
        "tables are included for billing, which this sync does not read: include tables of shop only"
    )
    assert list((down / "models").iterdir()) == []


def test_missing_upstream_writes_nothing_for_the_others(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders")
    with pytest.raises(NotPublishedError, match="has no project 'other'"):
        sync(down, [UpstreamRef("shop", "prod"), UpstreamRef("other", "prod")], registry, check=False)
    assert [p.name for p in (down / "models").iterdir()] == ["report.sql"]


def test_registry_entry_of_another_project(tmp_path):
    registry = _registry(tmp_path)
    for name in ("manifest.json", "metadata.json"):
        registry.put(f"impostor/prod/latest/{name}", registry.get(f"shop/prod/latest/{name}").data)
    down = _downstream(tmp_path)
    with pytest.raises(IntegrityError) as caught:
        sync(down, [UpstreamRef("impostor", "prod")], registry, check=False)
    assert str(caught.value) == (
        f"{registry.url}/impostor/prod/latest/manifest.json holds a manifest of project 'shop', not 'impostor': "
        "republish impostor from its own project"
    )


def test_a_corrupt_pointer_is_still_reported(tmp_path):
    """The unchanged shortcut never hides a registry problem: it falls back to the full read, which names it."""
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders")
    sync(down, SHOP, registry, check=False)
    (tmp_path / "reg" / POINTER).write_text("{not json")
    with pytest.raises(IntegrityError, match=r"pointer\.json is unreadable"):
        sync(down, SHOP, registry, check=False)


def test_outcome_as_dict(tmp_path):
    registry = _registry(tmp_path)
    down = _downstream(tmp_path, "orders", "nope")
    [outcome] = sync(down, SHOP, registry, check=True)
    assert outcome.as_dict() == {
        "upstream": "shop",
        "env": "prod",
        "path": str(down / "models" / "_mesh_shop.yml"),
        "status": "missing",
        "sha256": orjson.loads(registry.get(POINTER).data)["sha256"],
        "tables": 1,
        "published": 4,
        "selection": "used",
        "unknown_tables": ["nope"],
        "notes": [
            "models/report.sql:3 reads source('shop', 'nope'), which the shop/prod contract does not publish: "
            "not written"
        ],
        "requested_env": "prod",
    }
