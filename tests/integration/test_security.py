"""Manifests from another team are untrusted: prove it with a real `dbt parse` of what sync writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.helpers import clean_env, dbt, latest_entry, meshkit, one_line_error, rewrite_latest_contract, snapshot

pytestmark = pytest.mark.dbt

SECRET = "s3cr3t-token-value-4711"
PAYLOAD = "{{ env_var('MESHKIT_TEST_SECRET') }}"


def parse_env() -> dict[str, str]:
    return clean_env(MESHKIT_TEST_SECRET=SECRET)


def sync(mesh: Path):
    return meshkit("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--registry", "registry", cwd=mesh)


def test_dbt_really_renders_jinja_in_source_yaml(mesh: Path) -> None:
    """The control: without neutralising, dbt leaks an env var through a source description."""
    (mesh / "dbt_down/models/_probe.yml").write_text(
        f'version: 2\nsources:\n  - name: probe\n    tables:\n      - name: t\n        description: "{PAYLOAD}"\n'
    )
    assert dbt(mesh / "dbt_down", "parse", env=parse_env()).returncode == 0
    assert SECRET in (mesh / "dbt_down/target/manifest.json").read_text()


def test_jinja_in_upstream_strings_is_neutralised(mesh: Path) -> None:
    path = mesh / "dbt_up/target/manifest.json"
    manifest = json.loads(path.read_text())
    orders = manifest["nodes"]["model.dbt_up.public_orders"]
    orders["description"] = f"Orders {PAYLOAD}"
    orders["columns"]["status"]["description"] = "{% if true %}" + PAYLOAD + "{% endif %}"
    orders["columns"]["amount"]["description"] = "{{{ env_var('MESHKIT_TEST_SECRET') }}}"
    orders["columns"]["amount"]["data_type"] = "decimal(18,2) {# x #}"
    path.write_text(json.dumps(manifest))
    published = meshkit("publish", "--project-dir", "dbt_up", "--registry", "registry", cwd=mesh)
    assert published.returncode == 0, published.stderr
    synced = sync(mesh)
    assert synced.returncode == 0, synced.stderr

    generated = (mesh / "dbt_down/models/_mesh_dbt_up.yml").read_text()
    for opener in ("{{", "{%", "{#"):
        assert opener not in generated
    parsed = dbt(mesh / "dbt_down", "parse", env=parse_env())
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    text = (mesh / "dbt_down/target/manifest.json").read_text()
    assert SECRET not in text
    source = json.loads(text)["sources"]["source.dbt_down.dbt_up.public_orders"]
    assert source["description"] == "Orders { { env_var('MESHKIT_TEST_SECRET') }}"
    assert source["columns"]["status"]["description"].startswith("{ % if true %}")


def test_unsafe_alias_is_refused_at_publish(mesh: Path) -> None:
    path = mesh / "dbt_up/target/manifest.json"
    manifest = json.loads(path.read_text())
    manifest["nodes"]["model.dbt_up.public_orders"]["alias"] = 'public_orders" ; drop table x; --'
    path.write_text(json.dumps(manifest))
    before = snapshot(mesh / "registry")
    result = meshkit("publish", "--project-dir", "dbt_up", "--registry", "registry", cwd=mesh)
    assert result.returncode == 2
    assert "cannot be quoted safely as a SQL identifier (it holds '\"'" in one_line_error(result)
    assert snapshot(mesh / "registry") == before


@pytest.mark.parametrize(
    "field,value",
    [
        ("schema", 'main"; drop schema main; --'),
        ("database", 'dbt_up"."other'),
        ("alias", "orders'x"),
        ("alias", "orders{{ env_var('X') }}"),
        ("name", "public orders"),
    ],
)
def test_unsafe_identifier_written_straight_into_the_registry_is_refused_by_sync(
    mesh: Path, field: str, value: str
) -> None:
    """A publisher that bypasses meshkit can still not make sync write a breakout identifier."""
    contract = json.loads((latest_entry(mesh / "registry") / "manifest.json").read_text())
    contract["nodes"]["model.dbt_up.public_orders"][field] = value
    rewrite_latest_contract(mesh / "registry", json.dumps(contract).encode())

    before = snapshot(mesh / "dbt_down")
    result = sync(mesh)
    assert result.returncode == 2
    refusal = "is not a safe SQL identifier" if field == "name" else "cannot be quoted safely as a SQL identifier"
    assert refusal in one_line_error(result)
    assert snapshot(mesh / "dbt_down") == before
    assert dbt(mesh / "dbt_down", "parse").returncode == 0
