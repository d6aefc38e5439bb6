"""The committed JSON Schemas of every `--format json` output (meshkit/schemas/*.schema.json).

Each output is rendered from results made here (by hand, or by meshkit's own functions on a
temporary local registry) and validated against its schema; mutated documents (a field removed,
a field of the wrong type, another schema version) must fail, so the schemas are strict enough to
catch a real regression. The enums the schemas list must equal the ones meshkit's code has.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import tomllib

from meshkit.cli import main
from meshkit.contract.diff import Change, ChangeCode, Severity
from meshkit.contract.model import PublicModel
from meshkit.github.bump_pr import BumpResult
from meshkit.github.comment import CommentResult
from meshkit.github.dispatch import dispatch_payload
from meshkit.github.init import InitPlan, PlannedFile
from meshkit.mesh.check import Assessed, CheckReport
from meshkit.mesh.consumers import ConsumerStatus
from meshkit.mesh.impact import Impact
from meshkit.mesh.publish import PublishRequest, PublishResult, publish
from meshkit.mesh.sync import SyncOutcome
from meshkit.mesh.trace import Read, Target, Trace
from meshkit.mesh.validate import VIA_LOOM, VIA_SOURCE, Dependency, Finding, ProjectReport, ValidateReport
from meshkit.registry.local import LocalRegistry
from meshkit.registry.published import read_latest
from meshkit.report import render
from meshkit.report.catalog import CATALOG_SCHEMA, build_catalog, catalog_json
from meshkit.report.check import CHECK_SCHEMA, check_json
from meshkit.report.trace import lineage_json
from support.helpers import REPO
from support.schemas import SCHEMA_DIR, SCHEMAS, assert_schema_valid, schema, schema_errors, schema_path

DATA = Path(__file__).parents[1] / "data"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
# Fields an output always has that its schema leaves optional (added within the version, after the first release).
OPTIONAL = {("check", "repository")}


# --- the schema files ---------------------------------------------------------------------------------------


def test_every_json_output_has_exactly_one_committed_schema():
    assert sorted(p.name for p in SCHEMA_DIR.iterdir() if p.is_file()) == sorted(
        f"{command}.schema.json" for command in SCHEMAS
    )


@pytest.mark.parametrize("command", sorted(SCHEMAS))
def test_schema_file_is_a_versioned_2020_12_schema(command: str):
    document = schema(command)
    jsonschema.Draft202012Validator.check_schema(document)
    version = SCHEMAS[command]
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == version
    assert document["title"] == f"meshkit {command} --format json"
    assert f"Fields are only ever added within {version}" in document["description"]
    assert document["properties"]["schema"] == {"const": version}
    assert document["properties"]["command"] == {"const": command}
    assert {"meshkit_version", "command", "schema"} <= set(document["required"])
    assert "additionalProperties" not in json.dumps(document), "outputs stay open to added fields within a version"


def test_the_code_names_the_same_schema_versions():
    assert {
        "publish": render.PUBLISH_SCHEMA,
        "sync": render.SYNC_SCHEMA,
        "validate": render.VALIDATE_SCHEMA,
        "check": CHECK_SCHEMA,
        "catalog": CATALOG_SCHEMA,
        "lineage": render.LINEAGE_SCHEMA,
        "dispatch": render.DISPATCH_SCHEMA,
        "comment": render.COMMENT_SCHEMA,
        "init": render.INIT_SCHEMA,
        "bump-pr": render.BUMP_PR_SCHEMA,
    } == SCHEMAS


def test_the_schemas_are_package_data():
    """The wheel ships them: pyproject's package-data globs match every schema file."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["meshkit"]
    for command in SCHEMAS:
        relative = schema_path(command).relative_to(REPO / "meshkit").as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


# --- enums: the schemas list what the code produces ------------------------------------------------------------


def test_check_change_codes_and_severities_are_the_python_enums():
    change = schema("check")["$defs"]["change"]["properties"]
    assert set(change["code"]["enum"]) == {c.value for c in ChangeCode}
    assert len(change["code"]["enum"]) == len(ChangeCode)
    assert set(change["severity"]["enum"]) == {s.value for s in Severity}
    assert set(schema("check")["$defs"]["impact"]["properties"]["via"]["enum"]) == {VIA_LOOM, VIA_SOURCE}


def _validate_finding_codes() -> tuple[set[str], set[str]]:
    """(severities, codes) meshkit/mesh/validate.py can give a Finding, read from its source.

    Findings are made by `add(severity, code, message)`, by `(severity, code, message)` problem tuples,
    and `_deprecation` returns `(code, message)`; a new code written any of these ways is found here.
    """
    tree = ast.parse((REPO / "meshkit" / "mesh" / "validate.py").read_text())
    severities: set[str] = set()
    codes: set[str] = set()

    def text(node: ast.AST) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "add":
            if node.args and text(node.args[0]):
                severities.add(text(node.args[0]))  # type: ignore[arg-type]
            if len(node.args) > 1 and text(node.args[1]):
                codes.add(text(node.args[1]))  # type: ignore[arg-type]
        elif isinstance(node, ast.Tuple) and len(node.elts) == 3 and text(node.elts[0]) in ("error", "warning"):
            severities.add(text(node.elts[0]))  # type: ignore[arg-type]
            if text(node.elts[1]):
                codes.add(text(node.elts[1]))  # type: ignore[arg-type]
        elif isinstance(node, ast.FunctionDef) and node.name == "_deprecation":
            for returned in ast.walk(node):
                if isinstance(returned, ast.Return) and isinstance(returned.value, ast.Tuple):
                    codes.add(text(returned.value.elts[0]))  # type: ignore[arg-type]
    return severities, codes


def test_validate_finding_codes_are_the_ones_validate_produces():
    severities, codes = _validate_finding_codes()
    finding = schema("validate")["$defs"]["finding"]["properties"]
    assert severities == set(finding["severity"]["enum"]) == {"error", "warning"}
    assert None not in codes and len(codes) >= 8, codes  # the scan still finds them
    assert codes == set(finding["code"]["enum"])
    assert set(schema("validate")["$defs"]["dependency"]["properties"]["via"]["enum"]) == {VIA_LOOM, VIA_SOURCE}


# --- documents rendered from results ---------------------------------------------------------------------------


def _project(tmp_path: Path, name: str, manifest: str | dict[str, Any]) -> Path:
    project = tmp_path / name
    (project / "target").mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").write_text(f"name: {name}\nversion: '1.0'\nprofile: {name}\n")
    data = (DATA / manifest).read_text() if isinstance(manifest, str) else json.dumps(manifest)
    (project / "target" / "manifest.json").write_text(data)
    return project


def _without_a_column(manifest: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(manifest)
    node = changed["nodes"]["model.shop.orders"]
    node["columns"].pop("status")
    return changed


def _cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> dict[str, Any]:
    assert main(list(argv), environ={}) == code, capsys.readouterr().err
    document: dict[str, Any] = orjson.loads(capsys.readouterr().out)
    return document


@pytest.fixture
def registry_mesh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """shop published twice (the second drops a column), down and down_loom recorded as consumers, a rogue
    consumer record and a corrupt history entry; the JSON of each command along the way."""
    monkeypatch.chdir(tmp_path)  # no meshkit.yml of the repository's own
    shop_manifest = json.loads((DATA / "manifest_shop.json").read_text())
    shop = _project(tmp_path, "shop", shop_manifest)
    reg = ["--registry", str(tmp_path / "registry")]
    docs: dict[str, Any] = {}
    docs["publish_first"] = _cli(
        capsys, "publish", "--project-dir", str(shop), *reg, "--git-commit", "abc1234", "--format", "json"
    )
    docs["publish_unchanged"] = _cli(capsys, "publish", "--project-dir", str(shop), *reg, "--format", "json")
    _project(tmp_path, "shop", _without_a_column(shop_manifest))
    docs["publish"] = _cli(
        capsys, "publish", "--project-dir", str(shop), *reg, "--git-commit", "def5678", "--format", "json"
    )
    for name, manifest in (("down", "manifest_down_sources.json"), ("down_loom", "manifest_down_loom.json")):
        _project(tmp_path, name, manifest)
        docs[f"consumer_{name}"] = _cli(
            capsys, "publish", "--consumer", "--project-dir", name, *reg, "--git-commit", "0123abc", "--format", "json"
        )
    consumers = tmp_path / "registry" / "shop" / "prod" / "consumers"
    (consumers / "rogue.json").write_text("not json")
    broken = tmp_path / "registry" / "shop" / "prod" / "history" / "20200101T000000.000000Z"
    broken.mkdir()
    (broken / "metadata.json").write_text("{")
    (tmp_path / "down" / "models").mkdir()
    docs["sync"] = _cli(capsys, "sync", "--project-dir", "down", "--upstream", "shop", *reg, "--format", "json")
    docs["sync_check"] = _cli(
        capsys, "sync", "--project-dir", "down", "--upstream", "shop", *reg, "--check", "--format", "json"
    )
    docs["validate"] = _cli(
        capsys,
        "validate",
        "--project",
        "down",
        "--project",
        "down_loom",
        "--root",
        str(tmp_path),
        *reg,
        "--today",
        "2027-07-01",
        "--format",
        "json",
        code=1,
    )
    docs["catalog"] = _cli(capsys, "catalog", *reg, "--format", "json", "--output", "-")
    docs["dispatch"] = _cli(
        capsys, "dispatch", "--project", "shop", *reg, "--repository", "acme/down", "--dry-run", "--format", "json"
    )
    docs["check"] = _cli(capsys, "check", "--project-dir", str(shop), *reg, "--format", "json")
    docs["registry"] = LocalRegistry(tmp_path / "registry")
    return docs


def test_the_json_of_a_whole_local_mesh_is_valid(registry_mesh: dict[str, Any]):
    for name, document in registry_mesh.items():
        if name != "registry":
            assert_schema_valid(document)
    assert registry_mesh["publish_unchanged"]["status"] == "unchanged"
    assert registry_mesh["publish_unchanged"]["history_key"] is None
    assert registry_mesh["consumer_down"]["keys"] == ["shop/prod/consumers/down.json"]
    assert registry_mesh["validate"]["ok"] is False  # the down manifest reads a column this contract dropped
    assert {f["code"] for p in registry_mesh["validate"]["projects"] for f in p["findings"]} >= {
        "column-missing",
        "stale-sync",
    }
    [entry] = registry_mesh["catalog"]["entries"]
    history = entry["history"]
    assert [(h["changes"], h["breaking"]) for h in history[:2]] == [(1, 1), (None, None)]
    assert history[-1]["problem"] == "metadata.json missing or corrupt"
    assert {c["downstream"]: c["problem"] is not None for c in entry["consumers"]} == {
        "down": False,
        "down_loom": False,
        "rogue": True,
    }
    assert registry_mesh["dispatch"]["repositories"] == [
        {"repository": "acme/down", "status": "dry-run", "error": None}
    ]
    assert registry_mesh["check"]["base"] is not None


def _publish_result(status: str = "published") -> PublishResult:
    models = [
        PublicModel(
            unique_id="model.shop.customers.v1",
            name="customers",
            version="1",
            latest_version="2",
            deprecation_date="2027-06-30",
            relation_name='"shop"."main"."customers_v1"',
        ),
        PublicModel(unique_id="model.shop.orders", name="orders"),
    ]
    history = "shop/prod/history/20250102T030405.678901Z/manifest.json"
    return PublishResult(
        status,
        "shop",
        "prod",
        "s3://bucket/registry",
        SHA,
        "contract",
        "20250102T030405.678901Z",
        "shop/prod/latest/manifest.json",
        history if status == "published" else None,
        models,
    )


def _sync_outcomes() -> list[SyncOutcome]:
    return [
        SyncOutcome(
            "shop",
            "prod",
            "/d/models/_mesh_shop.yml",
            "written",
            SHA,
            2,
            published=5,
            selection="used",
            unknown_tables=("gone",),
            notes=(),
        ),
        SyncOutcome(
            "crm",
            "dev",
            "/d/models/_mesh_crm.yml",
            "stale",
            SHA,
            4,
            published=4,
            selection="all",
            unknown_tables=(),
            notes=("every crm table is written: models/a.sql names a table by a variable",),
        ),
        SyncOutcome("erp", "prod", "/d/models/_mesh_erp.yml", "missing", SHA, 0),
        SyncOutcome("ads", "prod", "/d/models/_mesh_ads.yml", "up-to-date", SHA, 1),
        SyncOutcome("hr", "prod", "/d/models/_mesh_hr.yml", "unchanged", SHA, 1),
    ]


def _validate_report() -> ValidateReport:
    """Every finding code the schema lists, on dependencies of both kinds."""
    loom = Dependency(
        "shop", "prod", "model.shop.customers.v1", VIA_LOOM, ("model.down.a",), "model.shop.customers.v1", "1"
    )
    source = Dependency("shop", "prod", "source.down.shop.gone", VIA_SOURCE, ("model.down.b",), None, None)
    codes = schema("validate")["$defs"]["finding"]["properties"]["code"]["enum"]
    findings = [
        Finding(
            "error" if i % 2 else "warning",
            code,
            "down",
            f"{code} happened",
            "model.shop.orders",
            "models/_mesh_shop.yml" if i % 3 else None,
        )
        for i, code in enumerate(codes)
    ]
    return ValidateReport(
        env="prod",
        registry="/srv/registry",
        today="2027-07-01",
        projects=[
            ProjectReport("down", "/r/down/target/manifest.json", [loom, source], findings),
            ProjectReport("lonely", "/r/lonely/target/manifest.json"),
        ],
        skipped=["unbuilt"],
    )


def _check_report() -> CheckReport:
    impact = Impact("finance", VIA_LOOM, "model.shop.orders", ("model.finance.revenue",), False, 3, "acme/finance")
    change = Change(
        "column-removed",
        "breaking",
        "orders",
        "model.shop.orders",
        "column status of orders was removed",
        None,
        "varchar",
        None,
        ("status",),
        "models/orders.yml",
    )
    report = CheckReport(
        project="shop",
        env="prod",
        registry="/srv/registry",
        manifest="shop/target/manifest.json",
        today="2025-01-12",
        warn_only=False,
        consumer_max_age_days=30,
        base={
            "sha256": SHA,
            "history_id": "20250101T000000.000000Z",
            "published_at": "2025-01-01T00:00:00Z",
            "git_commit": None,
        },
    )
    report.assessed = [Assessed(change, (impact,))]
    report.consumers = [ConsumerStatus("rogue", "shop/prod/consumers/rogue.json", None, problem="not JSON")]
    return report


def _init_plan() -> InitPlan:
    return InitPlan(
        "orders_core",
        "both",
        "meshkit-dev/meshkit",
        "0123456789abcdef0123456789abcdef01234567",
        [PlannedFile("meshkit.yml", b"", status) for status in ("created", "updated", "unchanged", "kept")],
        ["dbt_loom.config.yml was edited by hand and kept"],
    )


def _dispatch_document(registry: LocalRegistry) -> str:
    payload = dispatch_payload(read_latest(registry, "shop", "prod"))
    return render.dispatch_json(
        "meshkit-upstream-published",
        payload,
        [
            {"repository": "acme/a", "status": "sent", "error": None},
            {"repository": "acme/b", "status": "failed", "error": "GitHub answered 404: check the repository name"},
            {"repository": "acme/c", "status": "dry-run", "error": None},
        ],
    )


def _trace(*, public: bool) -> Trace:
    target = Target("mid", "model.mid.revenue", "revenue", None, "amount", public)
    result = Trace(target, "prod", "registry", upstream=[("up.orders.amount", "mid.revenue.amount")])
    if public:
        result.unknown = ["mid.revenue.amount: its column lineage is not known"]
        hop = ("up.orders.amount", "mid.revenue.amount")
        result.downstream = (
            Impact("top", "dbt-loom", "model.mid.revenue", ("model.top.summary",), False, 0, "acme/top", (), hop),
        )
    else:
        result.upstream = []
        result.reads = [Read("up", "model.up.orders", "orders", ("amount",), "mesh-source"),
                        Read("up", "model.up.customers", "customers", None, "dbt-loom", "a Python model")]  # fmt: skip
    return result


def _constructed(registry: LocalRegistry) -> Iterator[tuple[str, str]]:
    """(label, JSON) of each output rendered by its reporter from a hand-made result."""
    yield "publish", render.render_publish(_publish_result(), "json")
    yield "publish unchanged", render.render_publish(_publish_result("unchanged"), "json")
    yield "sync", render.render_sync(_sync_outcomes(), "json")
    yield "sync --only elsewhere", render.render_sync([], "json", note="other@prod is not an upstream of this project")
    yield "validate", render.render_validate(_validate_report(), "json")
    yield "check", check_json(_check_report())
    yield "catalog", catalog_json(build_catalog(registry, today=NOW.date())).decode()
    yield "dispatch", _dispatch_document(registry)
    yield "lineage public", lineage_json(_trace(public=True))
    yield "lineage consumer", lineage_json(_trace(public=False))
    for action in ("created", "updated", "unchanged"):
        yield (
            f"comment {action}",
            render.comment_json(
                CommentResult(action, "acme/shop", 7, "<!-- meshkit:check:shop -->", 42, "https://github.com/c/42", 1)
            ),
        )
    yield (
        "comment skipped",
        render.comment_json(CommentResult("skipped", "acme/shop", 7, "<!-- meshkit:check:shop -->", None, None, 0)),
    )
    yield "init", render.init_json(_init_plan(), check=True)
    for action in ("opened", "updated", "unchanged", "closed"):
        yield (
            f"bump-pr {action}",
            render.bump_pr_json(
                BumpResult(
                    action, "acme/down", "meshkit/sync-shop-prod", "main", 12, "https://github.com/p/12", "a" * 40
                )
            ),
        )
    yield (
        "bump-pr up-to-date",
        render.bump_pr_json(BumpResult("up-to-date", "acme/down", "meshkit/sync-shop-prod", "main", None, None, None)),
    )


@pytest.fixture
def shop_registry(tmp_path: Path) -> LocalRegistry:
    registry = LocalRegistry(tmp_path / "registry")
    publish(
        PublishRequest(
            project_dir=_project(tmp_path, "shop", "manifest_shop.json"),
            project="shop",
            env="prod",
            git_commit="abc1234",
            now=NOW,
        ),
        registry,
    )
    return registry


def test_outputs_rendered_from_constructed_results_are_valid(shop_registry: LocalRegistry):
    seen = set()
    for label, text in _constructed(shop_registry):
        document = orjson.loads(text)
        assert document["schema"] == SCHEMAS[document["command"]], label
        assert not schema_errors(document), (label, schema_errors(document))
        seen.add(document["command"])
    assert seen == set(SCHEMAS)


# --- the schemas reject what they must ------------------------------------------------------------------------


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
    """(path, key, value) of every object member in the document, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def _wrong_type(value: Any) -> Any:
    """A value of another JSON type that no schema of that field allows."""
    if value is None:
        return {"unexpected": 1}
    if isinstance(value, (bool, int, dict, list)):
        return "unexpected"
    return 12345


def _richest(registry_mesh: dict[str, Any], registry: LocalRegistry) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    documents = [orjson.loads(text) for _, text in _constructed(registry)]
    documents += [registry_mesh[name] for name in ("publish", "consumer_down", "sync", "validate", "catalog", "check")]
    for document in documents:
        found.setdefault(document["command"], []).append(document)
    return found


def test_a_removed_field_or_a_wrong_type_anywhere_fails(registry_mesh: dict[str, Any]):
    """Every member of every output is required and typed by its schema (but the few OPTIONAL ones)."""
    for command, documents in _richest(registry_mesh, registry_mesh["registry"]).items():
        tried: set[tuple[Any, ...]] = set()
        for document in documents:
            for path, key, value in list(_leaves(document)):
                shape = (*(p if isinstance(p, str) else "*" for p in path), key, type(value).__name__)
                if shape in tried:
                    continue
                tried.add(shape)
                where = "/".join(map(str, (*path, key)))
                removed = copy.deepcopy(document)
                del _at(removed, path)[key]
                if (command, key) not in OPTIONAL:
                    assert schema_errors(removed, command), f"{command}: removing {where} passes"
                wrong = copy.deepcopy(document)
                _at(wrong, path)[key] = _wrong_type(value)
                assert schema_errors(wrong, command), f"{command}: {where} = {_wrong_type(value)!r} passes"
        assert len(tried) > 5, command


def test_another_version_an_unknown_code_and_a_bad_date_fail(shop_registry: LocalRegistry):
    documents: dict[str, dict[str, Any]] = {}
    for _, text in _constructed(shop_registry):  # the first of each command's documents: the fullest
        documents.setdefault(orjson.loads(text)["command"], orjson.loads(text))
    for command, document in documents.items():
        bumped = dict(document, schema=re.sub(r"/(\d+)$", lambda m: f"/{int(m.group(1)) + 1}", SCHEMAS[command]))
        assert schema_errors(bumped), command
        assert schema_errors(dict(document, command="other"), command), command
    validate = copy.deepcopy(documents["validate"])
    validate["projects"][0]["findings"][0]["code"] = "no-such-code"
    assert any("no-such-code" in e for e in schema_errors(validate))
    validate = dict(documents["validate"], today="01/07/2027")
    assert any("today" in e for e in schema_errors(validate))
    check = copy.deepcopy(documents["check"])
    check["changes"][0]["severity"] = "fatal"
    assert schema_errors(check)
    sync = copy.deepcopy(documents["sync"])
    sync["upstreams"][0]["sha256"] = "not a digest"
    assert schema_errors(sync)


def test_fields_added_within_a_version_are_accepted(shop_registry: LocalRegistry):
    """Forward compatibility: consumers of /1 must accept the fields a later meshkit adds within /1."""
    for _, text in _constructed(shop_registry):
        document = orjson.loads(text)
        document["added_later"] = {"anything": [1, "two"]}
        for _, _, value in list(_leaves(document)):
            if isinstance(value, list) and value and isinstance(value[0], dict):
                value[0]["added_later"] = True
        assert not schema_errors(document), schema_errors(document)


def test_a_consumer_publish_and_a_contract_publish_are_told_apart():
    published = orjson.loads(render.render_publish(_publish_result(), "json"))
    consumer = {
        "meshkit_version": "0",
        "command": "publish",
        "schema": "meshkit-publish/1",
        "consumer": "down",
        "env": "prod",
        "registry": "r",
        "keys": ["shop/prod/consumers/down.json"],
        "uses": 2,
    }
    assert not schema_errors(published) and not schema_errors(consumer)
    assert schema_errors({**consumer, "uses": -1})
    assert schema_errors({k: v for k, v in published.items() if k != "public_models"})
