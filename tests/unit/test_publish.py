"""Unit tests for publishing to a local registry and reading the latest contract back."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import orjson
import pytest

from meshkit import __version__
from meshkit.contract.build import build_contract, serialise
from meshkit.contract.manifest import parse_manifest
from meshkit.contract.view import view_of
from meshkit.errors import InputError, IntegrityError, ManifestError, NotPublishedError, UnsafeNameError
from meshkit.mesh.publish import PublishRequest, publish
from meshkit.registry import layout
from meshkit.registry.local import LocalRegistry
from meshkit.registry.published import read_current, read_latest, registry_projects

DATA = Path(__file__).parents[1] / "data"
NOW = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
STAMP = "20250102T030405.678901Z"
SHA_RE = r"[0-9a-f]{64}"


def _project(tmp_path: Path, data: dict | None = None, name: str = "shop") -> Path:
    project = tmp_path / name
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(f"name: {name}\nversion: '1.0'\nprofile: {name}\n")
    raw = orjson.dumps(data) if data is not None else (DATA / "manifest_shop.json").read_bytes()
    (project / "target" / "manifest.json").write_bytes(raw)
    return project


def _request(project_dir: Path, **kwargs) -> PublishRequest:
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("git_commit", "abc1234")
    kwargs.setdefault("project", "shop")
    kwargs.setdefault("env", "prod")
    return PublishRequest(project_dir=project_dir, **kwargs)


def _snapshot(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _expected_contract() -> bytes:
    manifest = parse_manifest((DATA / "manifest_shop.json").read_bytes(), "fixture")
    return serialise(build_contract(manifest))


def test_layout_keys():
    assert layout.history_stamp(NOW) == STAMP
    assert layout.history_stamp(datetime(2025, 1, 2, 4, 4, 5, 678901, tzinfo=timezone(timedelta(hours=1)))) == STAMP
    assert layout.latest_key("shop", "prod") == "shop/prod/latest/manifest.json"
    assert layout.latest_key("shop", "prod", layout.METADATA) == "shop/prod/latest/metadata.json"
    assert layout.history_key("shop", "dev-eu", STAMP) == f"shop/dev-eu/history/{STAMP}/manifest.json"
    with pytest.raises(UnsafeNameError):
        layout.latest_key("../shop", "prod")
    with pytest.raises(UnsafeNameError):
        layout.latest_key("shop", "prod/../../x")


def test_first_publish_writes_history_latest_and_metadata(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    result = publish(_request(_project(tmp_path)), registry)
    contract = _expected_contract()
    digest = hashlib.sha256(contract).hexdigest()

    assert registry.list("") == sorted(
        [
            layout.history_key("shop", "prod", STAMP),
            layout.history_key("shop", "prod", STAMP, layout.METADATA),
            layout.history_key("shop", "prod", STAMP, layout.VIEW),
            layout.latest_key("shop", "prod"),
            layout.latest_key("shop", "prod", layout.METADATA),
            layout.latest_key("shop", "prod", layout.POINTER),
        ]
    )
    view = registry.get(layout.history_key("shop", "prod", STAMP, layout.VIEW)).data
    assert orjson.loads(view) == msgspec.to_builtins(
        view_of(parse_manifest(contract, "the contract", contract=True), digest)
    )
    assert orjson.loads(view)["contract_sha256"] == digest
    assert orjson.loads(view)["deprecations"] == {"model.shop.customers.v1": "2027-06-30"}
    assert registry.get(layout.latest_key("shop", "prod")).data == contract
    assert registry.get(layout.history_key("shop", "prod", STAMP)).data == contract
    latest_meta = registry.get(layout.latest_key("shop", "prod", layout.METADATA)).data
    assert registry.get(layout.history_key("shop", "prod", STAMP, layout.METADATA)).data == latest_meta

    metadata = orjson.loads(latest_meta)
    assert metadata == {
        "meshkit_version": __version__,
        "project": "shop",
        "env": "prod",
        "kind": "contract",
        "sha256": digest,
        "size": len(contract),
        "published_at": "2025-01-02T03:04:05.678901Z",
        "history_id": STAMP,
        "git_commit": "abc1234",
        "dbt_version": "1.11.16",
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
        "public_models": [
            {
                "unique_id": "model.shop.customers.v1",
                "name": "customers",
                "version": "1",
                "latest_version": "2",
                "deprecation_date": "2027-06-30T00:00:00+00:00",
                "relation_name": '"shop"."main"."customers_v1"',
            },
            {
                "unique_id": "model.shop.customers.v2",
                "name": "customers",
                "version": "2",
                "latest_version": "2",
                "deprecation_date": None,
                "relation_name": '"shop"."main"."customers_v2"',
            },
            {
                "unique_id": "model.shop.orders",
                "name": "orders",
                "version": None,
                "latest_version": None,
                "deprecation_date": None,
                "relation_name": '"shop"."main"."orders"',
            },
        ],
        "since_previous": None,  # the first publish: nothing to count against
        "based_on": 0,  # no pointer before it
        "view_sha256": hashlib.sha256(view).hexdigest(),
    }
    assert result.status == "published"
    assert (result.project, result.env, result.kind, result.sha256) == ("shop", "prod", "contract", digest)
    assert result.registry == registry.url
    assert result.history_id == STAMP
    assert result.latest_key == "shop/prod/latest/manifest.json"
    assert result.history_key == f"shop/prod/history/{STAMP}/manifest.json"
    assert msgspec.to_builtins(result.public_models) == metadata["public_models"]
    assert not list((tmp_path / "reg").rglob(".tmp-*"))


def test_identical_republish_is_unchanged(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    project = _project(tmp_path)
    first = publish(_request(project), registry)
    before = _snapshot(tmp_path / "reg")
    again = publish(_request(project, now=NOW + timedelta(hours=1)), registry)
    assert again.status == "unchanged"
    assert again.sha256 == first.sha256
    assert again.history_id == STAMP  # the previous entry
    assert again.history_key is None
    assert _snapshot(tmp_path / "reg") == before


def test_force_adds_exactly_one_history_entry(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    project = _project(tmp_path)
    publish(_request(project), registry)
    later = NOW + timedelta(minutes=5)
    result = publish(_request(project, now=later, force=True), registry)
    assert result.status == "published"
    stamps = sorted({key.split("/")[3] for key in registry.list("shop/prod/history/")})
    assert stamps == [STAMP, layout.history_stamp(later)]
    metadata = orjson.loads(registry.get("shop/prod/latest/metadata.json").data)
    assert metadata["history_id"] == layout.history_stamp(later)


def test_force_in_the_same_microsecond_takes_the_next_history_id(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    project = _project(tmp_path)
    publish(_request(project), registry)
    result = publish(_request(project, force=True), registry)
    following = layout.history_stamp(NOW + timedelta(microseconds=1))
    assert (result.status, result.history_id, result.superseded_by) == ("published", following, None)
    assert sorted({key.split("/")[3] for key in registry.list("shop/prod/history/")}) == [STAMP, following]
    assert orjson.loads(registry.get("shop/prod/latest/pointer.json").data)["history_id"] == following


def test_full_publishes_original_bytes(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    project = _project(tmp_path)
    original = (project / "target" / "manifest.json").read_bytes()
    result = publish(_request(project, full=True), registry)
    assert result.kind == "full"
    assert registry.get("shop/prod/latest/manifest.json").data == original
    metadata = orjson.loads(registry.get("shop/prod/latest/metadata.json").data)
    assert metadata["kind"] == "full"
    assert metadata["sha256"] == hashlib.sha256(original).hexdigest() == result.sha256
    assert metadata["size"] == len(original)


def test_contract_then_full_then_contract(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    project = _project(tmp_path)
    publish(_request(project), registry)
    assert publish(_request(project, full=True, now=NOW + timedelta(seconds=1)), registry).status == "published"
    assert publish(_request(project, now=NOW + timedelta(seconds=2)), registry).status == "published"
    assert len(registry.list("shop/prod/history/")) == 9  # three entries: manifest, view, metadata


def test_publish_wrong_project_name(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    with pytest.raises(ManifestError, match="belongs to dbt project 'shop', not 'dbt_up'"):
        publish(_request(_project(tmp_path), project="dbt_up"), registry)
    assert _snapshot(tmp_path / "reg") == {}


def test_publish_without_manifest(tmp_path):
    project = tmp_path / "shop"
    project.mkdir()
    with pytest.raises(ManifestError) as caught:
        publish(_request(project), LocalRegistry(tmp_path / "reg"))
    assert (
        str(caught.value)
        == f"no dbt manifest at {project / 'target' / 'manifest.json'}: run `dbt build` in {project} first"
    )


@pytest.mark.parametrize(("project", "env"), [("../shop", "prod"), ("shop", "../prod"), ("shop", "a/b")])
def test_publish_unsafe_project_or_env(tmp_path, project, env):
    with pytest.raises(UnsafeNameError):
        publish(_request(_project(tmp_path), project=project, env=env), LocalRegistry(tmp_path / "reg"))
    assert _snapshot(tmp_path / "reg") == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [("alias", 'x"; drop table y; --'), ("schema", 'main"; --'), ("database", "shop'db"), ("alias", "")],
)
def test_unsafe_relation_in_public_node_writes_nothing(tmp_path, field, value):
    registry_root = tmp_path / "reg"
    registry = LocalRegistry(registry_root)
    good = _project(tmp_path / "good")
    publish(_request(good), registry)
    before = _snapshot(registry_root)
    data = orjson.loads((DATA / "manifest_shop.json").read_bytes())
    data["nodes"]["model.shop.orders"][field] = value
    bad = _project(tmp_path / "bad", data)
    with pytest.raises(UnsafeNameError) as caught:
        publish(_request(bad, force=True, now=NOW + timedelta(days=1)), registry)
    assert str(caught.value).startswith(
        f"model.shop.orders {field} {value!r} cannot be quoted safely as a SQL identifier (it "
    )
    assert _snapshot(registry_root) == before
    # and into an empty registry: not even the folder appears
    with pytest.raises(UnsafeNameError):
        publish(_request(bad), LocalRegistry(tmp_path / "fresh"))
    assert not (tmp_path / "fresh").exists()


def test_read_latest_returns_the_contract(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    result = publish(_request(_project(tmp_path)), registry)
    published = read_latest(registry, "shop", "prod")
    assert (published.project, published.env) == ("shop", "prod")
    assert published.sha256 == result.sha256
    assert published.metadata.history_id == STAMP
    assert published.manifest.project_name == "shop"
    assert published.manifest.origin == f"{registry.url}/shop/prod/history/{STAMP}/manifest.json"
    assert list(published.manifest.public_models()) == [
        "model.shop.customers.v1",
        "model.shop.customers.v2",
        "model.shop.orders",
    ]
    # latest's copies are what the pointer names, byte for byte
    assert (
        registry.get("shop/prod/latest/manifest.json").data
        == registry.get(f"shop/prod/history/{STAMP}/manifest.json").data
    )
    pointer = orjson.loads(registry.get("shop/prod/latest/pointer.json").data)
    assert pointer == {
        "schema": "meshkit-latest/1",
        "history_id": STAMP,
        "sha256": result.sha256,
        "kind": "contract",
        "published_at": pointer["published_at"],
        "sequence": 1,  # the first commit
        "based_on": 0,  # it saw no pointer
        "stored_at": registry.listing(f"shop/prod/history/{STAMP}/")[0].written_at,  # the store's time of the manifest
        "size": len(registry.get(f"shop/prod/history/{STAMP}/manifest.json").data),
    }


def test_read_latest_detects_a_tampered_history_entry(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    publish(_request(_project(tmp_path)), registry)
    entry = tmp_path / "reg" / "shop" / "prod" / "history" / STAMP / "manifest.json"
    entry.write_bytes(entry.read_bytes().replace(b'"orders"', b'"orderz"'))
    with pytest.raises(IntegrityError, match=rf"history/{STAMP}/manifest.json does not match its recorded sha256"):
        read_latest(registry, "shop", "prod")


def test_a_tampered_latest_copy_is_not_read_and_an_unchanged_publish_repairs_it(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    project = _project(tmp_path)
    first = publish(_request(project), registry)
    latest = tmp_path / "reg" / "shop" / "prod" / "latest" / "manifest.json"
    latest.write_bytes(b"{torn")
    assert read_latest(registry, "shop", "prod").sha256 == first.sha256
    again = publish(_request(project), registry)
    assert (again.status, again.repaired) == ("unchanged", True)
    assert latest.read_bytes() == registry.get(f"shop/prod/history/{STAMP}/manifest.json").data
    assert publish(_request(project), registry).repaired is False


def test_read_latest_detects_tampering_in_a_registry_without_pointer(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    publish(_request(_project(tmp_path)), registry)
    (tmp_path / "reg" / "shop" / "prod" / "latest" / "pointer.json").unlink()  # as an older meshkit wrote it
    latest = tmp_path / "reg" / "shop" / "prod" / "latest" / "manifest.json"
    latest.write_bytes(latest.read_bytes().replace(b'"orders"', b'"orderz"'))
    with pytest.raises(IntegrityError) as caught:
        read_latest(registry, "shop", "prod")
    message = str(caught.value)
    assert message == (
        f"{registry.url}/shop/prod/latest/manifest.json does not match the sha256 in its metadata.json: "
        "the registry is inconsistent; republish the contract"
    )


def test_read_latest_corrupt_metadata(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    publish(_request(_project(tmp_path)), registry)
    (tmp_path / "reg" / "shop" / "prod" / "latest" / "pointer.json").unlink()
    (tmp_path / "reg" / "shop" / "prod" / "latest" / "metadata.json").write_bytes(b"{torn")
    with pytest.raises(
        IntegrityError, match=r"metadata\.json is corrupt \(not JSON\): republish the contract with meshkit publish$"
    ):
        read_latest(registry, "shop", "prod")
    (tmp_path / "reg" / "shop" / "prod" / "latest" / "metadata.json").write_bytes(b'{"no": "sha"}')
    with pytest.raises(IntegrityError, match="is not a meshkit metadata file"):
        read_latest(registry, "shop", "prod")


def test_read_latest_missing_project_lists_known_projects(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    publish(_request(_project(tmp_path)), registry)
    publish(_request(_project(tmp_path, name="zeta", data=_renamed("zeta")), project="zeta"), registry)
    with pytest.raises(NotPublishedError) as caught:
        read_latest(registry, "nope", "prod")
    assert str(caught.value) == (
        f"registry {registry.url} has no project 'nope' (it has: shop, zeta): publish it first or fix the name"
    )
    assert registry_projects(registry) == ["shop", "zeta"]


def test_read_latest_on_empty_registry(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    with pytest.raises(NotPublishedError) as caught:
        read_latest(registry, "shop", "prod")
    assert str(caught.value) == (
        f"registry {registry.url} has no project 'shop' (it is empty): publish it first or fix the name"
    )


def test_read_latest_missing_env_lists_envs(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    project = _project(tmp_path)
    publish(_request(project, env="prod"), registry)
    publish(_request(project, env="dev-eu"), registry)
    with pytest.raises(NotPublishedError) as caught:
        read_latest(registry, "shop", "staging")
    assert str(caught.value) == (
        f"registry {registry.url} has project 'shop' but not env 'staging' (it has: dev-eu, prod)"
    )
    assert caught.value.exit_code == 2


def test_read_current_before_and_after(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    assert read_current(registry, "shop", "prod").entry is None
    publish(_request(_project(tmp_path)), registry)
    current = read_current(registry, "shop", "prod")
    assert current.entry is not None and current.entry.metadata.history_id == STAMP
    assert current.entry.manifest.data == registry.get("shop/prod/latest/manifest.json").data
    (tmp_path / "reg" / "shop" / "prod" / "latest" / "pointer.json").write_bytes(b"{not json")
    broken = read_current(registry, "shop", "prod")
    assert broken.entry is None and "pointer.json is unreadable" in (broken.problem or "")


def _renamed(name: str) -> dict:
    """manifest_shop.json as project `name` built it: its own nodes are named for it."""
    text = (DATA / "manifest_shop.json").read_text().replace(".shop.", f".{name}.")
    data = orjson.loads(text.replace('"package_name": "shop"', f'"package_name": "{name}"'))
    data["metadata"]["project_name"] = name
    return data


# --- what dbt itself refuses or normalises, publish refuses too: one line naming the field, nothing written ----------


def _odd(change: str) -> dict:
    data = orjson.loads((DATA / "manifest_shop.json").read_bytes())
    v1, orders = data["nodes"]["model.shop.customers.v1"], data["nodes"]["model.shop.orders"]
    if change == "latest_version":
        for node in (v1, data["nodes"]["model.shop.customers.v2"]):
            node["latest_version"] = 3
    elif change in ("not-a-date", "2020-13-45"):
        v1["deprecation_date"] = change
    elif change == "empty alias":
        orders["alias"] = ""
    elif change == "PUBLIC":
        orders["access"] = "PUBLIC"
    elif change == "column renamed":
        orders["columns"]["status"]["name"] = "state"
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "latest_version",
            "model.shop.customers.v1 latest_version '3' names no version of model 'customers': "
            "fix latest_version in its yml and rebuild",
        ),
        (
            "not-a-date",
            "model.shop.customers.v1 deprecation_date 'not-a-date' is not a date (YYYY-MM-DD, as dbt writes it): "
            "fix it in the model's yml and rebuild",
        ),
        (
            "2020-13-45",
            "model.shop.customers.v1 deprecation_date '2020-13-45' is not a date (YYYY-MM-DD, as dbt writes it): "
            "fix it in the model's yml and rebuild",
        ),
        (
            "empty alias",
            "model.shop.orders alias '' cannot be quoted safely as a SQL identifier (it is empty); refusing to write it",
        ),
        ("PUBLIC", "Invalid enum value 'PUBLIC' at $.nodes['model.shop.orders'].access): rebuild it with dbt"),
        (
            "column renamed",
            "model.shop.orders column 'status' is named 'state': dbt keys each column by its name; "
            "rebuild the manifest with dbt",
        ),
    ],
)
def test_publish_refuses_what_dbt_would_refuse(tmp_path, change, expected):
    registry = LocalRegistry(tmp_path / "reg")
    with pytest.raises(ManifestError if change in ("latest_version", "PUBLIC") else InputError) as caught:
        publish(_request(_project(tmp_path, _odd(change))), registry)
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert not (tmp_path / "reg").exists()


def test_a_dbt_fusion_null_config_reads_as_dbts_defaults(tmp_path):
    """dbt Fusion 2.0 writes null for an unset `enabled`, `tags` and `meta`; the contract holds dbt's defaults."""
    data = orjson.loads((DATA / "manifest_shop.json").read_bytes())
    for node in data["nodes"].values():
        node.setdefault("config", {}).update(enabled=None, tags=None, meta=None)
    registry = LocalRegistry(tmp_path / "reg")
    assert publish(_request(_project(tmp_path, data)), registry).status == "published"
    contract = orjson.loads(registry.get("shop/prod/latest/manifest.json").data)
    for node in contract["nodes"].values():
        assert (node["config"]["enabled"], node["config"]["tags"], node["config"]["meta"]) == (True, [], {})


def test_meta_nested_past_the_budget_is_refused(tmp_path):
    data = orjson.loads((DATA / "manifest_shop.json").read_bytes())
    deep: dict = {}
    for _ in range(70):
        deep = {"k": deep}
    data["nodes"]["model.shop.orders"]["meta"] = deep
    with pytest.raises(ManifestError) as caught:
        publish(_request(_project(tmp_path, data)), LocalRegistry(tmp_path / "reg"))
    assert "(meta is nested deeper than 64 levels at $.nodes['model.shop.orders'])" in str(caught.value)


@pytest.mark.parametrize(("schema", "dbt"), [(9, "1.5.1"), (4, "1.0.3")])
def test_a_manifest_older_than_dbt_1_6_names_its_dbt(tmp_path, schema, dbt):
    data = orjson.loads((DATA / "manifest_shop.json").read_bytes())
    data["metadata"].update(
        dbt_schema_version=f"https://schemas.getdbt.com/dbt/manifest/v{schema}.json", dbt_version=dbt
    )
    data["nodes"]["model.shop.orders"]["config"] = "a field an old dbt wrote differently"
    with pytest.raises(ManifestError) as caught:
        publish(_request(_project(tmp_path, data)), LocalRegistry(tmp_path / "reg"))
    assert str(caught.value).endswith(
        f"is a dbt {dbt} manifest (schema v{schema}), older than meshkit supports: meshkit reads manifests of "
        "dbt 1.6 or newer (schema v10+); rebuild it with dbt 1.6 or newer"
    )
