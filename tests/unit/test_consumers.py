"""Unit tests for meshkit.mesh.consumers: records built from validate, written to and read back from a local registry.

Consumer records are written by other teams, so reading one is parsing untrusted input:
every malformed record must come back as an unreadable status with a reason, never raise.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from meshkit import __version__
from meshkit.contract.manifest import Manifest, parse_manifest
from meshkit.errors import UnsafeNameError
from meshkit.lineage.graph import NO_CODE
from meshkit.mesh.consumers import (
    CONSUMER_FORMAT,
    ConsumerRecord,
    ConsumerStatus,
    Reader,
    Use,
    parse_record,
    read_consumers,
)
from meshkit.mesh.publish import PublishRequest, publish
from meshkit.mesh.recording import build_records, record_consumers, write_records
from meshkit.mesh.validate import ContractCache, validate_loaded
from meshkit.registry import layout
from meshkit.registry.local import LocalRegistry
from support.nodes import manifest_of

DATA = Path(__file__).parents[1] / "data"
TODAY = date(2025, 1, 15)
NOW = datetime(2025, 1, 10, 8, 30, tzinfo=timezone.utc)
KEY = "shop/prod/consumers/down_loom.json"
NOT_A_RECORD = "not a meshkit-consumer/2 (or meshkit-consumer/1) record"


def _published(tmp_path: Path) -> tuple[LocalRegistry, str]:
    """The `shop` test contract published to prod in a registry under tmp_path."""
    project = tmp_path / "shop"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "target" / "manifest.json").write_bytes((DATA / "manifest_shop.json").read_bytes())
    registry = LocalRegistry(tmp_path / "reg")
    request = PublishRequest(
        project_dir=project, project="shop", env="prod", git_commit=None, now=datetime(2025, 1, 1, tzinfo=timezone.utc)
    )
    return registry, publish(request, registry).sha256


def _inject(data: dict, uid: str, consumer: str, **extra: Any) -> None:
    """Add an upstream node the way dbt-loom injects it (no file paths) and make `consumer` read it."""
    parts = uid.split(".")
    node = {
        "unique_id": uid,
        "name": parts[2],
        "resource_type": "model",
        "package_name": parts[1],
        "original_file_path": "",
        "path": "",
        "access": "public",
        **extra,
    }
    data["nodes"][uid] = node
    data["parent_map"].setdefault(consumer, []).append(uid)


def _loom_manifest() -> Manifest:
    return manifest_of(_loom_data(), "down_loom/target/manifest.json")


def _loom_data() -> dict[str, Any]:
    """down_loom reads orders, customers unpinned (so v2, the latest) and, from another model, customers v1 pinned."""
    data = orjson.loads((DATA / "manifest_down_loom.json").read_bytes())
    reader = data["nodes"]["model.down_loom.customer_orders"]
    reader["refs"] = [
        {"name": "orders", "package": "shop", "version": None},
        {"name": "customers", "package": "shop", "version": None},
    ]
    data["nodes"]["model.down_loom.legacy"] = {
        "unique_id": "model.down_loom.legacy",
        "name": "legacy",
        "resource_type": "model",
        "package_name": "down_loom",
        "original_file_path": "models/legacy.sql",
        "path": "legacy.sql",
        "refs": [{"name": "customers", "package": "shop", "version": 1}],
    }
    _inject(
        data,
        "model.shop.customers.v2",
        "model.down_loom.customer_orders",
        name="customers",
        version=2,
        latest_version=2,
    )
    _inject(data, "model.shop.customers.v1", "model.down_loom.legacy", name="customers", version=1, latest_version=2)
    return data


def _built(tmp_path: Path) -> tuple[LocalRegistry, str, list[ConsumerRecord]]:
    registry, sha = _published(tmp_path)
    manifest = _loom_manifest()
    contracts = ContractCache(registry)
    report = validate_loaded([manifest], contracts=contracts, env="prod", today=TODAY)
    assert report.errors == []
    return registry, sha, build_records(report.projects[0], manifest, contracts, git_commit="c0ffee", now=NOW)


def _record(**overrides: Any) -> dict[str, Any]:
    """A valid record document for KEY, with fields overridden."""
    document = {
        "format": CONSUMER_FORMAT,
        "meshkit_version": __version__,
        "downstream": "down_loom",
        "upstream": "shop",
        "env": "prod",
        "recorded_at": "2025-01-10T08:30:00Z",
        "git_commit": "c0ffee",
        "contract_sha256": "ab" * 32,
        "uses": [
            {
                "unique_id": "model.shop.orders",
                "model": "orders",
                "version": None,
                "pinned": True,
                "via": "dbt-loom",
                "node": "model.shop.orders",
                "columns": None,
                "downstream_models": ["model.down_loom.customer_orders"],
                "readers": [{"model": "model.down_loom.customer_orders", "columns": ["order_id"]}],
            }
        ],
        "analyses": {},
    }
    document.update(overrides)
    return document


def _use(**overrides: Any) -> dict[str, Any]:
    return {**_record()["uses"][0], **overrides}


def _uncompiled(model: str) -> tuple[Reader, ...]:
    """The reader lineage makes of a model whose manifest holds no compiled SQL (these fixtures were only parsed)."""
    return (Reader(model, None, True, [], NO_CODE),)


def _read(registry: LocalRegistry, *, today: date = TODAY, max_age_days: int = 30) -> list[ConsumerStatus]:
    return read_consumers(registry, "shop", "prod", today=today, max_age_days=max_age_days).statuses


# --- building records from validate --------------------------------------------------------------------


def test_build_records_from_a_validated_loom_project(tmp_path):
    _, sha, records = _built(tmp_path)
    assert records == [
        ConsumerRecord(
            downstream="down_loom",
            upstream="shop",
            env="prod",
            recorded_at="2025-01-10T08:30:00Z",
            git_commit="c0ffee",
            contract_sha256=sha,
            uses=(
                Use(
                    "model.shop.customers.v1",
                    "customers",
                    "1",
                    True,
                    "dbt-loom",
                    "model.shop.customers.v1",
                    None,
                    ("model.down_loom.legacy",),
                    _uncompiled("model.down_loom.legacy"),
                ),
                Use(
                    "model.shop.customers.v2",
                    "customers",
                    "2",
                    False,
                    "dbt-loom",
                    "model.shop.customers.v2",
                    None,
                    ("model.down_loom.customer_orders",),
                    _uncompiled("model.down_loom.customer_orders"),
                ),
                Use(
                    "model.shop.orders",
                    "orders",
                    None,
                    True,
                    "dbt-loom",
                    "model.shop.orders",
                    None,
                    ("model.down_loom.customer_orders",),
                    _uncompiled("model.down_loom.customer_orders"),
                ),
            ),
        )
    ]


def test_build_records_for_mesh_sources_declare_columns(tmp_path):
    registry, sha = _published(tmp_path)
    data = orjson.loads((DATA / "manifest_down_sources.json").read_bytes().replace(b"SHA_PLACEHOLDER", sha.encode()))
    manifest = manifest_of(data, "down/target/manifest.json")
    contracts = ContractCache(registry)
    report = validate_loaded([manifest], contracts=contracts, env="prod", today=TODAY)
    [record] = build_records(report.projects[0], manifest, contracts, git_commit=None, now=NOW)
    assert (record.downstream, record.upstream, record.env, record.git_commit) == ("down", "shop", "prod", None)
    assert record.uses == (
        Use(
            "model.shop.orders",
            "orders",
            None,
            True,
            "mesh-source",
            "source.down.shop.orders",
            ("amount", "order_id", "status"),
            ("model.down.orders_by_status",),
            _uncompiled("model.down.orders_by_status"),
        ),
    )


def test_unresolved_dependencies_are_not_recorded(tmp_path):
    registry, _ = _published(tmp_path)
    data = _loom_data()
    _inject(data, "model.shop.stg_orders", "model.down_loom.customer_orders", access="protected")
    manifest = manifest_of(data, "down_loom/target/manifest.json")
    contracts = ContractCache(registry)
    report = validate_loaded([manifest], contracts=contracts, env="prod", today=TODAY)
    assert [f.code for f in report.errors] == ["not-public"]
    [record] = build_records(report.projects[0], manifest, contracts, git_commit=None, now=NOW)
    assert "model.shop.stg_orders" not in {use.unique_id for use in record.uses}


# --- round trip --------------------------------------------------------------------------------------


def test_record_round_trip_through_a_local_registry(tmp_path):
    registry, _, records = _built(tmp_path)
    assert write_records(registry, "down_loom", "prod", records, now=NOW, git_commit="c0ffee") == [KEY]
    document = orjson.loads((tmp_path / "reg" / KEY).read_bytes())
    assert (document["format"], document["meshkit_version"], document["downstream"]) == (
        CONSUMER_FORMAT,
        __version__,
        "down_loom",
    )
    assert document == records[0].as_dict()
    [status] = _read(registry)
    assert status == ConsumerStatus("down_loom", KEY, records[0], age_days=5, stale=False, problem=None)


def test_record_consumers_writes_every_validated_project(tmp_path):
    registry, sha = _published(tmp_path)
    loom = _loom_manifest()
    sources = parse_manifest(
        (DATA / "manifest_down_sources.json").read_bytes().replace(b"SHA_PLACEHOLDER", sha.encode()), "down"
    )
    contracts = ContractCache(registry)
    report = validate_loaded([loom, sources], contracts=contracts, env="prod", today=TODAY)
    written = record_consumers(registry, report, [loom, sources], contracts, now=NOW, git_commit="c0ffee")
    assert written == [KEY, "shop/prod/consumers/down.json"]
    index = read_consumers(registry, "shop", "prod", today=TODAY, max_age_days=30)
    assert [(s.downstream, len(s.record.uses)) for s in index.trusted] == [("down", 1), ("down_loom", 3)]


def test_write_records_empties_an_upstream_no_longer_consumed(tmp_path):
    registry, _, records = _built(tmp_path)
    old = _record(upstream="billing", uses=[_use(unique_id="model.billing.invoices", model="invoices")])
    registry.put("billing/prod/consumers/down_loom.json", orjson.dumps(old))
    untouched = {
        "billing/staging/consumers/down_loom.json": orjson.dumps(_record(upstream="billing", env="staging")),
        "billing/prod/consumers/someone_else.json": orjson.dumps(
            _record(upstream="billing", downstream="someone_else")
        ),
    }
    for key, blob in untouched.items():
        registry.put(key, blob)
    later = NOW + timedelta(days=1)
    written = write_records(registry, "down_loom", "prod", records, now=later, git_commit="beef")
    assert written == [KEY, "billing/prod/consumers/down_loom.json"]
    [status] = read_consumers(registry, "billing", "prod", today=TODAY, max_age_days=30).trusted[:1]
    assert status.record == ConsumerRecord("down_loom", "billing", "prod", "2025-01-11T08:30:00Z", "beef", None, ())
    for key, blob in untouched.items():
        assert registry.get(key).data == blob


def test_write_records_refuses_an_unsafe_downstream(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    with pytest.raises(UnsafeNameError):
        write_records(registry, "../evil", "prod", [], now=NOW, git_commit=None)
    with pytest.raises(UnsafeNameError):
        write_records(registry, "down", "prod/../x", [], now=NOW, git_commit=None)
    assert registry.list("") == []


# --- untrusted input -----------------------------------------------------------------------------------

GARBAGE = [
    pytest.param(b"{not json", "not JSON", id="not-json"),
    pytest.param(b"\xff\xfe\x00", "not JSON", id="not-utf8"),
    pytest.param(b"", "not JSON", id="empty"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "nests JSON deeper than meshkit reads (about 1,000 levels)", id="too-deep"),
    pytest.param(b"[]", NOT_A_RECORD, id="array"),
    pytest.param(b'"a string"', NOT_A_RECORD, id="string"),
    pytest.param(orjson.dumps(_record(format="meshkit-consumer/3")), NOT_A_RECORD, id="format"),
    pytest.param(
        orjson.dumps({k: v for k, v in _record().items() if k != "format"}),
        NOT_A_RECORD,
        id="no-format",
    ),
    pytest.param(
        orjson.dumps(_record(downstream="someone_else")),
        "its downstream, upstream or env does not match its key",
        id="downstream-mismatch",
    ),
    pytest.param(
        orjson.dumps(_record(upstream="billing")),
        "its downstream, upstream or env does not match its key",
        id="upstream-mismatch",
    ),
    pytest.param(
        orjson.dumps(_record(env="staging")),
        "its downstream, upstream or env does not match its key",
        id="env-mismatch",
    ),
    pytest.param(orjson.dumps(_record(recorded_at=20250110)), "recorded_at is missing", id="recorded-at-int"),
    pytest.param(
        orjson.dumps({k: v for k, v in _record().items() if k != "recorded_at"}),
        "recorded_at is missing",
        id="recorded-at-missing",
    ),
    pytest.param(orjson.dumps(_record(uses="everything")), "uses is not a list", id="uses-string"),
    pytest.param(orjson.dumps(_record(uses=None)), "uses is not a list", id="uses-null"),
    pytest.param(orjson.dumps(_record(uses=[1])), "a use is not an object", id="use-int"),
    pytest.param(
        orjson.dumps(_record(uses=[_use(node=None)])), "a use lacks unique_id, model, via or node", id="use-no-node"
    ),
    pytest.param(
        orjson.dumps(_record(uses=[_use(unique_id=["model.shop.orders"])])),
        "a use lacks unique_id, model, via or node",
        id="use-list-id",
    ),
    pytest.param(
        orjson.dumps(_record(uses=[_use(via="carrier-pigeon")])),
        "a use lacks unique_id, model, via or node",
        id="use-bad-via",
    ),
    pytest.param(
        orjson.dumps(_record(uses=[_use(downstream_models="model.down_loom.x")])),
        "downstream_models is not a list of names",
        id="downstream-models-string",
    ),
    pytest.param(
        orjson.dumps(_record(uses=[_use(downstream_models=[1, 2])])),
        "downstream_models is not a list of names",
        id="downstream-models-ints",
    ),
    pytest.param(
        orjson.dumps(_record(uses=[_use(columns=[None])])), "columns is not a list of names", id="columns-null-item"
    ),
    pytest.param(
        orjson.dumps(_record(uses=[_use(columns="id")])), "columns is not a list of names", id="columns-string"
    ),
]


@pytest.mark.parametrize("blob, reason", GARBAGE)
def test_parse_record_rejects_garbage_with_a_reason(blob, reason):
    with pytest.raises(ValueError) as raised:
        parse_record(blob, downstream="down_loom", upstream="shop", env="prod")
    assert str(raised.value) == reason


@pytest.mark.parametrize("blob, reason", GARBAGE)
def test_garbage_record_is_reported_unreadable_not_raised(tmp_path, blob, reason):
    registry = LocalRegistry(tmp_path / "reg")
    registry.put(KEY, blob)
    index = read_consumers(registry, "shop", "prod", today=TODAY, max_age_days=30)
    assert index.statuses == [ConsumerStatus("down_loom", KEY, None, problem=reason)]
    assert index.trusted == []


def test_recorded_at_that_is_not_a_timestamp_is_unreadable(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    registry.put(KEY, orjson.dumps(_record(recorded_at="last tuesday")))
    assert _read(registry) == [ConsumerStatus("down_loom", KEY, None, problem="recorded_at is not a timestamp")]


_ODD_VALUES = [None, 0, -1, 1.5, True, "", "x", [], {}, [1], [None], {"a": 1}, "9" * 400]


def test_any_field_of_any_type_parses_or_is_rejected_with_value_error(tmp_path):
    """Mutate every field of a record and of its use to every JSON type: nothing but ValueError may escape."""
    registry = LocalRegistry(tmp_path / "reg")
    documents = []
    for key in _record():
        documents += [_record(**{key: value}) for value in _ODD_VALUES]
    for key in _use():
        documents += [_record(uses=[_use(**{key: value})]) for value in _ODD_VALUES]
    for document in documents:
        blob = orjson.dumps(document)
        try:
            record = parse_record(blob, downstream="down_loom", upstream="shop", env="prod")
        except ValueError:
            continue
        assert isinstance(record, ConsumerRecord)
        assert all(isinstance(use.unique_id, str) and isinstance(use.node, str) for use in record.uses)
        registry.put(KEY, blob)
        [status] = _read(registry)  # and the index never raises either
        assert status.downstream == "down_loom"


def test_optional_fields_of_the_wrong_type_are_dropped():
    record = parse_record(
        orjson.dumps(_record(git_commit=7, contract_sha256={"x": 1})),
        downstream="down_loom",
        upstream="shop",
        env="prod",
    )
    assert (record.git_commit, record.contract_sha256) == (None, None)


# --- staleness -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("days_ago, stale", [(0, False), (29, False), (30, False), (31, True), (400, True)])
def test_staleness_by_age(tmp_path, days_ago, stale):
    registry = LocalRegistry(tmp_path / "reg")
    recorded = datetime(2025, 1, 15, 23, 59, tzinfo=timezone.utc) - timedelta(days=days_ago)
    registry.put(KEY, orjson.dumps(_record(recorded_at=recorded.isoformat().replace("+00:00", "Z"))))
    [status] = _read(registry, max_age_days=30)
    assert (status.age_days, status.stale, status.problem) == (days_ago, stale, None)
    assert status.record is not None  # stale records are still used, and flagged


def test_staleness_uses_the_given_limit(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    registry.put(KEY, orjson.dumps(_record(recorded_at="2025-01-10T08:30:00Z")))
    assert _read(registry, max_age_days=4)[0].stale is True
    assert _read(registry, max_age_days=5)[0].stale is False


# --- keys under consumers/ -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bad-name", "1starts_with_digit", "x" * 129, "dot.ted"])
def test_unsafe_file_name_under_consumers_is_not_trusted(tmp_path, name):
    registry = LocalRegistry(tmp_path / "reg")
    key = f"shop/prod/consumers/{name}.json"
    registry.put(key, orjson.dumps(_record(downstream=name)))
    index = read_consumers(registry, "shop", "prod", today=TODAY, max_age_days=30)
    assert index.statuses == [ConsumerStatus(name, key, None, problem="unsafe downstream name in key")]
    assert index.trusted == []


def test_other_files_under_consumers_are_ignored(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    registry.put(KEY, orjson.dumps(_record()))
    for key in (
        "shop/prod/consumers/nested/down.json",
        "shop/prod/consumers/readme.txt",
        "shop/prod/consumers/.hidden.json",
        "shop/staging/consumers/down_loom.json",
        "shop/prod/latest/manifest.json",
    ):
        registry.put(key, b"whatever")
    assert [s.key for s in _read(registry)] == [KEY]


def test_no_consumers_folder_is_an_empty_index(tmp_path):
    index = read_consumers(LocalRegistry(tmp_path / "reg"), "shop", "prod", today=TODAY, max_age_days=30)
    assert (index.upstream, index.env, index.max_age_days, index.statuses) == ("shop", "prod", 30, [])


# --- regressions: bugs these tests found in meshkit/consumers.py -----------------------------------------


def test_write_records_skips_upstream_folders_that_are_not_project_names(tmp_path):
    """write_records used to filter foreign upstream folders with is_safe_identifier
    (a SQL identifier: allows `$`, up to 255 characters), then builds the key with check_project
    (no `$`, up to 128). A folder such as `up$x/prod/consumers/down.json` in a shared registry
    therefore made `meshkit validate --record-consumer` crash with UnsafeNameError instead of
    skipping it."""
    registry, _, records = _built(tmp_path)
    registry.put("up$x/prod/consumers/down_loom.json", orjson.dumps(_record(upstream="up$x")))
    try:
        written = write_records(registry, "down_loom", "prod", records, now=NOW, git_commit=None)
    except UnsafeNameError as crash:
        pytest.fail(f"write_records crashed on a foreign registry folder instead of skipping it: {crash}")
    assert written == [KEY]


def test_a_record_from_the_future_is_not_trusted(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    future = _record(recorded_at="2099-01-01T00:00:00Z")
    registry.put(layout.consumer_key(future["upstream"], future["env"], future["downstream"]), orjson.dumps(future))
    [status] = read_consumers(
        registry, future["upstream"], future["env"], today=date(2025, 1, 1), max_age_days=30
    ).statuses
    assert (status.record, status.problem) == (None, "recorded_at is in the future")


def test_pinned_and_unpinned_readers_of_one_version_are_two_uses(tmp_path):
    """A latest_version move must name only the models that follow latest, not the ones pinning v2."""
    registry, _ = _published(tmp_path)
    data = _loom_data()
    data["nodes"]["model.down_loom.pinned_v2"] = {
        "unique_id": "model.down_loom.pinned_v2",
        "name": "pinned_v2",
        "resource_type": "model",
        "package_name": "down_loom",
        "original_file_path": "models/pinned_v2.sql",
        "path": "pinned_v2.sql",
        "refs": [{"name": "customers", "package": "shop", "version": 2}],
    }
    data["parent_map"]["model.down_loom.pinned_v2"] = ["model.shop.customers.v2"]
    manifest = manifest_of(data, "down_loom/target/manifest.json")
    contracts = ContractCache(registry)
    report = validate_loaded([manifest], contracts=contracts, env="prod", today=TODAY)
    [record] = build_records(report.projects[0], manifest, contracts, git_commit=None, now=NOW)
    v2 = [(u.pinned, u.downstream_models) for u in record.uses if u.unique_id == "model.shop.customers.v2"]
    assert v2 == [(False, ("model.down_loom.customer_orders",)), (True, ("model.down_loom.pinned_v2",))]
