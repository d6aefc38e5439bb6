"""Unit tests for the reporters: exact text and markdown, parseable JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson

from meshkit import __version__
from meshkit.contract.model import PublicModel
from meshkit.lineage.graph import ProjectLineage, Reading
from meshkit.mesh.publish import PublishResult
from meshkit.mesh.sync import SyncOutcome
from meshkit.mesh.validate import Dependency, Finding, ProjectReport, ValidateReport
from meshkit.report.render import render_publish, render_sync, render_validate
from meshkit.report.templating import md_cell, md_code
from support.goldens import Goldens

DATA = Path(__file__).parents[1] / "data"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _report() -> ValidateReport:
    gone = "source.down_loom.shop.gone"
    return ValidateReport(
        env="prod",
        registry="/srv/registry",
        today="2027-07-01",
        projects=[
            ProjectReport(
                project="down_loom",
                manifest="/repo/down_loom/target/manifest.json",
                dependencies=[
                    Dependency(
                        "shop",
                        "prod",
                        "model.shop.customers.v1",
                        "dbt-loom",
                        ("model.down_loom.a", "model.down_loom.b"),
                        "model.shop.customers.v1",
                        "1",
                    ),
                    Dependency(
                        "shop",
                        "prod",
                        "source.down_loom.shop.customers",
                        "mesh-source",
                        ("model.down_loom.d",),
                        "model.shop.customers.v2",
                        "2",
                    ),
                    Dependency("shop", "prod", gone, "mesh-source", ("model.down_loom.c",), None, None),
                ],
                findings=[
                    Finding(
                        "error",
                        "not-public",
                        "down_loom",
                        f"{gone} names table 'gone', which is not a public model of the shop/prod contract: "
                        "run meshkit sync and fix the reference",
                        gone,
                    ),
                    Finding(
                        "warning",
                        "deprecated",
                        "down_loom",
                        "model.shop.customers.v1 is past its deprecation date 2027-06-30: move to version 2",
                        "model.shop.customers.v1",
                    ),
                ],
            )
        ],
        skipped=["unbuilt"],
    )


def _ok_report() -> ValidateReport:
    return ValidateReport(
        env="staging",
        registry="s3://b/registry",
        today="2025-01-01",
        projects=[
            ProjectReport(
                "down",
                "/r/down/target/manifest.json",
                [
                    Dependency(
                        "shop", "staging", "model.shop.orders", "dbt-loom", ("model.down.x",), "model.shop.orders", None
                    ),
                ],
            ),
            ProjectReport("lonely", "/r/lonely/target/manifest.json"),
        ],
    )


def test_validate_text_golden(goldens: Goldens):
    goldens.check(render_validate(_report(), "text"), "expected_validate.txt")


def test_validate_markdown_golden(goldens: Goldens):
    goldens.check(render_validate(_report(), "markdown"), "expected_validate.md")


def test_validate_text_ok():
    assert render_validate(_ok_report(), "text") == (
        "meshkit validate: registry s3://b/registry, env staging\n"
        "\n"
        "down  (/r/down/target/manifest.json)\n"
        "  [ok ] dbt-loom    model.shop.orders\n"
        "          -> model.down.x\n"
        "\n"
        "lonely  (/r/lonely/target/manifest.json)\n"
        "  no cross-project dependencies\n"
        "\n"
        "OK: 1 cross-project dependency in 2 projects, 0 errors, 0 warnings\n"
    )


def test_validate_markdown_ok():
    assert render_validate(_ok_report(), "markdown") == (
        "<!-- meshkit:validate:down+lonely -->\n"
        "### ✅ meshkit validate: 1 cross-project dependency resolves to public contracts\n"
        "\n"
        "Registry env `staging`.\n"
        "\n"
        "#### down\n"
        "\n"
        "| upstream node | via | public model | consumed by |\n"
        "|---|---|---|---|\n"
        "| `model.shop.orders` | dbt-loom | `model.shop.orders` | `model.down.x` |\n"
        "\n"
        "#### lonely\n"
        "\n"
        "No cross-project dependencies.\n"
        "\n"
        "#### Cross-project lineage\n"
        "\n"
        "```mermaid\n"
        "flowchart LR\n"
        "  classDef broken fill:#ffeef0,stroke:#d73a49,stroke-width:2px,color:#b31d28\n"
        '  subgraph g0["shop (staging)"]\n'
        "    direction TB\n"
        '    n0["orders"]\n'
        "  end\n"
        '  subgraph g1["down"]\n'
        "    direction TB\n"
        '    n1["x"]\n'
        "  end\n"
        '  n0 -->|"dbt-loom"| n1\n'
        "```\n"
        "\n"
    )


def test_validate_markdown_without_dependencies_has_no_diagram():
    report = ValidateReport(
        env="prod",
        registry="/r",
        today="2025-01-01",
        projects=[ProjectReport("lonely", "/r/lonely/target/manifest.json")],
    )
    assert render_validate(report, "markdown") == (
        "<!-- meshkit:validate:lonely -->\n"
        "### ✅ meshkit validate: 0 cross-project dependencies resolve to public contracts\n"
        "\n"
        "Registry env `prod`.\n"
        "\n"
        "#### lonely\n"
        "\n"
        "No cross-project dependencies.\n"
        "\n"
    )


def test_validate_json():
    report = _report()
    report.projects[0].lineage = ProjectLineage(
        readers={
            "model.shop.customers.v1": {
                "model.down_loom.a": Reading({"email", "customer_id"}, True, set(), None),
                "model.down_loom.b": Reading(None, False, {"model.down_loom.a"}, "a Python model"),
            }
        },
        outputs={"model.down_loom.a": {"email": {"model.shop.customers.v1": {"email"}}, "n": None}},
        parsed=1,
    )
    document = orjson.loads(render_validate(report, "json"))
    assert document["meshkit_version"] == __version__
    assert document["command"] == "validate"
    assert (document["ok"], document["error_count"], document["warning_count"]) == (False, 1, 1)
    assert (document["env"], document["registry"], document["today"], document["skipped"]) == (
        "prod",
        "/srv/registry",
        "2027-07-01",
        ["unbuilt"],
    )
    [project] = document["projects"]
    assert [d["via"] for d in project["dependencies"]] == ["dbt-loom", "mesh-source", "mesh-source"]
    assert project["dependencies"][0] == {
        "upstream": "shop",
        "env": "prod",
        "parent_id": "model.shop.customers.v1",
        "via": "dbt-loom",
        "consumers": ["model.down_loom.a", "model.down_loom.b"],
        "contract_id": "model.shop.customers.v1",
        "version": "1",
        "readers": [
            {
                "model": "model.down_loom.a",
                "columns": ["customer_id", "email"],
                "direct": True,
                "through": [],
                "reason": None,
            },
            {
                "model": "model.down_loom.b",
                "columns": None,
                "direct": False,
                "through": ["model.down_loom.a"],
                "reason": "a Python model",
            },
        ],
    }
    assert project["column_lineage"] == {
        "parsed": 1,
        "models": [
            {
                "model": "model.down_loom.a",
                "columns": [
                    {"column": "email", "sources": [{"node": "model.shop.customers.v1", "columns": ["email"]}]},
                    {"column": "n", "sources": None},
                ],
            }
        ],
    }
    assert [(f["severity"], f["code"], f["project"]) for f in project["findings"]] == [
        ("error", "not-public", "down_loom"),
        ("warning", "deprecated", "down_loom"),
    ]
    ok = orjson.loads(render_validate(_ok_report(), "json"))
    assert (ok["ok"], ok["error_count"], ok["warning_count"]) == (True, 0, 0)


def test_markdown_escapes_pipes_and_newlines_in_messages():
    report = _ok_report()
    report.projects[0].findings.append(
        Finding("error", "relation-mismatch", "down", "reads a|b but\nis `x` | <b>#1</b> [link](u) *bold* _i_")
    )
    text = render_validate(report, "markdown")
    [line] = [line for line in text.splitlines() if "relation-mismatch" in line]
    assert line == (
        "- ❌ **relation-mismatch**: reads a\\|b but is \\`x\\` \\| \\<b\\>\\#1\\</b\\> \\[link\\](u) \\*bold\\* \\_i\\_"
    )
    assert text.startswith(
        "<!-- meshkit:validate:down+lonely -->\n### ❌ meshkit validate: 1 broken cross-project dependency\n"
    )


def test_md_cell_and_code():
    assert md_cell("a|b") == "a\\|b"
    assert md_cell("  many   spaces\nand\tlines ") == "many spaces and lines"
    assert md_cell(None) == ""
    assert md_cell("back\\slash") == "back\\\\slash"
    assert md_code("x`y") == "`x'y`"
    assert md_code("a\nb") == "`a b`"


def _publish_result(status: str = "published") -> PublishResult:
    return PublishResult(
        status=status,
        project="shop",
        env="prod",
        registry="/srv/registry",
        sha256=SHA,
        kind="contract",
        history_id="20250102T030405.678901Z",
        latest_key="shop/prod/latest/manifest.json",
        history_key="shop/prod/history/20250102T030405.678901Z/manifest.json" if status == "published" else None,
        public_models=[
            PublicModel(unique_id="model.shop.customers.v1", name="customers", version="1"),
            PublicModel(unique_id="model.shop.orders", name="orders"),
        ],
    )


def test_publish_text():
    assert render_publish(_publish_result(), "text") == (
        "published contract of shop/prod to /srv/registry\n"
        f"  sha256   {SHA}\n"
        "  history  shop/prod/history/20250102T030405.678901Z/manifest.json\n"
        "  latest   shop/prod/latest/manifest.json\n"
        "  public   customers v1, orders\n"
    )
    assert render_publish(_publish_result("unchanged"), "text") == (
        "shop/prod: contract unchanged (sha256 e3b0c44298fc), no new history entry; pass --force to republish\n"
    )


def test_publish_json():
    document = orjson.loads(render_publish(_publish_result(), "json"))
    assert document["command"] == "publish"
    assert document["status"] == "published"
    assert document["sha256"] == SHA
    assert [m["name"] for m in document["public_models"]] == ["customers", "orders"]


def test_sync_text_and_json():
    outcomes = [
        SyncOutcome(
            "shop",
            "prod",
            "/d/models/_mesh_shop.yml",
            "written",
            SHA,
            3,
            published=12,
            selection="used",
            unknown_tables=("gone",),
            notes=("models/a.sql:3 reads source('shop', 'gone'), which ...",),
        ),
        SyncOutcome("billing", "dev", "/d/models/_mesh_billing.yml", "stale", SHA, 2, published=2),
        SyncOutcome("crm", "prod", "/d/models/_mesh_crm.yml", "missing", SHA, 1, published=1),
        SyncOutcome("erp", "prod", "/d/models/_mesh_erp.yml", "up-to-date", SHA, 1, published=5, selection="used"),
        SyncOutcome(
            "ads",
            "prod",
            "/d/models/_mesh_ads.yml",
            "unchanged",
            SHA,
            7,
            published=7,
            notes=("every ads table is written: models/b.sql:1 calls source() with ...",),
        ),
    ]
    assert render_sync(outcomes, "text") == (
        "shop/prod (sha256 e3b0c44298fc): wrote 3 of 12 source tables (used by the project) to "
        "/d/models/_mesh_shop.yml\n"
        "  note: models/a.sql:3 reads source('shop', 'gone'), which ...\n"
        "billing/dev (sha256 e3b0c44298fc): STALE, run `meshkit sync` to regenerate: /d/models/_mesh_billing.yml\n"
        "crm/prod (sha256 e3b0c44298fc): MISSING, run `meshkit sync` to generate: /d/models/_mesh_crm.yml\n"
        "erp/prod (sha256 e3b0c44298fc): up to date (1 of 5 tables, used by the project): /d/models/_mesh_erp.yml\n"
        "ads/prod (sha256 e3b0c44298fc): already current (7 of 7 tables, all): /d/models/_mesh_ads.yml\n"
        "  note: every ads table is written: models/b.sql:1 calls source() with ...\n"
    )
    document = orjson.loads(render_sync(outcomes, "json"))
    assert document["command"] == "sync"
    assert document["ok"] is False
    assert [u["status"] for u in document["upstreams"]] == ["written", "stale", "missing", "up-to-date", "unchanged"]
    assert document["upstreams"][0] == {
        "upstream": "shop",
        "env": "prod",
        "path": "/d/models/_mesh_shop.yml",
        "status": "written",
        "sha256": SHA,
        "tables": 3,
        "published": 12,
        "selection": "used",
        "unknown_tables": ["gone"],
        "notes": ["models/a.sql:3 reads source('shop', 'gone'), which ..."],
        "requested_env": "prod",
    }
    assert orjson.loads(render_sync(outcomes[3:], "json"))["ok"] is True


HOSTILE = (
    "@acme/security-team see https://evil.example or www.evil.example\n::error::pwned\x1b[31m\u2028"
    " and \u202eyrtne_kcab\u202c (a right-to-left override shows it reversed)"
)


def _hostile_report() -> ValidateReport:
    parent = "source.down.shop.orders"
    return ValidateReport(
        env="prod",
        registry="/srv/registry",
        today="2027-07-01",
        projects=[
            ProjectReport(
                project="down",
                manifest="/repo/down/target/manifest.json",
                dependencies=[Dependency("shop", "prod", parent, "mesh-source", ("model.down.x",), None, None)],
                findings=[Finding("error", "not-public", "down", f"{parent} names {HOSTILE}", parent)],
            )
        ],
    )


def test_hostile_text_in_text_output_cannot_start_a_line(goldens: Goldens):
    text = render_validate(_hostile_report(), "text")
    goldens.check(text, "expected_validate_hostile.txt")
    assert not [line for line in text.splitlines() if line.lstrip().startswith("::")]
    assert "\x1b" not in text and "\u2028" not in text and "\\n::error::pwned\\x1b[31m\\u2028" in text
    assert "\u202e" not in text and "\\u202eyrtne_kcab\\u202c" in text


def test_hostile_text_in_markdown_mentions_nobody_and_links_nothing(goldens: Goldens):
    markdown = render_validate(_hostile_report(), "markdown")
    goldens.check(markdown, "expected_validate_hostile.md")
    assert re.search(r"@[A-Za-z0-9]", markdown) is None
    assert "https://" not in markdown and "www.evil" not in markdown and "\x1b" not in markdown
    assert "\u202e" not in markdown and "\\\\u202eyrtne\\_kcab\\\\u202c" in markdown  # escaped, then markdown-escaped
    assert "@\u2060acme/security-team" in markdown  # still readable: the word joiner is invisible


def test_md_cell_makes_mentions_and_autolinks_inert():
    assert md_cell("@org/team") == "@\u2060org/team"
    assert md_cell("mail a@b.io or https://x.io, WWW.x.io") == "mail a@\u2060b.io or https:\u2060//x.io, WWW\u2060.x.io"
    assert md_cell("awww.not-a-link") == "awww.not-a-link"


def test_sync_names_the_env_read_through_the_fallback():
    outcome = SyncOutcome(
        "shop", "prod", "/d/models/_mesh_shop.yml", "written", SHA, 3, published=3, requested_env="dev"
    )
    assert render_sync([outcome], "text") == (
        "shop/prod (fallback: no dev contract) (sha256 e3b0c44298fc): wrote 3 of 3 source tables (all) to "
        "/d/models/_mesh_shop.yml\n"
    )
    [upstream] = json.loads(render_sync([outcome], "json"))["upstreams"]
    assert (upstream["env"], upstream["requested_env"]) == ("prod", "dev")
