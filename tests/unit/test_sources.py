"""Unit tests for meshkit.mesh.sources: a published contract rendered as dbt sources YAML."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest
import yaml

from meshkit.contract.build import build_contract, serialise
from meshkit.contract.manifest import parse_manifest
from meshkit.contract.model import PublishMetadata
from meshkit.errors import InputError, UnsafeNameError
from meshkit.mesh.sources import (
    FORMAT,
    Selection,
    Stamp,
    build_sources,
    dump_yaml,
    read_stamp,
    render_sources,
    table_names,
)
from meshkit.registry.published import Published
from support.nodes import manifest_of, typed

DATA = Path(__file__).parents[1] / "data"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _shop() -> dict:
    return orjson.loads((DATA / "manifest_shop.json").read_bytes())


def _published(
    data: dict | None = None, *, contract: bool = True, project: str = "shop", env: str = "prod"
) -> Published:
    data = data if data is not None else _shop()
    manifest = manifest_of(data, "fixture")
    if contract:
        manifest = parse_manifest(serialise(build_contract(manifest)), "contract.json")
    return Published(project=project, env=env, manifest=manifest, metadata=PublishMetadata(sha256=SHA))


def _model(uid: str, name: str, *, schema: str = "main", alias: str | None = None, **extra) -> dict:
    node = {
        "unique_id": uid,
        "name": name,
        "resource_type": "model",
        "access": "public",
        "database": "shop",
        "schema": schema,
        "alias": alias or name,
        "columns": {},
    }
    node.update(extra)
    return node


def _raw_published(*nodes: dict) -> Published:
    data = {
        "metadata": {"project_name": "shop", "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
        "nodes": {n["unique_id"]: n for n in nodes},
    }
    return _published(data, contract=False)


def test_golden_render():
    rendered = render_sources(_published())
    assert rendered.data.decode("utf-8") == (DATA / "expected_mesh_shop.yml").read_text(encoding="utf-8")
    assert (rendered.tables, rendered.published, rendered.unknown) == (4, 4, ())


def test_render_is_byte_identical_on_repeat():
    first = render_sources(_published())
    assert render_sources(_published()) == first
    assert render_sources(_published()) == first


def test_render_does_not_depend_on_upstream_node_order():
    data = _shop()
    data["nodes"] = dict(reversed(list(data["nodes"].items())))
    assert render_sources(_published(data)) == render_sources(_published())


def test_rendered_yaml_structure():
    document = yaml.safe_load(render_sources(_published()).data)
    assert document["version"] == 2
    [source] = document["sources"]
    by_name = {t["name"]: t for t in source["tables"]}
    assert list(by_name) == ["customers", "customers_v1", "customers_v2", "orders"]
    assert by_name["customers"]["identifier"] == by_name["customers_v2"]["identifier"] == "customers_v2"
    assert by_name["customers_v1"]["meta"]["meshkit"] == {
        "unique_id": "model.shop.customers.v1",
        "version": "1",
        "latest_version": "2",
        "deprecation_date": "2027-06-30T00:00:00+00:00",
        "contract_sha256": SHA,
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
    assert table_names(typed({"unique_id": "model.shop.m", "resource_type": "model", **node})) == names


def test_hostile_text_is_neutralised():
    data = _shop()
    orders = data["nodes"]["model.shop.orders"]
    orders["description"] = "{{ env_var('AWS_SECRET_ACCESS_KEY') }} and {% do run_query('drop') %}"
    orders["columns"]["status"]["description"] = "{# hidden #}{{{ x }}}"
    orders["columns"]["amount"]["data_type"] = "{{ 'numeric' }}"
    text = render_sources(_published(data)).data.decode()
    for opener in ("{{", "{%", "{#"):
        assert opener not in text
    tables = {t["name"]: t for t in yaml.safe_load(text)["sources"][0]["tables"]}
    assert tables["orders"]["description"] == "{ { env_var('AWS_SECRET_ACCESS_KEY') }} and { % do run_query('drop') %}"
    columns = {c["name"]: c for c in tables["orders"]["columns"]}
    assert columns["status"]["description"] == "{ # hidden #}{ { { x }}}"
    assert columns["amount"]["data_type"] == "{ { 'numeric' }}"


@pytest.mark.parametrize("date", ["{{ env_var('DBT_ENV_SECRET_X') }}", "not-a-date", "2020-13-45", "2027-06-30Tnoon"])
def test_a_deprecation_date_that_is_not_a_date_is_refused(date):
    """It would reach the sources' meta and every check's deprecation rule: dbt never writes one."""
    data = _shop()
    data["nodes"]["model.shop.customers.v1"]["deprecation_date"] = date
    with pytest.raises(InputError) as caught:
        render_sources(_published(data))
    assert str(caught.value) == (
        f"model.shop.customers.v1 deprecation_date {date!r} is not a date (YYYY-MM-DD, as dbt writes it): "
        "fix it in the model's yml and rebuild"
    )


def test_unsafe_schema_is_refused():
    published = _raw_published(_model("model.shop.m", "m", schema='main"; --'))
    with pytest.raises(UnsafeNameError) as caught:
        render_sources(published)
    assert str(caught.value) == (
        "model.shop.m schema 'main\"; --' cannot be quoted safely as a SQL identifier "
        "(it holds '\"', which quotes identifiers on default); refusing to write it"
    )


@pytest.mark.parametrize(
    ("node", "start"),
    [
        (_model("model.shop.m", "m", alias='m"x'), "model.shop.m alias"),
        (_model("model.shop.m", "m", database='x"y'), "model.shop.m database 'x\"y'"),
        (_model("model.shop.m", "m", columns={"a'b": {"name": "a'b"}}), 'model.shop.m column "a\'b"'),
        (_model("model.shop.m", "m", columns={"a\nb": {"name": "a\nb"}}), "model.shop.m column 'a\\nb'"),
        (_model("model.shop.m", "m", alias="m{{ x }}"), "model.shop.m alias 'm{{ x }}'"),
        (_model("model.shop.m", "m", alias="m\u202ex"), "model.shop.m alias 'm\\u202ex'"),
        (
            _model("model.shop.m", "m", version="1-beta", latest_version="1-beta"),
            "model.shop.m version 'm_v1-beta'",
        ),
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
        ("shop", "shop", "finance"),
        ("shop", "shop", "marts"),
    ]
    assert [[t["name"] for t in s["tables"]] for s in document["sources"]] == [["b"], ["a", "c"]]
    rendered = render_sources(published)
    assert rendered.tables == 3
    assert yaml.safe_load(rendered.data) == document


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
    published = _raw_published(
        {"unique_id": "model.shop.x", "name": "x", "resource_type": "model", "access": "private"}
    )
    with pytest.raises(InputError, match=r"^the shop/prod contract has no public models; nothing to sync$"):
        render_sources(published)


def test_header_names_project_env_and_sha():
    data = render_sources(_published(env="staging")).data
    lines = data.decode().splitlines()
    assert lines[0] == "# Generated by `meshkit sync` from the shop/staging contract"
    assert lines[1] == f"# sha256 {SHA}. Do not edit: rerun meshkit sync instead."
    assert yaml.safe_load(data)["sources"][0]["meta"] == {
        "meshkit": {"upstream": "shop", "env": "staging", "contract_sha256": SHA}
    }


# --- selection, stamp and the YAML emitters ---------------------------------------------------------


def _names(document: dict) -> list[list[str]]:
    return [[t["name"] for t in source["tables"]] for source in document["sources"]]


def test_a_selection_writes_only_the_requested_tables_and_names_the_unknown():
    rendered = render_sources(
        _published(), Selection(every=False, requested=frozenset({"customers_v1", "orders", "refunds"}))
    )
    document = yaml.safe_load(rendered.data)
    assert _names(document) == [["customers_v1", "orders"]]
    assert (rendered.tables, rendered.published, rendered.unknown) == (2, 4, ("refunds",))
    lines = rendered.data.decode().splitlines()
    assert lines[2] == (
        "# 2 of the contract's 4 tables: those the project reads (its source() calls and includes); "
        "meshkit sync --all writes all."
    )
    assert build_sources(_published(), Selection(every=False, requested=frozenset({"customers"}))) == {
        **document,
        "sources": [
            {
                **document["sources"][0],
                "tables": [
                    t
                    for t in yaml.safe_load(render_sources(_published()).data)["sources"][0]["tables"]
                    if t["name"] == "customers"
                ],
            }
        ],
    }


def test_every_table_still_reports_unknown_requested_names():
    rendered = render_sources(_published(), Selection(every=True, requested=frozenset({"orders", "refunds"})))
    assert (rendered.tables, rendered.unknown) == (4, ("refunds",))
    assert rendered.data.decode().splitlines()[2] == "# All 4 tables of the contract."


def test_no_table_read_keeps_one_source_naming_the_contract():
    document = build_sources(_published(), Selection(every=False))
    [source] = document["sources"]
    assert (source["name"], source["database"], source["schema"], source["tables"]) == ("shop", "shop", "main", [])
    assert source["meta"] == {"meshkit": {"upstream": "shop", "env": "prod", "contract_sha256": SHA}}
    rendered = render_sources(_published(), Selection(every=False))
    assert b"  tables: []\n" in rendered.data and rendered.tables == 0


def test_unsafe_names_are_refused_even_in_tables_not_written():
    published = _raw_published(_model("model.shop.a", "a"), _model("model.shop.b", "b", alias='b"; --'))
    with pytest.raises(UnsafeNameError, match=r"^model.shop.b alias"):
        render_sources(published, Selection(every=False, requested=frozenset({"a"})))


def test_fingerprint_covers_everything_the_bytes_depend_on():
    base = Selection(every=False, requested=frozenset({"orders"}))
    fingerprint = base.fingerprint("shop", "prod", SHA)
    assert Selection(every=False, requested=frozenset({"orders"})).fingerprint("shop", "prod", SHA) == fingerprint
    others = {
        Selection(every=False, requested=frozenset({"orders", "customers"})).fingerprint("shop", "prod", SHA),
        Selection(every=True, requested=frozenset({"orders"})).fingerprint("shop", "prod", SHA),
        base.fingerprint("shop", "staging", SHA),
        base.fingerprint("shop", "prod", "0" * 64),
        base.fingerprint("shop2", "prod", SHA),
    }
    assert fingerprint not in others and len(others) == 5


def test_read_stamp_trusts_only_an_intact_generated_file():
    selection = Selection(every=False, requested=frozenset({"orders", "refunds"}))
    data = render_sources(_published(), selection).data
    assert read_stamp(data) == Stamp(selection.fingerprint("shop", "prod", SHA), 1, 4, ("refunds",))
    assert read_stamp(data.replace(b"Order status.", b"Order status!")) is None  # the YAML edited
    assert read_stamp(data.replace(b"Do not edit", b"Do edit")) is None  # a header line edited
    assert read_stamp(data.replace(b'"tables":1', b'"tables":9')) is None  # the stamp itself edited
    assert read_stamp(data.replace(b"# meshkit-sync: {", b"# meshkit-sync: [")) is None
    old = b"".join(line for line in data.splitlines(keepends=True) if not line.startswith(b"# meshkit-sync"))
    assert read_stamp(old) is None  # a file from before stamps
    assert read_stamp(b"version: 2\nsources: []\n") is None


TRICKY = [
    "",
    " ",
    "a ",
    " a",
    "a\nb",
    "a\n",
    "\n",
    "é",
    "日本",
    "\u2028",
    "\t",
    "a\tb",
    "null",
    "~",
    "1",
    "1.0",
    "yes",
    "- a",
    "a: b",
    "#",
    "a #b",
    "'",
    '"',
    "\\",
    "{ {",
    "%",
    "@",
    "`",
    "\ufeff",
    "\r",
    "a\r\nb",
    "\x7f",
    "\u00a0",
    "2027-06-30T00:00:00+00:00",
    "0o17",
    ".inf",
    "=",
    "<<",
    "!x",
    "&a",
    "*a",
    "|",
    ">",
    "? a",
    ":",
    "a:b",
    "[a]",
    "line1\n\nline3",
    "trailing\n\n",
    " leading\nspace",
    "x " * 6000,
    "w" * 12_000,
    "it's " * 3000,
]


def _document_with(strings: list[str]) -> dict:
    return {
        "version": 2,
        "sources": [
            {
                "name": "s",
                "meta": {"k": None, "n": 1},
                "tables": [
                    {"name": f"t{i}", "description": s, "columns": [{"name": s}]} for i, s in enumerate(strings)
                ],
            }
        ],
    }


def _safe_dump(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False)


@pytest.mark.skipif(getattr(yaml, "CSafeDumper", None) is None, reason="PyYAML without libyaml")
def test_both_emitters_write_the_same_bytes_as_safe_dump():
    documents = [build_sources(_published()), _document_with(TRICKY)]
    for document in documents:
        expected = _safe_dump(document)
        assert dump_yaml(document, c_emitter=True) == expected
        assert dump_yaml(document, c_emitter=False) == expected
        assert dump_yaml(document) == expected
    data = _shop()
    data["nodes"]["model.shop.orders"]["description"] = "{{ hostile }} \t and \u2028 more\n  indented"
    published = _published(data)
    assert render_sources(published).data.endswith(_safe_dump(build_sources(published)).encode())


@pytest.mark.skipif(getattr(yaml, "CSafeDumper", None) is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("text", ["orders 🚀", "next\x85line", "tab\there " * 1200, "a \n b " * 2000])
def test_strings_libyaml_writes_differently_go_to_pyyamls_emitter(text):
    document = _document_with(["plain", text])
    expected = _safe_dump(document)
    assert dump_yaml(document, c_emitter=True) != expected  # why the guard exists
    assert dump_yaml(document) == dump_yaml(document, c_emitter=False) == expected


def test_a_change_to_the_rendered_bytes_bumps_the_format():
    """An unchanged sync trusts a file's stamp instead of re-rendering it, for as long as FORMAT says the
    bytes for a contract and selection stay the same: whoever changes the golden file bumps FORMAT here too."""
    golden = (DATA / "expected_mesh_shop.yml").read_bytes()
    assert (FORMAT, hashlib.sha256(golden).hexdigest()) == (
        2,
        "1e2be0df3f7017703eee107d9c386cca1075f6fe0ad55384e1b1925c74041598",
    )
