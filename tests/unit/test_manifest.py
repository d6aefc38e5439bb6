"""Unit tests for meshkit.contract.manifest: corrupt, truncated or foreign manifests fail with one clear line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from meshkit.contract.manifest import load_manifest, parse_manifest, require_project
from meshkit.errors import InputError, ManifestError
from support.nodes import manifest_of, typed

DATA = Path(__file__).parents[1] / "data"
SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def _one_line(error: BaseException) -> str:
    message = str(error)
    assert message and "\n" not in message and "Traceback" not in message
    return message


def test_parse_valid_fixture():
    manifest = parse_manifest((DATA / "manifest_shop.json").read_bytes(), "fixture.json")
    assert manifest.project_name == "shop"
    assert manifest.dbt_version == "1.11.16"
    assert manifest.origin == "fixture.json"
    assert list(manifest.public_models()) == ["model.shop.customers.v1", "model.shop.customers.v2", "model.shop.orders"]
    assert manifest.parent_map["model.shop.orders"] == ["model.shop.stg_orders"]
    assert list(manifest.sources) == ["source.shop.raw.events"]


def test_parse_invalid_json():
    with pytest.raises(ManifestError) as caught:
        parse_manifest(b"{not json", "/x/target/manifest.json")
    message = _one_line(caught.value)
    assert message.startswith("/x/target/manifest.json is not valid JSON (")
    assert message.endswith("); it may be truncated or corrupt: rebuild it with dbt")


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe\x00", b'{"metadata": {"dbt_schema_version": "x"'])
def test_parse_other_broken_bytes(raw):
    with pytest.raises(ManifestError, match="is not valid JSON") as caught:
        parse_manifest(raw, "m.json")
    _one_line(caught.value)


def test_parse_truncated_manifest():
    raw = (DATA / "manifest_shop.json").read_bytes()
    with pytest.raises(ManifestError) as caught:
        parse_manifest(raw[: len(raw) // 2], "half.json")
    message = _one_line(caught.value)
    assert message.startswith("half.json is not valid JSON (")
    assert "truncated or corrupt" in message


def test_parse_json_list():
    with pytest.raises(ManifestError) as caught:
        parse_manifest(b"[1, 2, 3]", "list.json")
    assert _one_line(caught.value) == "list.json is not a dbt manifest (top level is not an object)"


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"nodes": {}},
        {"metadata": {}, "nodes": {}},
        {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"}, "nodes": {}},
        {"metadata": {"dbt_schema_version": SCHEMA}},
        {"metadata": {"dbt_schema_version": SCHEMA}, "nodes": []},
        {"metadata": "not an object", "nodes": {}},
        {"metadata": [SCHEMA], "nodes": {}},
        {"metadata": None, "nodes": {}},
    ],
)
def test_parse_object_without_manifest_schema(document):
    with pytest.raises(ManifestError) as caught:
        parse_manifest(orjson.dumps(document), "other.json")
    assert _one_line(caught.value) == (
        "other.json is not a dbt manifest (no dbt manifest schema version in its metadata): "
        "meshkit reads manifests of dbt 1.6 or newer (schema v10+)"
    )


def test_manifest_error_is_an_input_error_with_exit_2():
    assert issubclass(ManifestError, InputError)
    assert ManifestError("x").exit_code == 2


def test_load_manifest_missing_path_mentions_dbt_build(tmp_path):
    path = tmp_path / "proj" / "target" / "manifest.json"
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = _one_line(caught.value)
    assert message == f"no dbt manifest at {path}: run `dbt build` (or `dbt parse`) in {tmp_path / 'proj'} first"


def test_load_manifest_missing_path_custom_hint(tmp_path):
    path = tmp_path / "manifest.json"
    with pytest.raises(ManifestError, match=r"run `dbt build` in HERE first$"):
        load_manifest(path, build_hint="run `dbt build` in HERE first")


def test_load_manifest_directory_is_not_a_manifest(tmp_path):
    (tmp_path / "manifest.json").mkdir()
    with pytest.raises(ManifestError, match=r"^cannot read .*manifest.json: not a regular file \(a folder, FIFO"):
        load_manifest(tmp_path / "manifest.json")


def test_load_manifest_reads_file(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_bytes((DATA / "manifest_shop.json").read_bytes())
    manifest = load_manifest(path)
    assert manifest.origin == str(path)
    assert manifest.project_name == "shop"


def test_require_project_mismatch_names_both():
    manifest = manifest_of(
        {"metadata": {"project_name": "shop", "dbt_schema_version": SCHEMA}, "nodes": {}}, "/a/manifest.json"
    )
    require_project(manifest, "shop")  # no error
    with pytest.raises(ManifestError) as caught:
        require_project(manifest, "dbt_up")
    assert _one_line(caught.value) == (
        "/a/manifest.json belongs to dbt project 'shop', not 'dbt_up': "
        "point at the dbt_up project or pass --project shop"
    )


def test_require_project_unknown_name():
    manifest = manifest_of({"metadata": {"dbt_schema_version": SCHEMA}, "nodes": {}}, "m.json")
    with pytest.raises(ManifestError, match=r"^m\.json belongs to dbt project '\(unknown\)', not 'shop'"):
        require_project(manifest, "shop")


@pytest.mark.parametrize(
    ("node", "public"),
    [
        ({"resource_type": "model", "access": "public"}, True),
        ({"resource_type": "model", "config": {"access": "public"}}, True),
        ({"resource_type": "model", "access": "protected", "config": {"access": "public"}}, False),
        ({"resource_type": "model", "access": "private"}, False),
        ({"resource_type": "model"}, False),
        ({"resource_type": "seed", "access": "public"}, True),  # dbt-loom lets another project ref() it
        ({"resource_type": "seed", "config": {"access": "public"}}, True),
        ({"resource_type": "snapshot", "config": {"access": "public"}}, True),
        ({"resource_type": "analysis", "config": {"access": "public"}}, False),  # nothing can ref() it
        ({"resource_type": "test", "access": "public"}, False),
    ],
)
def test_is_public_node(node, public):
    assert typed({"name": "m", "unique_id": "model.p.m", **node}).is_public_node is public
