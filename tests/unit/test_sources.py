"""Unit tests for meshkit.mesh.sources: a published contract rendered as dbt sources YAML."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml

from meshkit.contract.build import build_contract, serialise
from meshkit.errors import InputError, UnsafeNameError
from meshkit.contract.manifest import Manifest, parse_manifest
from meshkit.registry.published import Published
from meshkit.mesh.sources import build_sources, render_sources, table_names

DATA = Path(__file__).parents[1] / "data"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _shop() -> dict:
    return orjson.loads((DATA / "manifest_shop.json").read_bytes())


def _published(data: dict | None = None, *, contract: bool = True, project: str = "shop", env: str = "prod") -> Published:
    data = data if data is not None else _shop()
    manifest = Manifest(data=data, origin="fixture")
    if contract:
        manifest = parse_manifest(serialise(build_contract(manifest)), "contract.json")
    return Published(project=project, env=env, manifest=manifest, metadata={"sha256": SHA}, manifest_etag="etag")


def _model(uid: str, name: str, *, schema: str = "main", alias: str | None = None, **extra) -> dict:
    node = {
        "unique_id": uid, "name": name, "resource_type": "model", "access": "public",
        "database": "shop", "schema": schema, "alias": alias or name, "columns": {},
    }
    node.update(extra)
    return node


def _raw_published(*nodes: dict) -> Published:
    data = {"metadata": {"project_name": "shop"}, "nodes": {n["unique_id"]: n for n in nodes}}
    return _published(data, contract=False)


def test_golden_render():
    data, tables = render_sources(_published())
    assert data.decode("utf-8") == (DATA / "expected_mesh_shop.yml").read_text(encoding="utf-8")
    assert tables == 4


def test_render_is_byte_identical_on_repeat():
    first = render_sources(_published())
    assert render_sources(_published()) == first
    assert render_sources(_published()) == first


def test_render_does_not_depend_on_upstream_node_order():
    data = _shop()
    data["nodes"] = dict(reversed(list(data["nodes"].items())))
    assert render_sources(_published(data)) == render_sources(_published())


def test_rendered_yaml_structure():
    document = yaml.safe_load(render_sources(_published())[0])
    assert document["version"] == 2
    [source] = document["sources"]
    by_name = {t["name"]: t for t in source["tables"]}
    assert list(by_name) == ["customers", "customers_v1", "customers_v2", "orders"]
    assert by_name["customers"]["identifier"] == by_name["customers_v2"]["identifier"] == "customers_v2"
    assert by_name["customers_v1"]["meta"]["meshkit"] == {
        "unique_id": "model.shop.customers.v1", "version": "1", "latest_version": "2",
        "deprecation_date": "2027-06-30T00:00:00+00:00", "contract_sha256": SHA,
    }
    assert [c["name"] for c in by_name["orders"]["columns"]] == ["order_id", "status", "amount"]


@pytest.mark.parametrize(
    ("node", "names"),
    [
        ({"name": "m"}, ["m"]),
        ({"name": "m", "version": None, "latest_version": 2}, ["m"]),
        ({"name": "m", "version": 1, "latest_version": 2}, ["m_v1"]),
        ({"name": "m", "version": 2, "latest_version": 2}, ["m_v2", "m"]),
        ({"name": "m", "version": 2.0, "latest_version": "2"}, ["m_v2", "m"]),
        ({"name": "m", "version": "3", "latest_version": None}, ["m_v3"]),
    ],
)
def test_table_names(node, names):
    assert table_names(node) == names


def test_hostile_text_is_neutralised():
    data = _shop()
    orders = data["nodes"]["model.shop.orders"]
    orders["description"] = "{{ env_var('AWS_SECRET_ACCESS_KEY') }} and {% do run_query('drop') %}"
    orders["columns"]["status"]["description"] = "{# hidden #}{{{ x }}}"
    orders["columns"]["amount"]["data_type"] = "{{ 'numeric' }}"
    v1 = data["nodes"]["model.shop.customers.v1"]
    v1["deprecation_date"] = "{{ env_var('DBT_ENV_SECRET_X') }}"
    rendered, _ = render_sources(_published(data))
    text = rendered.decode()
    for opener in ("{{", "{%", "{#"):
        assert opener not in text
    tables = {t["name"]: t for t in yaml.safe_load(text)["sources"][0]["tables"]}
    assert tables["orders"]["description"] == "{ { env_var('AWS_SECRET_ACCESS_KEY') }} and { % do run_query('drop') %}"
    columns = {c["name"]: c for c in tables["orders"]["columns"]}
    assert columns["status"]["description"] == "{ # hidden #}{ { { x }}}"
    assert columns["amount"]["data_type"] == "{ { 'numeric' }}"
    assert tables["customers_v1"]["meta"]["meshkit"]["deprecation_date"] == "{ { env_var('DBT_ENV_SECRET_X') }}"


def test_unsafe_schema_is_refused():
    published = _raw_published(_model("model.shop.m", "m", schema='main"; --'))
    with pytest.raises(UnsafeNameError) as caught:
        render_sources(published)
    assert str(caught.value).startswith("model.shop.m schema 'main\"; --' is not a safe SQL identifier")


@pytest.mark.parametrize(
    ("node", "start"),
    [
        (_model("model.shop.m", "m", alias='m"x'), "model.shop.m alias"),
        (_model("model.shop.m", "m", database='x"y'), "model.shop.m database 'x\"y'"),
        (_model("model.shop.m", "m", columns={"a b": {"name": "a b"}}), "model.shop.m column 'a b'"),
        (_model("model.shop.m", "m", version="1-beta", latest_version="1-beta"), "model.shop.m source table name 'm_v1-beta'"),
    ],
)
def test_other_unsafe_names_are_refused(node, start):
    with pytest.raises(UnsafeNameError) as caught:
        render_sources(_raw_published(node))
    assert str(caught.value).startswith(start)


def test_a_model_without_database_gives_a_source_without_database():
    document = build_sources(_raw_published(_model("model.shop.m", "m", database=None)))
    assert "database" not in document["sources"][0]
    assert document["sources"][0]["schema"] == "main"


def test_two_schemas_give_two_sources_with_the_same_name():
    published = _raw_published(
        _model("model.shop.a", "a", schema="marts"),
        _model("model.shop.b", "b", schema="finance"),
        _model("model.shop.c", "c", schema="marts"),
    )
    document = build_sources(published)
    assert [(s["name"], s["database"], s["schema"]) for s in document["sources"]] == [
        ("shop", "shop", "finance"), ("shop", "shop", "marts"),
    ]
    assert [[t["name"] for t in s["tables"]] for s in document["sources"]] == [["b"], ["a", "c"]]
    data, tables = render_sources(published)
    assert tables == 3
    assert yaml.safe_load(data) == document


def test_name_collision_is_an_input_error():
    published = _raw_published(
        _model("model.shop.m.v1", "m", alias="m_v1_table", version=1, latest_version=1),
        _model("model.shop.m_v1", "m_v1", alias="m_v1_other"),
    )
    with pytest.raises(InputError) as caught:
        render_sources(published)
    assert str(caught.value) == (
        "source table name 'm_v1' would stand for both model.shop.m.v1 and model.shop.m_v1: rename one upstream model"
    )


def test_contract_without_public_models():
    published = _raw_published({"unique_id": "model.shop.x", "name": "x", "resource_type": "model", "access": "private"})
    with pytest.raises(InputError, match=r"^the shop/prod contract has no public models; nothing to sync$"):
        render_sources(published)


def test_header_names_project_env_and_sha():
    data, _ = render_sources(_published(env="staging"))
    lines = data.decode().splitlines()
    assert lines[0] == "# Generated by `meshkit sync` from the shop/staging contract"
    assert lines[1] == f"# sha256 {SHA}. Do not edit: rerun meshkit sync instead."
    assert yaml.safe_load(data)["sources"][0]["meta"] == {"meshkit": {"upstream": "shop", "env": "staging", "contract_sha256": SHA}}
