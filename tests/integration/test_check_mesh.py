"""meshkit check against real dbt rebuilds of dbt_up, with the demo's downstreams recorded as consumers.

Each test edits dbt_up in its own copy of the built mesh, rebuilds only what changed
with ONE dbt invocation (the manifest is still written for the whole project), and
checks the new build against the contract the seed published. Consumers are recorded
first with the real CLI, so impacts come from what dbt_down (mesh sources) and
dbt_down_loom (dbt-loom refs, one unpinned and one pinned to v1) really read.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from support.dbt_edits import PublicModels, add_select_column, drop_select_column, retype_select_column
from support.helpers import REPO, clean_env, dbt, meshkit

pytestmark = pytest.mark.dbt

CHECK_SCHEMA = json.loads((REPO / "meshkit/schemas/check.schema.json").read_text())
CONSUMERS = Path("registry/dbt_up/prod/consumers")
COMMIT = "c0ffee0000000000000000000000000000000001"
MARKER = "<!-- meshkit:check:dbt_up -->"
YML = "models/marts/_public.yml"
# The consumer records are written with today's clock; pin a wide max age wherever --today is far from it.
NEVER_STALE = ("--consumer-max-age-days", "36500")

# Who reads what in the demo, as the recorded impacts name them (downstream -> models).
ORDERS_READERS = {
    "dbt_down": ["customer_lifetime_value", "orders_by_status"],
    "dbt_down_loom": ["loom_customer_orders", "loom_orders_by_status"],
}
# Column-level: the models whose SQL reads public_orders.status (a group by, a filter), and none reads payment_count.
STATUS_READERS = {
    "dbt_down": ["customer_lifetime_value", "orders_by_status"],
    "dbt_down_loom": ["loom_orders_by_status"],
}
STATUS_IMPACT_CELL = (
    r"dbt\_down: customer\_lifetime\_value, orders\_by\_status; dbt\_down\_loom: loom\_orders\_by\_status"
)
V1_READERS = {"dbt_down": ["legacy_customer_names"], "dbt_down_loom": ["loom_legacy_customers"]}
V2_READERS = {"dbt_down": ["customer_lifetime_value"], "dbt_down_loom": ["loom_customer_orders"]}
ORDERS_IMPACT_CELL = (
    r"dbt\_down: customer\_lifetime\_value, orders\_by\_status; "
    r"dbt\_down\_loom: loom\_customer\_orders, loom\_orders\_by\_status"
)
BREAKING_BOTH = r"breaking dbt\_down, dbt\_down\_loom"
OK_HEADING = r"### ✅ meshkit check: no breaking changes to dbt\_up's public contract"


def failed_heading(count: str, reach: str = BREAKING_BOTH) -> str:
    """The markdown verdict for `count` breaking changes (e.g. "1 breaking change") reaching `reach`."""
    return rf"### ❌ meshkit check: {count} to dbt\_up's public contract, {reach}"


CONSUMING_MODELS = ["customer_lifetime_value", "legacy_customer_names", "orders_by_status"]  # dbt_down's

# --- running things -------------------------------------------------------------------------------------------


@pytest.fixture
def up(mesh: Path) -> Path:
    """The private mesh copy, with both downstreams recorded as consumers of dbt_up by the real CLI."""
    result = meshkit(
        "validate", "--all", "--registry", "registry", "--record-consumer", "--git-commit", COMMIT, cwd=mesh
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (mesh / CONSUMERS).iterdir()) == ["dbt_down.json", "dbt_down_loom.json"]
    return mesh


def edit(mesh: Path) -> PublicModels:
    return PublicModels(mesh / "dbt_up")


def rebuild(mesh: Path, *args: str) -> None:
    """The scenario's one dbt invocation in dbt_up."""
    result = dbt(mesh / "dbt_up", *args)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def check(mesh: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = meshkit("check", "--project-dir", "dbt_up", "--registry", "registry", *args, cwd=mesh, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def check_json(mesh: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Exit code and report, the report validated against the published JSON schema."""
    result = check(mesh, "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(
        report,
        CHECK_SCHEMA,
        cls=jsonschema.Draft202012Validator,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    assert report["exit_code"] == result.returncode
    assert report["ok"] is (report["summary"]["breaking"] == 0)
    return result.returncode, report


def check_markdown(mesh: Path, *args: str) -> tuple[int, str]:
    result = check(mesh, "--format", "markdown", *args)
    assert result.stdout.startswith(MARKER + "\n"), result.stdout[:200]
    return result.returncode, result.stdout


# --- reading reports ------------------------------------------------------------------------------------------


def classified(report: dict[str, Any]) -> list[tuple[str, str, bool, str, str | None, list[str]]]:
    return [
        (c["code"], c["severity"], c["breaking"], c["model"], c["version"], c["columns"]) for c in report["changes"]
    ]


def only_change(report: dict[str, Any], code: str) -> dict[str, Any]:
    found = [c for c in report["changes"] if c["code"] == code]
    assert len(found) == 1, classified(report)
    return found[0]


def impacted(change: dict[str, Any]) -> dict[str, list[str]]:
    """downstream -> the short names of its models the change reaches."""
    reach: dict[str, set[str]] = {}
    for impact in change["impacts"]:
        reach.setdefault(impact["downstream"], set()).update(m.split(".")[-1] for m in impact["models"])
    return {downstream: sorted(models) for downstream, models in reach.items()}


def vias(change: dict[str, Any]) -> dict[str, str]:
    return {i["downstream"]: i["via"] for i in change["impacts"]}


def table_rows(markdown: str) -> list[str]:
    lines = markdown.splitlines()
    header = lines.index("| model | change | before → after | breaking? | affected consumers |")
    rows = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def heading(markdown: str) -> str:
    return markdown.splitlines()[1]


# --- 1. a dropped column ---------------------------------------------------------------------------------------


def test_dropped_column_breaks_the_models_that_read_it(up: Path) -> None:
    models = edit(up)
    models.drop_column("public_orders", "status")
    models.save()
    drop_select_column(up / "dbt_up", "public_orders", "status")
    rebuild(up, "run", "--select", "public_orders")

    code, report = check_json(up)
    assert code == 1
    assert classified(report) == [("column-removed", "breaking", True, "public_orders", None, ["status"])]
    change = report["changes"][0]
    assert change["before"] == "varchar" and change["after"] is None
    assert change["file"] == YML and change["unique_id"] == "model.dbt_up.public_orders"
    assert change["message"] == "column status of public_orders was removed"
    assert impacted(change) == STATUS_READERS
    assert vias(change) == {"dbt_down": "mesh-source", "dbt_down_loom": "dbt-loom"}
    assert not any(i["stale"] for i in change["impacts"])
    assert report["summary"] == {
        "breaking": 1,
        "planned_removals": 0,
        "warnings": 0,
        "info": 0,
        "consumers": 2,
        "stale_consumers": 0,
        "unreadable_consumers": 0,
        "broken_downstreams": ["dbt_down", "dbt_down_loom"],
    }
    assert {c["downstream"]: c["git_commit"] for c in report["consumers"]} == {
        "dbt_down": COMMIT,
        "dbt_down_loom": COMMIT,
    }

    md_code, markdown = check_markdown(up)
    assert md_code == 1
    assert heading(markdown) == failed_heading("1 breaking change")
    assert table_rows(markdown) == [
        rf"| **public\_orders** | column-removed: `status` | `varchar` → — | ❌ yes | {STATUS_IMPACT_CELL} |",
    ]

    text = check(up)
    assert text.returncode == 1
    assert "BREAKING [column-removed] column status of public_orders was removed" in text.stdout
    assert text.stdout.rstrip().endswith(
        "FAILED: 1 breaking change to dbt_up's public contract, breaking dbt_down, dbt_down_loom"
    )


# --- 2. column types -------------------------------------------------------------------------------------------


def test_changed_column_type_is_breaking(up: Path) -> None:
    models = edit(up)
    models.column("public_orders", "payment_count")["data_type"] = "bigint"
    models.save()
    retype_select_column(up / "dbt_up", "public_orders", "payment_count", "bigint")
    rebuild(up, "run", "--select", "public_orders")

    code, report = check_json(up)
    assert code == 1
    assert classified(report) == [("type-changed", "breaking", True, "public_orders", None, ["payment_count"])]
    change = report["changes"][0]
    assert (change["before"], change["after"]) == ("integer", "bigint")
    assert change["impacts"] == []  # no consumer's SQL reads payment_count: still breaking, but it breaks nobody
    assert report["summary"]["broken_downstreams"] == []

    md_code, markdown = check_markdown(up)
    assert md_code == 1
    assert heading(markdown).startswith("### ❌ meshkit check: 1 breaking change")
    assert table_rows(markdown) == [
        r"| **public\_orders** | type-changed: `payment_count` | `integer` → `bigint` | ❌ yes | no consumer reads it |",
    ]


def test_respelled_column_type_is_not_breaking(up: Path) -> None:
    models = edit(up)
    models.column("public_orders", "payment_count")["data_type"] = "int"
    models.save()
    retype_select_column(up / "dbt_up", "public_orders", "payment_count", "int")
    rebuild(up, "run", "--select", "public_orders")

    code, report = check_json(up)
    assert code == 0
    assert classified(report) == [("type-respelled", "info", False, "public_orders", None, ["payment_count"])]
    assert (report["changes"][0]["before"], report["changes"][0]["after"]) == ("integer", "int")
    assert report["summary"]["breaking"] == 0 and report["summary"]["broken_downstreams"] == []

    md_code, markdown = check_markdown(up)
    assert md_code == 0
    assert heading(markdown) == OK_HEADING
    assert len(table_rows(markdown)) == 1
    assert table_rows(markdown)[0].startswith(
        r"| **public\_orders** | type-respelled: `payment_count` | `integer` → `int` | no |"
    )


# --- 3. access lowered -----------------------------------------------------------------------------------------


def test_lowered_access_is_breaking(up: Path) -> None:
    models = edit(up)
    models.config("public_orders")["access"] = "protected"
    models.config("public_payments")["access"] = "private"  # in group finance; nobody downstream reads it
    models.save()
    rebuild(up, "run", "--select", "public_orders", "public_payments")

    code, report = check_json(up)
    assert code == 1
    assert classified(report) == [
        ("access-lowered", "breaking", True, "public_orders", None, []),
        ("access-lowered", "breaking", True, "public_payments", None, []),
    ]
    orders, payments = report["changes"]
    assert (orders["before"], orders["after"]) == ("public", "protected")
    assert (payments["before"], payments["after"]) == ("public", "private")
    assert impacted(orders) == ORDERS_READERS
    assert payments["impacts"] == []
    assert report["summary"]["broken_downstreams"] == ["dbt_down", "dbt_down_loom"]

    md_code, markdown = check_markdown(up)
    assert md_code == 1
    assert heading(markdown) == failed_heading("2 breaking changes")
    assert table_rows(markdown) == [
        rf"| **public\_orders** | access-lowered | `public` → `protected` | ❌ yes | {ORDERS_IMPACT_CELL} |",
        r"| **public\_payments** | access-lowered | `public` → `private` | ❌ yes | no consumer reads it |",
    ]


# --- 4. a public model deleted ---------------------------------------------------------------------------------


def test_deleted_model_is_breaking(up: Path) -> None:
    models = edit(up)
    models.drop_data_tests_to("public_payments", "public_orders")  # its relationships test would not parse
    models.drop_model("public_orders")
    models.save()
    rebuild(up, "parse")  # nothing left to select: parsing writes the manifest

    code, report = check_json(up)
    assert code == 1
    assert classified(report) == [("model-removed", "breaking", True, "public_orders", None, [])]
    change = report["changes"][0]
    assert (change["before"], change["after"]) == ("public_orders", None)
    assert impacted(change) == ORDERS_READERS

    md_code, markdown = check_markdown(up)
    assert md_code == 1
    assert heading(markdown) == failed_heading("1 breaking change")
    assert table_rows(markdown) == [
        rf"| **public\_orders** | model-removed | `public_orders` → — | ❌ yes | {ORDERS_IMPACT_CELL} |",
    ]


# --- 5. a deprecated version deleted, before and after its deprecation date --------------------------------------


def test_deleted_version_is_breaking_before_its_deprecation_date_and_planned_after(up: Path) -> None:
    models = edit(up)
    models.drop_version("public_customers", 1)
    models.save()
    rebuild(up, "parse")

    code, before = check_json(up, "--today", "2027-06-29", *NEVER_STALE)
    assert code == 1
    assert classified(before) == [("version-removed", "breaking", True, "public_customers", "1", [])]
    assert before["changes"][0]["message"] == "public_customers v1 was removed before its deprecation date 2027-06-30"
    assert impacted(before["changes"][0]) == V1_READERS
    md_code, markdown = check_markdown(up, "--today", "2027-06-29", *NEVER_STALE)
    assert md_code == 1
    assert heading(markdown) == failed_heading("1 breaking change")
    assert table_rows(markdown) == [
        r"| **public\_customers** | version-removed (v1) | `public_customers v1` → — | ❌ yes | "
        r"dbt\_down: legacy\_customer\_names; dbt\_down\_loom: loom\_legacy\_customers |",
    ]
    assert "#### Planned removals" not in markdown

    code, after = check_json(up, "--today", "2027-07-01", *NEVER_STALE)
    assert code == 0
    assert classified(after) == [("version-removed", "planned-removal", False, "public_customers", "1", [])]
    assert after["changes"][0]["message"] == "public_customers v1 was removed (deprecated since 2027-06-30)"
    assert impacted(after["changes"][0]) == V1_READERS  # still listed: they must migrate
    assert after["summary"]["planned_removals"] == 1 and after["summary"]["broken_downstreams"] == []
    md_code, markdown = check_markdown(up, "--today", "2027-07-01", *NEVER_STALE)
    assert md_code == 0
    assert heading(markdown) == OK_HEADING
    assert table_rows(markdown) == [
        r"| **public\_customers** | version-removed (v1) | `public_customers v1` → — | 🗓️ planned | "
        r"dbt\_down: legacy\_customer\_names; dbt\_down\_loom: loom\_legacy\_customers |",
    ]
    planned = markdown.split("#### Planned removals\n", 1)[1]
    assert planned.lstrip().startswith(
        r"- public\_customers v1 was removed (deprecated since 2027-06-30): still read by "
        r"dbt\_down: legacy\_customer\_names; dbt\_down\_loom: loom\_legacy\_customers"
    )


# --- 6. a column added -----------------------------------------------------------------------------------------


def test_added_column_is_not_breaking_and_reaches_nobody(up: Path) -> None:
    models = edit(up)
    models.add_column("public_orders", "is_paid", "boolean", "Whether the order has at least one payment.")
    models.save()
    add_select_column(up / "dbt_up", "public_orders", "coalesce(payments.payment_count, 0) > 0", "boolean", "is_paid")
    rebuild(up, "run", "--select", "public_orders")

    code, report = check_json(up)
    assert code == 0
    assert classified(report) == [("column-added", "info", False, "public_orders", None, ["is_paid"])]
    assert report["changes"][0]["after"] == "boolean"
    assert report["changes"][0]["impacts"] == []
    assert report["summary"]["info"] == 1 and report["summary"]["broken_downstreams"] == []

    md_code, markdown = check_markdown(up)
    assert md_code == 0
    assert heading(markdown) == OK_HEADING
    assert table_rows(markdown) == [r"| **public\_orders** | column-added: `is_paid` | — → `boolean` | no | — |"]


# --- 7. the relation moved -------------------------------------------------------------------------------------


def test_moved_schema_breaks_mesh_sources_but_not_loom_refs(up: Path) -> None:
    models = edit(up)
    models.config("public_orders")["schema"] = "finance"
    models.save()
    rebuild(up, "run", "--select", "public_orders")

    code, report = check_json(up)
    assert code == 1
    assert classified(report) == [("relation-moved", "breaking", True, "public_orders", None, [])]
    change = report["changes"][0]
    # dbt's default generate_schema_name prefixes the target schema.
    assert (change["before"], change["after"]) == ("dbt_up.main.public_orders", "dbt_up.main_finance.public_orders")
    assert impacted(change) == {"dbt_down": ORDERS_READERS["dbt_down"]}  # dbt-loom refs follow on rebuild
    assert vias(change) == {"dbt_down": "mesh-source"}
    assert report["summary"]["broken_downstreams"] == ["dbt_down"]

    md_code, markdown = check_markdown(up)
    assert md_code == 1
    assert heading(markdown) == failed_heading("1 breaking change", r"breaking dbt\_down")
    assert table_rows(markdown) == [
        r"| **public\_orders** | relation-moved | `dbt_up.main.public_orders` → `dbt_up.main_finance.public_orders` "
        r"| ❌ yes | dbt\_down: customer\_lifetime\_value, orders\_by\_status |",
    ]


# --- 8. latest_version moved -----------------------------------------------------------------------------------


def test_moved_latest_version_breaks_unpinned_consumers_only(up: Path) -> None:
    models = edit(up)
    models.model("public_customers")["latest_version"] = 1
    models.save()
    rebuild(up, "run", "--select", "public_customers")

    code, report = check_json(up)
    assert code == 1
    assert classified(report) == [
        ("latest-version-moved", "breaking", True, "public_customers", "2", ["full_name"]),
    ]
    change = report["changes"][0]
    assert (change["before"], change["after"]) == ("v2", "v1")
    assert change["unique_id"] == "model.dbt_up.public_customers.v2"
    # The unversioned source table and the unpinned loom ref follow latest; the v1-pinned readers do not.
    assert impacted(change) == V2_READERS
    nodes = {i["node"] for i in change["impacts"]}
    assert nodes == {"source.dbt_down.dbt_up.public_customers", "model.dbt_up.public_customers.v2"}

    md_code, markdown = check_markdown(up)
    assert md_code == 1
    assert heading(markdown) == failed_heading("1 breaking change")
    assert table_rows(markdown) == [
        r"| **public\_customers** | latest-version-moved (v2): `full_name` | `v2` → `v1` | ❌ yes | "
        r"dbt\_down: customer\_lifetime\_value; dbt\_down\_loom: loom\_customer\_orders |",
    ]
    assert "legacy" not in table_rows(markdown)[0]


# --- 9. contract and constraint enforcement --------------------------------------------------------------------


def test_disabled_contract_and_removed_constraint_are_breaking(up: Path) -> None:
    models = edit(up)
    models.config("public_orders")["contract"] = {"enforced": False}
    models.drop_constraint("public_customers", "full_name", "not_null")  # only v2 has full_name
    models.save()
    rebuild(up, "run", "--select", "public_orders", "public_customers")

    code, report = check_json(up)
    assert code == 1
    assert classified(report) == [
        ("constraint-removed", "breaking", True, "public_customers", "2", ["full_name"]),
        ("contract-disabled", "breaking", True, "public_orders", None, []),
    ]
    constraint = only_change(report, "constraint-removed")
    assert (constraint["before"], constraint["after"]) == ("not_null", None)
    assert constraint["message"] == (
        "enforced not_null constraint on column full_name of public_customers v2 was removed"
    )
    assert impacted(constraint) == V2_READERS
    contract = only_change(report, "contract-disabled")
    assert (contract["before"], contract["after"]) == ("enforced", "not enforced")
    assert impacted(contract) == ORDERS_READERS

    md_code, markdown = check_markdown(up)
    assert md_code == 1
    assert heading(markdown) == failed_heading("2 breaking changes")
    assert table_rows(markdown) == [
        r"| **public\_customers** | constraint-removed (v2): `full_name` | `not_null` → — | ❌ yes | "
        r"dbt\_down: customer\_lifetime\_value; dbt\_down\_loom: loom\_customer\_orders |",
        rf"| **public\_orders** | contract-disabled | `enforced` → `not enforced` | ❌ yes | {ORDERS_IMPACT_CELL} |",
    ]


# --- 10. --warn-only -------------------------------------------------------------------------------------------


def test_warn_only_reports_the_same_and_exits_zero(up: Path) -> None:
    models = edit(up)
    models.drop_column("public_orders", "status")
    models.drop_version("public_customers", 1)
    models.save()
    drop_select_column(up / "dbt_up", "public_orders", "status")
    rebuild(up, "run", "--select", "public_orders")

    today = ("--today", "2027-06-29", *NEVER_STALE)
    code, strict = check_json(up, *today)
    warn_code, lenient = check_json(up, *today, "--warn-only")
    assert (code, warn_code) == (1, 0)
    assert classified(strict) == [
        ("version-removed", "breaking", True, "public_customers", "1", []),
        ("column-removed", "breaking", True, "public_orders", None, ["status"]),
    ]
    assert impacted(strict["changes"][0]) == V1_READERS and impacted(strict["changes"][1]) == STATUS_READERS
    assert (strict["warn_only"], strict["exit_code"], strict["ok"]) == (False, 1, False)
    assert (lenient["warn_only"], lenient["exit_code"], lenient["ok"]) == (True, 0, False)
    for report in (strict, lenient):
        del report["warn_only"], report["exit_code"]
    assert lenient == strict

    md_code, markdown = check_markdown(up, *today)
    warn_md_code, warn_markdown = check_markdown(up, *today, "--warn-only")
    assert (md_code, warn_md_code) == (1, 0)
    assert heading(warn_markdown) == (
        rf"### ⚠️ meshkit check: 2 breaking changes to dbt\_up's public contract, "
        rf"{BREAKING_BOTH} (--warn-only: not failing)"
    )
    assert table_rows(warn_markdown) == table_rows(markdown) and len(table_rows(markdown)) == 2

    text = check(up, *today, "--warn-only")
    assert text.returncode == 0
    assert text.stdout.rstrip().endswith(
        "OK: 2 breaking changes to dbt_up's public contract, "
        "breaking dbt_down, dbt_down_loom (--warn-only: not failing)"
    )


# --- 11. a deprecation announced -------------------------------------------------------------------------------


def test_added_deprecation_date_warns_consumers(up: Path) -> None:
    models = edit(up)
    models.model("public_orders")["deprecation_date"] = "2027-12-31"
    models.save()
    rebuild(up, "run", "--select", "public_orders")

    code, report = check_json(up)
    assert code == 0
    assert classified(report) == [("deprecation-added", "warning", False, "public_orders", None, [])]
    change = report["changes"][0]
    assert (change["before"], change["after"]) == (None, "2027-12-31")
    assert impacted(change) == ORDERS_READERS  # who has to migrate
    assert report["summary"]["warnings"] == 1 and report["summary"]["broken_downstreams"] == []

    md_code, markdown = check_markdown(up)
    assert md_code == 0
    assert heading(markdown) == OK_HEADING
    assert table_rows(markdown) == [
        rf"| **public\_orders** | deprecation-added | — → `2027-12-31` | ⚠️ no, warning "
        rf"| {ORDERS_IMPACT_CELL} |",
    ]


# --- 12. stale consumer records --------------------------------------------------------------------------------


def test_stale_consumer_records_are_flagged_but_still_listed(up: Path) -> None:
    models = edit(up)
    models.drop_column("public_customers", "email")  # shared by v1 and v2
    models.save()
    for sql in ("public_customers_v1", "public_customers_v2"):
        drop_select_column(up / "dbt_up", sql, "email")
    rebuild(up, "run", "--select", "public_customers")
    recorded = json.loads((up / CONSUMERS / "dbt_down.json").read_text())["recorded_at"]
    later = (date.fromisoformat(recorded[:10]) + timedelta(days=60)).isoformat()

    code, report = check_json(up, "--today", later)
    assert code == 1
    assert classified(report) == [
        ("column-removed", "breaking", True, "public_customers", "1", ["email"]),
        ("column-removed", "breaking", True, "public_customers", "2", ["email"]),
    ]
    # Only dbt_down_loom's models read email (dbt_down's read other columns of the same versions).
    assert impacted(report["changes"][0]) == {"dbt_down_loom": ["loom_legacy_customers"]}
    assert impacted(report["changes"][1]) == {"dbt_down_loom": ["loom_customer_orders"]}
    assert all(i["stale"] and i["age_days"] == 60 for c in report["changes"] for i in c["impacts"])
    assert [(c["downstream"], c["stale"], c["age_days"], c["problem"]) for c in report["consumers"]] == [
        ("dbt_down", True, 60, None),
        ("dbt_down_loom", True, 60, None),
    ]
    assert report["summary"]["stale_consumers"] == 2 and report["consumer_max_age_days"] == 30
    assert report["summary"]["broken_downstreams"] == ["dbt_down_loom"]

    md_code, markdown = check_markdown(up, "--today", later)
    assert md_code == 1
    assert "2 consumers on record (2 stale)." in markdown
    assert table_rows(markdown)[0].endswith(r"| dbt\_down\_loom (stale record): loom\_legacy\_customers |")
    untrusted = markdown.split("#### Consumer records not trusted\n", 1)[1]
    assert "- ⚠️ `dbt_down` last validated 60 days ago (limit 30)" in untrusted
    assert "- ⚠️ `dbt_down_loom` last validated 60 days ago (limit 30)" in untrusted

    _, trusted = check_json(up, "--today", later, "--consumer-max-age-days", "60")
    assert trusted["summary"]["stale_consumers"] == 0
    assert not any(i["stale"] for c in trusted["changes"] for i in c["impacts"])


# --- 13. publish --consumer ------------------------------------------------------------------------------------


def test_publish_consumer_writes_the_dbt_down_record(mesh: Path) -> None:
    assert not (mesh / CONSUMERS).exists()
    before = datetime.now(timezone.utc).replace(microsecond=0)
    result = meshkit(
        "publish",
        "--consumer",
        "--project-dir",
        "dbt_down",
        "--registry",
        "registry",
        "--git-commit",
        COMMIT,
        cwd=mesh,
        env=clean_env(GITHUB_REPOSITORY="acme-data/finance"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("recorded dbt_down as a consumer in ")
    assert result.stdout.endswith("/registry/dbt_up/prod/consumers/dbt_down.json\n") and result.stdout.count("\n") == 1
    assert sorted(p.name for p in (mesh / CONSUMERS).iterdir()) == ["dbt_down.json"]

    record = json.loads((mesh / CONSUMERS / "dbt_down.json").read_text())
    contract = json.loads((mesh / "registry/dbt_up/prod/latest/metadata.json").read_text())
    recorded_at = datetime.fromisoformat(record.pop("recorded_at").replace("Z", "+00:00"))
    assert before <= recorded_at <= datetime.now(timezone.utc)
    assert record.pop("meshkit_version")
    # The SQL analyses the next recording reuses, one per model that reads dbt_up, keyed by its compiled SQL.
    analyses = record.pop("analyses")
    assert sorted(analyses) == [f"model.dbt_down.{m}" for m in CONSUMING_MODELS]
    assert all(len(a["digest"]) == 64 and a["analysis"]["problem"] is None for a in analyses.values())
    assert record == {
        "format": "meshkit-consumer/2",
        "downstream": "dbt_down",
        "upstream": "dbt_up",
        "env": "prod",
        "git_commit": COMMIT,
        "contract_sha256": contract["sha256"],
        "repository": "acme-data/finance",
        "uses": [
            {
                "unique_id": "model.dbt_up.public_customers.v1",
                "model": "public_customers",
                "version": "1",
                "pinned": True,
                "via": "mesh-source",
                "node": "source.dbt_down.dbt_up.public_customers_v1",
                "columns": ["customer_id", "email", "first_name", "first_order_date", "last_name", "number_of_orders"],
                "downstream_models": ["model.dbt_down.legacy_customer_names"],
                "readers": [
                    {
                        "model": "model.dbt_down.legacy_customer_names",
                        "columns": ["customer_id", "first_name", "last_name"],
                        "direct": True,
                        "through": [],
                        "reason": None,
                    }
                ],
            },
            {
                "unique_id": "model.dbt_up.public_customers.v2",
                "model": "public_customers",
                "version": "2",
                "pinned": False,
                "via": "mesh-source",
                "node": "source.dbt_down.dbt_up.public_customers",
                "columns": ["customer_id", "email", "first_order_date", "full_name", "number_of_orders"],
                "downstream_models": ["model.dbt_down.customer_lifetime_value"],
                "readers": [
                    {
                        "model": "model.dbt_down.customer_lifetime_value",
                        "columns": ["customer_id", "first_order_date", "full_name"],
                        "direct": True,
                        "through": [],
                        "reason": None,
                    }
                ],
            },
            {
                "unique_id": "model.dbt_up.public_orders",
                "model": "public_orders",
                "version": None,
                "pinned": True,
                "via": "mesh-source",
                "node": "source.dbt_down.dbt_up.public_orders",
                "columns": ["amount", "customer_id", "order_date", "order_id", "payment_count", "status"],
                "downstream_models": ["model.dbt_down.customer_lifetime_value", "model.dbt_down.orders_by_status"],
                "readers": [
                    {
                        "model": "model.dbt_down.customer_lifetime_value",
                        "columns": ["amount", "customer_id", "order_id", "status"],
                        "direct": True,
                        "through": [],
                        "reason": None,
                    },
                    {
                        "model": "model.dbt_down.orders_by_status",
                        "columns": ["amount", "status"],
                        "direct": True,
                        "through": [],
                        "reason": None,
                    },
                ],
            },
        ],
    }

    # check reads it back: dbt_up's build is the published one, so nothing changed and dbt_down is on record.
    code, report = check_json(mesh)
    assert code == 0 and report["changes"] == []
    assert [(c["downstream"], c["git_commit"], c["uses"], c["stale"]) for c in report["consumers"]] == [
        ("dbt_down", COMMIT, 3, False),
    ]


# --- 14. GitHub annotations and the step summary ---------------------------------------------------------------


def test_github_format_annotates_files_and_appends_the_step_summary(up: Path, tmp_path: Path) -> None:
    models = edit(up)
    models.column("public_orders", "order_date")["data_type"] = "timestamp"
    models.add_column("public_orders", "is_paid", "boolean", "Whether the order has at least one payment.")
    models.save()
    retype_select_column(up / "dbt_up", "public_orders", "order_date", "timestamp")
    add_select_column(up / "dbt_up", "public_orders", "coalesce(payments.payment_count, 0) > 0", "boolean", "is_paid")
    rebuild(up, "run", "--select", "public_orders")

    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    github = check(up, "--format", "github", env=clean_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert github.returncode == 1, github.stderr
    affects = "(affects dbt_down_loom: loom_customer_orders)"  # the one model whose SQL reads order_date
    assert github.stdout.splitlines() == [
        "::error file=dbt_up/models/marts/_public.yml,title=meshkit check%3A type-changed::dbt_up: column order_date "
        f"of public_orders changed type date → timestamp {affects}",
        # the added column is info: no annotation
        "FAILED: 1 breaking change to dbt_up's public contract, breaking dbt_down_loom",
    ]
    appended = summary.read_text()
    assert appended.startswith(f"earlier step\n{MARKER}\n")
    _, markdown = check_markdown(up)
    assert appended == "earlier step\n" + markdown
    assert any(
        row.startswith(r"| **public\_orders** | type-changed: `order_date` | `date` → `timestamp` | ❌ yes |")
        for row in table_rows(markdown)
    )

    lenient = check(up, "--format", "github", "--warn-only", env=clean_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert lenient.returncode == 0
    assert lenient.stdout.startswith(
        "::warning file=dbt_up/models/marts/_public.yml,title=meshkit check%3A type-changed::"
    )
    assert summary.read_text().count(MARKER) == 2
