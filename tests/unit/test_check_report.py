"""Unit tests for the meshkit check reporters, from hand-made CheckReports: markdown goldens and structure,
the comment size limit, the JSON schema, and GitHub workflow commands (escaping and the step summary)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import jsonschema
import orjson
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from meshkit.contract.diff import Change, Surface, diff_surfaces
from meshkit.github.annotations import annotation, escape_data, escape_property, repo_path
from meshkit.mesh.check import Assessed, CheckReport
from meshkit.mesh.consumers import ConsumerRecord, ConsumerStatus, Use
from meshkit.mesh.impact import Impact
from meshkit.report.check import check_json, check_markdown, check_text, render_check
from meshkit.report.markdown import GITHUB_COMMENT_LIMIT
from meshkit.report.mermaid import MAX_MERMAID_TEXT_SIZE
from support.goldens import Goldens
from support.helpers import clean_env

DATA = Path(__file__).parents[1] / "data"
TESTS = Path(__file__).parents[1]
SCHEMA = json.loads((Path(__file__).parents[2] / "meshkit" / "schemas" / "check.schema.json").read_text())
HOSTILE = "orders\n::error::x"
BASE = {
    "sha256": "a" * 64,
    "history_id": "20250101T000000.000000Z",
    "published_at": "2025-01-01T00:00:00Z",
    "git_commit": "b" * 40,
}


def _report() -> CheckReport:
    """Breaking, planned, warning and info changes; a fresh, a stale and an unreadable consumer record."""
    finance = Impact(
        "finance",
        "dbt-loom",
        "model.shop.customers.v1",
        ("model.finance.revenue", "model.finance.churn"),
        False,
        3,
        "acme/finance",
    )
    marketing = Impact(
        "marketing", "mesh-source", "source.marketing.shop.customers_v1", ("model.marketing.audience",), True, 45
    )
    yml = "models/customers.yml"
    assessed = [
        Assessed(
            Change(
                "column-removed",
                "breaking",
                "customers",
                "model.shop.customers.v1",
                "column email of customers v1 was removed",
                "1",
                "varchar",
                None,
                ("email",),
                yml,
            ),
            (finance, marketing),
        ),
        Assessed(
            Change(
                "type-changed",
                "breaking",
                "customers",
                "model.shop.customers.v1",
                "column id of customers v1 changed type integer → varchar",
                "1",
                "integer",
                "varchar",
                ("id",),
                yml,
            ),
            (finance,),
        ),
        Assessed(
            Change(
                "column-added",
                "info",
                "customers",
                "model.shop.customers.v1",
                "column ph|one of customers v1 was added",
                "1",
                None,
                "text",
                ("ph|one",),
                yml,
            ),
            (),
        ),
        Assessed(
            Change(
                "model-removed",
                "planned-removal",
                "legacy_orders",
                "model.shop.legacy_orders",
                "legacy_orders was removed or renamed (deprecated since 2024-12-01)",
                None,
                "legacy_orders",
                None,
                (),
                None,
            ),
            (
                Impact(
                    "finance",
                    "dbt-loom",
                    "model.shop.legacy_orders",
                    ("model.finance.revenue",),
                    False,
                    3,
                    "acme/finance",
                ),
            ),
        ),
        Assessed(
            Change(
                "deprecation-added",
                "warning",
                "orders",
                "model.shop.orders",
                "orders is deprecated from 2025-06-30: consumers should migrate",
                None,
                None,
                "2025-06-30",
                (),
                "models/orders.yml",
            ),
            (),
        ),
        Assessed(
            Change(
                "description-changed",
                "info",
                "pipe|name",
                "model.shop.pipe|name",
                "pipe|name description changed",
                None,
                None,
                None,
                (),
                "models/x.yml",
            ),
            (),
        ),
    ]
    fin = ConsumerRecord(
        "finance",
        "shop",
        "prod",
        "2025-01-10T08:00:00Z",
        "0123456789abcdef0123",
        "f" * 64,
        (
            Use(
                "model.shop.customers.v1",
                "customers",
                "1",
                True,
                "dbt-loom",
                "model.shop.customers.v1",
                None,
                ("model.finance.revenue", "model.finance.churn"),
            ),
            Use(
                "model.shop.legacy_orders",
                "legacy_orders",
                None,
                True,
                "dbt-loom",
                "model.shop.legacy_orders",
                None,
                ("model.finance.revenue",),
            ),
        ),
        "acme/finance",
    )
    mkt = ConsumerRecord(
        "marketing",
        "shop",
        "prod",
        "2024-11-28T08:00:00Z",
        None,
        None,
        (
            Use(
                "model.shop.customers.v1",
                "customers",
                "1",
                True,
                "mesh-source",
                "source.marketing.shop.customers_v1",
                ("email", "id"),
                ("model.marketing.audience",),
            ),
        ),
    )
    consumers = [
        ConsumerStatus("finance", "shop/prod/consumers/finance.json", fin, 3, False),
        ConsumerStatus("marketing", "shop/prod/consumers/marketing.json", mkt, 45, True),
        ConsumerStatus("rogue", "shop/prod/consumers/rogue.json", None, problem="not JSON"),
    ]
    return CheckReport(
        project="shop",
        env="prod",
        registry="/srv/registry",
        manifest="shop/target/manifest.json",
        today="2025-01-12",
        warn_only=False,
        consumer_max_age_days=30,
        base=dict(BASE),
        assessed=assessed,
        consumers=consumers,
    )


def _empty_report() -> CheckReport:
    return CheckReport(
        project="shop",
        env="prod",
        registry="/srv/registry",
        manifest="shop/target/manifest.json",
        today="2025-01-12",
        warn_only=False,
        consumer_max_age_days=30,
        base=dict(BASE),
    )


def _huge_report(changes: int = 3_000) -> CheckReport:
    report = _report()
    impacts = report.assessed[0].impacts
    report.assessed = [
        Assessed(
            Change(
                "column-removed",
                "breaking",
                f"model_{i:05d}",
                f"model.shop.model_{i:05d}",
                f"column c{i} of model_{i:05d} was removed",
                None,
                "integer",
                None,
                (f"c{i}",),
                "models/schema.yml",
            ),
            impacts,
        )
        for i in range(changes)
    ] + [
        Assessed(
            Change(
                "model-removed",
                "planned-removal",
                f"old_{i:05d}",
                f"model.shop.old_{i:05d}",
                f"old_{i:05d} was removed or renamed (deprecated since 2024-01-01)",
                None,
                f"old_{i:05d}",
                None,
                (),
                None,
            ),
            impacts,
        )
        for i in range(changes)
    ]
    return report


def _tokens(markdown: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(markdown)


def _table(tokens: list[Token]) -> tuple[list[str], list[list[str]]]:
    """(header cells, body rows) of the first table, as inline source."""
    header: list[str] = []
    rows: list[list[str]] = []
    section = None
    for token in tokens:
        if token.type in ("thead_open", "tbody_open"):
            section = token.type
        elif token.type == "table_close":
            break
        elif token.type == "tr_open" and section == "tbody_open":
            rows.append([])
        elif token.type == "inline" and section == "thead_open":
            header.append(token.content)
        elif token.type == "inline" and section == "tbody_open":
            rows[-1].append(token.content)
    return header, rows


# --- markdown: goldens ----------------------------------------------------------------------------------


def test_check_markdown_golden(goldens: Goldens):
    goldens.check(check_markdown(_report()), "expected_check.md")


def test_check_markdown_empty_golden(goldens: Goldens):
    goldens.check(check_markdown(_empty_report()), "expected_check_empty.md")


def test_heading_follows_the_verdict():
    assert check_markdown(_report()).splitlines()[1].startswith("### ❌ meshkit check: 2 breaking changes")
    report = _report()
    report.warn_only = True
    assert check_markdown(report).splitlines()[1].startswith("### ⚠️ meshkit check: 2 breaking changes")
    assert check_markdown(report).splitlines()[1].endswith("(--warn-only: not failing)")
    never = _empty_report()
    never.base = None
    lines = check_markdown(never).splitlines()
    assert lines[1] == "### ✅ meshkit check: shop has no prod contract in the registry yet: every public model is new"
    assert lines[3] == "The registry has no `prod` contract for `shop` yet, so nothing can break."


# --- markdown: structure, parsed as GitHub would ------------------------------------------------------------


def test_markdown_structure():
    tokens = _tokens(check_markdown(_report()))
    assert tokens[0].type == "html_block" and tokens[0].content == "<!-- meshkit:check:shop -->\n"
    assert [t.tag for t in tokens[1:4]] == ["h3", "", "h3"]
    header, rows = _table(tokens)
    assert header == ["model", "change", "before → after", "breaking?", "affected consumers"]
    assert all(len(row) == 5 for row in rows)
    assert [row[0] for row in rows] == [
        "**customers**",
        "",
        "",
        "**legacy\\_orders**",
        "**orders**",
        "**pipe|name**",
    ]  # the escaped pipe stays in its cell
    assert rows[2][1] == "column-added (v1): `ph|one`"
    assert [row[3] for row in rows] == ["❌ yes", "❌ yes", "no", "🗓️ planned", "⚠️ no, warning", "no"]
    assert rows[0][4] == "finance (acme/finance): revenue, churn; marketing (stale record): audience"
    [fence] = [t for t in tokens if t.type == "fence"]
    assert fence.info == "mermaid" and fence.content.startswith("flowchart LR\n")
    html = [t.content for t in tokens if t.type == "html_block"]
    assert html[1].startswith("<details><summary>Details</summary>") and html[-1].strip() == "</details>"
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h4"]
    assert headings == ["Planned removals", "Consumer records not trusted", "Lineage"]


def test_empty_markdown_structure_has_no_table_and_no_diagram():
    tokens = _tokens(check_markdown(_empty_report()))
    assert tokens[0].content == "<!-- meshkit:check:shop -->\n"
    assert not any(t.type in ("table_open", "fence") for t in tokens)
    assert "The public surface is unchanged." in [t.content for t in tokens if t.type == "inline"]


def test_hostile_names_stay_in_their_cell_and_the_diagram():
    report = _report()
    evil = "x|y`z`<script>\n| injected | row |"
    report.assessed.append(
        Assessed(
            Change(
                "column-removed",
                "breaking",
                evil,
                f"model.shop.{evil}",
                f"column {evil} was removed",
                None,
                evil,
                None,
                (evil,),
                None,
            ),
            (),
        )
    )
    tokens = _tokens(check_markdown(report))
    _, rows = _table(tokens)
    assert all(len(row) == 5 for row in rows)
    assert len(rows) == 7
    assert not any(t.type == "html_block" and "<script" in t.content for t in tokens)
    [fence] = [t for t in tokens if t.type == "fence"]
    assert "<script" not in fence.content and "`" not in fence.content


# --- markdown: GitHub's comment limit -------------------------------------------------------------------


def test_thousands_of_changes_fit_in_one_comment_with_a_visible_notice():
    markdown = check_markdown(_huge_report())
    assert len(markdown) <= GITHUB_COMMENT_LIMIT
    assert len(markdown.encode("utf-16-le")) // 2 <= GITHUB_COMMENT_LIMIT
    tokens = _tokens(markdown)
    assert tokens[0].content == "<!-- meshkit:check:shop -->\n"
    notices = [t.content for t in tokens if t.type == "inline" and "Truncated" in t.content]
    assert notices and notices[0].startswith("⚠️ **Truncated:**")
    assert "more changes are not shown" in notices[0]
    _, rows = _table(tokens)
    assert 0 < len(rows) < 6_000
    [fence] = [t for t in tokens if t.type == "fence"]
    assert fence.info == "mermaid" and len(fence.content) <= MAX_MERMAID_TEXT_SIZE
    assert "(project level" in markdown
    assert "<details>" not in markdown  # the details go first


def test_cut_rows_never_read_as_an_unchanged_surface():
    """When every table row must go, the comment still says changes were cut, not "unchanged"."""
    report = _huge_report(changes=2)
    report.consumers = [
        ConsumerStatus(f"team_{i:05d}", f"shop/prod/consumers/team_{i:05d}.json", None, problem="not JSON")
        for i in range(2_000)
    ]
    markdown = check_markdown(report)
    assert len(markdown) <= GITHUB_COMMENT_LIMIT
    assert "The public surface is unchanged." not in markdown
    assert "Truncated" in markdown
    assert markdown.count("```") % 2 == 0  # never cut inside the diagram's fence


def test_a_hard_cut_never_leaves_the_diagram_fence_open():
    from meshkit.report.markdown import TRUNCATED_NOTICE, fit_comment

    body = "<!-- m -->\n" + "x\n" * 50 + "```mermaid\n" + "flowchart LR\n" * 100 + "```\n"

    def render(max_rows, details):
        return body

    cut = fit_comment(render, 0, budget=400)
    assert len(cut) <= 400
    assert cut.endswith(TRUNCATED_NOTICE)
    assert "```" not in cut
    tokens = _tokens(cut)
    assert tokens[-1].type == "blockquote_close"


# --- JSON ----------------------------------------------------------------------------------------------


def _validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_json_validates_against_the_schema():
    validator = _validator()
    for report in (_report(), _empty_report(), _huge_report(50)):
        validator.validate(orjson.loads(check_json(report)))
    never = _empty_report()
    never.base = None
    validator.validate(orjson.loads(check_json(never)))


def test_json_content():
    document = orjson.loads(check_json(_report()))
    assert (document["command"], document["schema"], document["ok"], document["exit_code"]) == (
        "check",
        "meshkit-check/2",
        False,
        1,
    )
    assert document["summary"] == {
        "breaking": 2,
        "planned_removals": 1,
        "warnings": 1,
        "info": 2,
        "consumers": 3,
        "stale_consumers": 1,
        "unreadable_consumers": 1,
        "broken_downstreams": ["finance", "marketing"],
    }
    assert document["changes"][0]["impacts"][0]["repository"] == "acme/finance"
    assert document["consumers"][0]["repository"] == "acme/finance"
    assert document["base"] == BASE
    assert document["changes"][0]["impacts"][1] == {
        "downstream": "marketing",
        "repository": None,
        "via": "mesh-source",
        "node": "source.marketing.shop.customers_v1",
        "models": ["model.marketing.audience"],
        "may_break": [],
        "path": [],
        "transitive": False,
        "stale": True,
        "age_days": 45,
    }
    assert document["consumers"][2] == {
        "downstream": "rogue",
        "repository": None,
        "key": "shop/prod/consumers/rogue.json",
        "stale": False,
        "age_days": None,
        "problem": "not JSON",
        "recorded_at": None,
        "git_commit": None,
        "uses": 0,
    }
    warned = _report()
    warned.warn_only = True
    assert orjson.loads(check_json(warned))["ok"] is False
    assert orjson.loads(check_json(warned))["exit_code"] == 0


def test_every_change_code_diff_produces_is_in_the_schema():
    """Run diff over a surface that exercises every code, and validate the JSON built from it."""
    from support.nodes import col, model, typed

    v1, v2 = model("customers", version=1, latest=1), model("customers", version=2, latest=1)
    gone = model("gone")
    lowered = model("lowered")
    old = [
        v1,
        v2,
        gone,
        lowered,
        model(
            "orders",
            columns=[col("id", "int", "not_null"), col("a"), col("b", "int"), col("c", "int", description="x")],
            enforced=True,
        ),
        model("moved"),
        model("soon", deprecation_date="2025-06-30"),
        model("hidden", enforced=False),
        model("viewed", columns=[col("id", "integer", "not_null")]),
    ]
    new = [
        dict(v1, latest_version=2),
        dict(v2, latest_version=2, columns={}),
        model("customers", version=3, latest=2),
        model(
            "orders",
            columns=[col("id", "integer"), col("b", "varchar"), col("c", "integer", description="y"), col("d")],
            enforced=False,
            description="new",
            tags=["t"],
            meta={"m": 1},
        ),
        model("moved", schema="elsewhere"),
        model("soon"),
        model("hidden"),
        model("brand_new"),
        model("viewed", materialized="view", columns=[col("id", "integer", "not_null")]),
        model("deprecating", deprecation_date="2025-06-30"),
    ]
    changes = diff_surfaces(
        base=Surface({n["unique_id"]: typed(n) for n in old}, "duckdb"),
        current=Surface(
            {n["unique_id"]: typed(n) for n in new},
            "duckdb",
            {"model.shop.lowered": typed(dict(lowered, access="protected"))},
        ),
        today=date(2025, 1, 15),
    )
    report = _empty_report()
    report.assessed = [Assessed(c, ()) for c in changes]
    document = orjson.loads(check_json(report))
    _validator().validate(document)
    assert {c["code"] for c in document["changes"]} >= {
        "model-removed",
        "access-lowered",
        "column-removed",
        "type-changed",
        "type-respelled",
        "constraint-removed",
        "contract-disabled",
        "contract-enforced",
        "materialization-changed",
        "relation-moved",
        "latest-version-moved",
        "model-added",
        "version-added",
        "column-added",
        "deprecation-removed",
        "description-changed",
        "tags-changed",
        "meta-changed",
        "column-docs-changed",
    }


# --- text ----------------------------------------------------------------------------------------------


def test_check_text():
    text = check_text(_report())
    assert text.splitlines()[0] == (
        "meshkit check: shop/prod in /srv/registry, against contract aaaaaaaaaaaa (20250101T000000.000000Z)"
    )
    assert "  BREAKING [column-removed] column email of customers v1 was removed" in text.splitlines()
    assert (
        "           affects finance (acme/finance): revenue, churn; marketing (stale record): audience"
        in text.splitlines()
    )
    assert "  warning: consumer record shop/prod/consumers/rogue.json is unreadable (not JSON); it was ignored" in text
    assert text.endswith(
        "FAILED: 2 breaking changes to shop's public contract, breaking finance (acme/finance), marketing\n"
    )
    assert check_text(_empty_report()).endswith(
        "  public surface unchanged\n\nOK: no breaking changes to shop's public contract\n"
    )


# --- GitHub workflow commands ------------------------------------------------------------------------------


def test_escape_data_and_property():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("literal %0A stays") == "literal %250A stays"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotation_lines():
    assert annotation("error", "boom") == "::error::boom"
    assert annotation("warning", "a: b, c", title="meshkit check: x", file="models/a,b.yml") == (
        "::warning file=models/a%2Cb.yml,title=meshkit check%3A x::a: b, c"
    )
    assert annotation("notice", HOSTILE, title=HOSTILE) == (
        "::notice title=orders%0A%3A%3Aerror%3A%3Ax::orders%0A::error::x"
    )
    with pytest.raises(ValueError):
        annotation("debug", "x")


def test_repo_path_is_relative_to_the_working_directory_and_stays_inside_it():
    here = Path.cwd()
    assert repo_path(here / "proj", "models/a.yml") == "proj/models/a.yml"
    assert repo_path(here / "proj", None) is None
    assert repo_path(here / "proj", "../../../../../../../../etc/passwd") is None


_GITHUB_SNIPPET = """
import sys
from pathlib import Path
sys.path[:0] = [{tests!r}, {tests!r} + '/unit']
from test_check_report import _hostile_report
from meshkit.report.check import render_check
sys.stdout.write(render_check(_hostile_report(), "github", project_dir=Path.cwd() / "shop"))
"""


def _hostile_report() -> CheckReport:
    """The golden report plus a breaking change whose model, column and file names try to inject commands."""
    report = _report()
    report.assessed.insert(
        0,
        Assessed(
            Change(
                "column-removed",
                "breaking",
                HOSTILE,
                f"model.shop.{HOSTILE}",
                f"column {HOSTILE} of {HOSTILE} was removed",
                None,
                "integer",
                None,
                (HOSTILE,),
                "models/a,b:c.yml\n::error::y",
            ),
            report.assessed[0].impacts,
        ),
    )
    return report


def _run_github(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """In a child process, so $GITHUB_STEP_SUMMARY is the test's own file (and never a real runner's)."""
    environment = clean_env(**env)
    if "GITHUB_STEP_SUMMARY" not in env:
        environment.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run(
        [sys.executable, "-c", _GITHUB_SNIPPET.format(tests=str(TESTS))],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_github_format_cannot_inject_workflow_commands(tmp_path):
    result = _run_github(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == len(lines) - 1 and lines[-1].startswith("FAILED: ")
    assert not any(line.startswith("::error::x") or line.startswith("::error::y") for line in lines)
    first = commands[0]
    assert first.startswith(
        "::error file=shop/models/a%2Cb%3Ac.yml%0A%3A%3Aerror%3A%3Ay,title=meshkit check%3A "
        "column-removed::shop: column orders%0A::error::x of orders%0A::error::x was removed"
    )
    levels = [line.split(" ", 1)[0].split("::")[1] for line in commands]
    assert levels == ["error", "error", "error", "notice", "warning", "warning", "warning"]
    assert commands[-2] == (
        "::warning title=meshkit check%3A stale consumer::consumer marketing last validated 45 days ago"
    )
    assert commands[-1] == (
        "::warning title=meshkit check%3A consumer record::consumer record "
        "shop/prod/consumers/rogue.json is unreadable (not JSON)"
    )


def test_github_format_appends_the_markdown_to_the_step_summary(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    result = _run_github(tmp_path, GITHUB_STEP_SUMMARY=str(summary))
    assert result.returncode == 0, result.stderr
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("# earlier step\n<!-- meshkit:check:shop -->\n### ❌ meshkit check:")
    assert written.endswith("</details>\n")
    assert written == "# earlier step\n" + check_markdown(_hostile_report())


def test_github_format_without_a_step_summary_writes_no_file(tmp_path):
    result = _run_github(tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_append_step_summary_in_a_child_process(tmp_path):
    summary = tmp_path / "summary.md"
    code = "from meshkit.github.annotations import append_step_summary as a; print(a('one'), a('two\\n'))"

    def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)

    with_summary = run(clean_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert (with_summary.returncode, with_summary.stdout) == (0, "True True\n")
    assert summary.read_text(encoding="utf-8") == "one\ntwo\n"
    without = clean_env()
    without.pop("GITHUB_STEP_SUMMARY", None)
    assert run(without).stdout == "False False\n"
    broken = run(clean_env(GITHUB_STEP_SUMMARY=str(tmp_path)))  # a folder: cannot append
    assert broken.returncode != 0 and "cannot append to $GITHUB_STEP_SUMMARY" in broken.stderr


def test_render_check_dispatch():
    report = _report()
    assert render_check(report, "text", project_dir=Path(".")) == check_text(report)
    assert render_check(report, "json", project_dir=Path(".")) == check_json(report)
    assert render_check(report, "markdown", project_dir=Path(".")) == check_markdown(report)


def test_impacts_name_versioned_downstream_models_with_their_version():
    """A consumer's versioned model reads `revenue v2`; the bare last id part would read just `v2`."""
    report = _empty_report()
    change = Change(
        "column-removed",
        "breaking",
        "orders",
        "model.shop.orders",
        "column a of orders was removed",
        None,
        "integer",
        None,
        ("a",),
        None,
    )
    report.assessed = [
        Assessed(
            change,
            (
                Impact(
                    "finance",
                    "dbt-loom",
                    "model.shop.orders",
                    ("model.finance.revenue.v2", "model.finance.costs"),
                    False,
                    1,
                ),
                Impact("ads", "mesh-source", "source.ads.shop.orders", (), False, 1),
            ),
        )
    ]
    assert "           affects finance: revenue v2, costs; ads: orders" in check_text(report).splitlines()


def test_a_record_without_downstream_models_still_draws_its_consumer():
    """A dbt-loom use names the upstream's own unique_id as its node: that must not collapse into the upstream node."""
    report = _empty_report()
    use = Use("model.shop.orders", "orders", None, True, "dbt-loom", "model.shop.orders", None, ())
    record = ConsumerRecord("finance", "shop", "prod", "2025-01-10T08:00:00Z", None, None, (use,))
    report.consumers = [ConsumerStatus("finance", "shop/prod/consumers/finance.json", record, 2, False)]
    [fence] = [t for t in _tokens(check_markdown(report)) if t.type == "fence"]
    assert 'subgraph g1["finance"]' in fence.content
    assert '    n1["orders"]' in fence.content.splitlines()
    assert '  n0 -->|"dbt-loom"| n1' in fence.content.splitlines()
