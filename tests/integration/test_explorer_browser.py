"""The mesh explorer (`meshkit catalog`) in a real browser: Debian's Chromium driven by Playwright for Python.

The registry is the built demo mesh plus what a team's history holds: both downstreams' consumer records,
a publish that dropped a column (breaking) and the publish that restored it. The page is opened from
file://, under its own Content-Security-Policy. The "what if" answers are compared with `meshkit check
--format json` on real pull requests that remove those columns. Screenshots (light and dark) and the axe
results are kept in artifacts/.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from support import explorer as ex
from support.helpers import REPO, meshkit

UP_MANIFEST = Path("dbt_up/target/manifest.json")
ORDERS = "model.dbt_up.public_orders"
CUSTOMERS_V1 = "model.dbt_up.public_customers.v1"
ARTIFACTS = REPO / "artifacts"
ORDERS_ROUTE = "#/p/dbt_up/prod/m/public_orders/v/-"
V1_ROUTE = "#/p/dbt_up/prod/m/public_customers/v/1"
FIRST_NAME_ROUTE = V1_ROUTE + "/c/first_name"

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
IMG_FILENAME = "'><img src=x onerror=alert(3)>"  # a consumer record key no team should be able to write


def publish(mesh: Path) -> None:
    result = meshkit("publish", "--project-dir", "dbt_up", "--registry", "registry", cwd=mesh)
    assert result.returncode == 0, result.stdout + result.stderr


def write_catalog(mesh: Path, output: Path) -> Path:
    result = meshkit("catalog", "--registry", "registry", "-o", output, cwd=mesh)
    assert result.returncode == 0, result.stdout + result.stderr
    return output


def copy_mesh(built_mesh: Path, dest: Path) -> Path:
    shutil.copytree(built_mesh, dest, ignore=shutil.ignore_patterns("logs", "__pycache__"), symlinks=True)
    return dest


def without_column(manifest: bytes, unique_id: str, column: str) -> bytes:
    data = orjson.loads(manifest)
    del data["nodes"][unique_id]["columns"][column]
    return orjson.dumps(data)


@pytest.fixture(scope="module")
def catalog_mesh(built_mesh: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built mesh with consumer records and a three-entry history: first, breaking, restoring."""
    mesh = copy_mesh(built_mesh, tmp_path_factory.mktemp("explorer") / "mesh")
    recorded = meshkit("validate", "--all", "--record-consumer", "--registry", "registry", cwd=mesh)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    original = (mesh / UP_MANIFEST).read_bytes()
    (mesh / UP_MANIFEST).write_bytes(without_column(original, ORDERS, "status"))
    publish(mesh)
    (mesh / UP_MANIFEST).write_bytes(original)
    publish(mesh)
    return mesh


@pytest.fixture(scope="module")
def page_file(catalog_mesh: Path) -> Path:
    return write_catalog(catalog_mesh, catalog_mesh.parent / "site" / "index.html")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with ex.launched() as launched:
        yield launched


@pytest.fixture
def app(chromium: Any, page_file: Path) -> Iterator[ex.Explorer]:
    with ex.explorer(chromium, page_file) as opened:
        yield opened
        assert opened.csp_violations() == [], opened.console
        assert opened.problems() == []
        assert {url.split("#")[0] for url in opened.requests} == {opened.url}, "the page fetched something"


def texts(app: ex.Explorer, selector: str) -> list[str]:
    return [" ".join(t.split()) for t in app.page.locator(selector).all_inner_texts()]


# --- the page as a whole --------------------------------------------------------------------------------------


def test_home_renders_the_search_box_and_the_project_graph(app: ex.Explorer) -> None:
    app.open()
    assert app.page.is_visible("#q")
    assert int(app.attr("body", "data-first-render-ms") or "-1") >= 0
    graph = app.page.locator(".graphbox svg.graph")
    nodes = {n.get_attribute("data-node"): n.get_attribute("class") for n in graph.locator("g.node").all()}
    assert {k: "publisher" in (v or "") for k, v in nodes.items()} == {
        "dbt_up": True,
        "dbt_down": False,
        "dbt_down_loom": False,
    }
    edges = {(e.get_attribute("data-from"), e.get_attribute("data-to")) for e in graph.locator("path.edge").all()}
    assert edges == {("dbt_up", "dbt_down"), ("dbt_up", "dbt_down_loom")}
    stats = {k: app.page.inner_text(f"#stat-{k}") for k in ("projects", "envs", "models", "consumers")}
    assert stats == {"projects": "1", "envs": "1", "models": "4", "consumers": "2"}


def test_the_embedded_data_is_the_catalog_json(catalog_mesh: Path, page_file: Path) -> None:
    """The page holds `meshkit catalog --format json`, every `<` escaped so it cannot close its script."""
    result = meshkit("catalog", "--registry", "registry", "--format", "json", "--output", "-", cwd=catalog_mesh)
    assert result.returncode == 0, result.stderr
    html = page_file.read_text(encoding="utf-8")
    embedded = html.split('<script type="application/json" id="meshkit-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded) == json.loads(result.stdout)
    assert json.loads(result.stdout)["schema"] == "meshkit-catalog/3"


# --- search, navigation, permalinks -----------------------------------------------------------------------------


def test_typing_in_search_ranks_results_over_the_data(app: ex.Explorer) -> None:
    app.open()
    app.page.fill("#q", "")
    app.page.type("#q", "first_nam", delay=20)
    app.page.wait_for_selector("#q-results[data-query='first_nam'] li[role=option]")
    options = texts(app, "#q-results li[role=option] .title")
    assert options[0] == "public_customers v1.first_name"
    assert options[-1].startswith("All ")
    assert app.attr("#q", "aria-expanded") == "true"
    # groups and owners are searched too: the owner "Finance Analytics" owns the finance group's models
    app.page.fill("#q", "finance analytics")
    app.page.wait_for_selector("#q-results[data-query='finance analytics'] li.opt.model")
    assert set(texts(app, "#q-results li.opt.model .title")) == {"public_orders", "public_payments"}
    app.page.fill("#q", "customer_success")
    app.page.wait_for_selector("#q-results[data-query='customer_success'] li.opt.model")
    assert set(texts(app, "#q-results li.opt.model .title")) == {"public_customers v1", "public_customers v2"}


def test_clicking_through_to_a_column(app: ex.Explorer) -> None:
    app.open()
    app.page.click(".graphbox g.node[data-node='dbt_up']")
    app.wait("#/p/dbt_up/prod")
    app.page.click(".vlist a:text-is('public_customers')")
    app.wait("#/p/dbt_up/prod/m/public_customers")
    assert texts(app, "table tbody tr td:first-child") == ["v2", "v1"]
    app.page.click("a:text-is('v1')")
    app.wait(V1_ROUTE)
    assert texts(app, "table.columns tbody tr td:first-child") == [
        "customer_id",
        "first_name",
        "last_name",
        "email",
        "first_order_date",
        "number_of_orders",
    ]
    assert "deprecated" in app.page.inner_text("h1")
    app.page.click("table.columns a:text-is('first_name')")
    app.wait(FIRST_NAME_ROUTE)
    assert app.page.inner_text("h1") == "Column first_name of public_customers v1 dbt_up / prod"
    assert texts(app, "#crumbs li") == ["mesh", "dbt_up", "prod", "public_customers", "v1", "first_name"]
    readers = {r.get_attribute("data-downstream") for r in app.page.locator("table.readers tbody tr").all()}
    assert readers == {"dbt_down", "dbt_down_loom"}


def test_following_a_permalink(app: ex.Explorer) -> None:
    app.open(FIRST_NAME_ROUTE)
    assert app.page.inner_text("h1") == "Column first_name of public_customers v1 dbt_up / prod"
    app.open(ORDERS_ROUTE + "/whatif/status")
    assert app.page.input_value("#whatif-column") == "status"
    assert app.attr("#whatif-result", "data-column") == "status"
    app.open("#/search/" + quote("orders", safe=""))
    assert int(app.attr("body", "data-results") or 0) >= 2
    app.open("#/p/dbt_up/prod/m/no_such_model")
    assert app.page.inner_text("h1") == "Not found"


def test_expanding_the_graph_hop_by_hop(app: ex.Explorer) -> None:
    app.open(ORDERS_ROUTE)
    box = app.page.locator(".graphbox")
    assert box.get_attribute("data-nodes") == "5"  # public_orders and the four consumer models reading it
    clv = "dbt_down|model.dbt_down.customer_lifetime_value"
    app.page.click(f".graphbox g.expander[data-expand='{clv}']")
    v2 = "dbt_up|model.dbt_up.public_customers.v2"
    app.page.wait_for_selector(f".graphbox g.node[data-node='{v2}']")
    assert box.get_attribute("data-nodes") == "6"
    assert app.page.locator(f".graphbox path.edge[data-from='{v2}'][data-to='{clv}']").count() == 1
    assert app.page.locator(f".graphbox g.expander[data-expand='{clv}']").count() == 0  # its hop is shown


def test_a_columns_lineage_names_the_models_that_read_it(app: ex.Explorer) -> None:
    app.open(ORDERS_ROUTE + "/c/status")
    targets = {e.get_attribute("data-to") for e in app.page.locator(".graphbox path.edge").all()}
    # loom_customer_orders reads public_orders, but not its status column
    assert targets == {
        "dbt_down|model.dbt_down.customer_lifetime_value",
        "dbt_down|model.dbt_down.orders_by_status",
        "dbt_down_loom|model.dbt_down_loom.loom_orders_by_status",
    }


def test_keyboard_only(app: ex.Explorer) -> None:
    page = app.page
    app.open()

    def tab_to(selector: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement && document.activeElement.matches({json.dumps(selector)})"):
                return
        pytest.fail(f"Tab never reached {selector}")

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("first_nam")
    page.wait_for_selector("#q-results[data-query='first_nam'] li[aria-selected=true]")
    page.keyboard.press("Enter")
    app.wait(FIRST_NAME_ROUTE)
    assert page.evaluate("document.activeElement.tagName") == "H1"  # focus moves to the new view

    app.open()
    tab_to(".graphbox g.node[data-node='dbt_up']")
    page.keyboard.press("Enter")
    app.wait("#/p/dbt_up/prod")
    tab_to(".vlist a")
    page.keyboard.press("ArrowDown")  # through the virtualised list of models
    assert page.evaluate("document.activeElement.textContent") == "public_orders"
    page.keyboard.press("Enter")
    app.wait("#/p/dbt_up/prod/m/public_orders")
    tab_to("table a")
    page.keyboard.press("Enter")
    app.wait(ORDERS_ROUTE)
    tab_to("#whatif-column")
    page.keyboard.press("ArrowDown")  # a select changes with the keyboard: the first column
    page.wait_for_selector("#whatif-result[data-column='order_id']", state="attached")
    tab_to(".graphbox g.expander")
    page.keyboard.press("Enter")
    page.wait_for_selector(".graphbox[data-nodes='6']", state="attached")
    tab_to(".graphbox g.node.public")
    page.keyboard.press("Enter")
    assert re.match(r"#/p/dbt_up/prod/m/public_(orders|customers)/v/", app.route())
    page.keyboard.press("Escape")


def test_history_shows_each_publishs_changes_in_checks_words(app: ex.Explorer, catalog_mesh: Path) -> None:
    app.open("#/p/dbt_up/prod")
    items = app.page.locator("ol.timeline > li")
    assert items.count() == 3
    assert [("breaking" in (i.get_attribute("class") or "")) for i in items.all()] == [False, True, False]
    broke = items.nth(1)
    assert "1 change, 1 breaking" in broke.inner_text()
    broke.locator("summary").click()
    assert texts(app, "ol.timeline > li:nth-child(2) li.change .message") == [
        "column status of public_orders was removed"
    ]
    ids = [i.get_attribute("data-history-id") for i in items.all()]
    app.page.select_option("#from", ids[2])
    app.page.select_option("#to", ids[0])
    app.page.click("form.compare button")
    app.wait(f"#/p/dbt_up/prod/history/{quote(ids[2])}/{quote(ids[0])}")
    assert texts(app, "#diff li.change .message") == [
        "column status of public_orders was removed",
        "column status of public_orders was added",
    ]


# --- what if: the same answer as check ------------------------------------------------------------------------


def check_json_removing(mesh: Path, unique_id: str, column: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """`meshkit check` of a pull request that removes one column: its change as JSON, and its text line."""
    pr = tmp_path / f"pr-{column}.json"
    pr.write_bytes(without_column((mesh / UP_MANIFEST).read_bytes(), unique_id, column))
    args = ("check", "--project-dir", "dbt_up", "--registry", "registry", "--manifest", pr)
    result = meshkit(*args, "--format", "json", cwd=mesh)
    assert result.returncode == 1, result.stdout + result.stderr
    [change] = [c for c in json.loads(result.stdout)["changes"] if c["code"] == "column-removed"]
    text = meshkit(*args, cwd=mesh).stdout
    affects = [line.strip() for line in text.splitlines() if line.strip().startswith("affects ")]
    return change, affects[0] if affects else ""


@pytest.mark.parametrize(
    ("unique_id", "route", "column"),
    [
        (ORDERS, ORDERS_ROUTE, "status"),
        (ORDERS, ORDERS_ROUTE, "order_date"),
        (CUSTOMERS_V1, V1_ROUTE, "first_name"),
    ],
)
def test_what_if_names_the_models_check_names(
    app: ex.Explorer, catalog_mesh: Path, tmp_path: Path, unique_id: str, route: str, column: str
) -> None:
    change, affects = check_json_removing(catalog_mesh, unique_id, column, tmp_path)
    expected = {(i["downstream"], tuple(i["models"]), tuple(i["may_break"])) for i in change["impacts"]}
    assert expected, "the pull request breaks someone"

    app.open(route)
    app.page.select_option("#whatif-column", column)
    app.page.wait_for_selector(f"#whatif-result[data-column='{column}']", state="attached")
    rows = app.page.locator("#whatif-result tr.impact").all()
    shown = {
        (
            r.get_attribute("data-downstream"),
            tuple(r.locator("td.models code").all_inner_texts()),
            tuple(r.locator("td.may-break code").all_inner_texts()),
        )
        for r in rows
    }
    assert shown == expected
    assert app.page.inner_text("#whatif-result .message") == change["message"]
    assert "affects " + app.page.inner_text("#whatif-result .affects span") == affects
    assert app.route() == f"{route}/whatif/{column}"


def test_what_if_of_a_column_nobody_reads(app: ex.Explorer) -> None:
    app.open("#/p/dbt_up/prod/m/public_payments/v/-/whatif/amount")
    assert app.page.inner_text("#whatif-result") == "Removing amount: no consumer reads it."
    assert app.attr("#whatif-result", "data-breaks") == "0"


# --- safety -----------------------------------------------------------------------------------------------------


def test_the_page_allows_only_its_own_inline_code_and_fetches_nothing(page_file: Path) -> None:
    import base64
    import hashlib

    from support import browser

    html = page_file.read_text(encoding="utf-8")
    dom = browser.parse_html(html)
    csp = dom.one("meta", http_equiv="Content-Security-Policy").get("content") or ""
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"] and directives["img-src"] == ["data:"]
    assert directives["base-uri"] == ["'none'"] and directives["form-action"] == ["'none'"]

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    scripts = [s for s in dom.find_all("script") if s.get("type") != "application/json"]
    assert len(scripts) == 2  # the vendored layout library and the explorer
    assert directives["script-src"] == [digest(s.text()) for s in scripts]
    assert directives["style-src"] == [digest(dom.one("style").text())]
    for element in dom.iter():
        assert element.tag not in {"link", "iframe", "img", "object", "embed", "base", "video", "audio", "source"}
        assert not any(name.startswith("on") for name in element.attrs), element.attrs
        for name in ("src", "href", "action", "srcset", "xlink:href"):
            assert element.get(name) is None or (element.get(name) or "").startswith("#"), element.attrs


@pytest.fixture(scope="module")
def hostile_page(built_mesh: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry whose contract and consumer records carry markup, and a consumer key that is markup."""
    mesh = copy_mesh(built_mesh, tmp_path_factory.mktemp("hostile") / "mesh")
    manifest = orjson.loads((mesh / UP_MANIFEST).read_bytes())
    orders = manifest["nodes"][ORDERS]
    orders["description"] = f"Orders {SCRIPT} {IMG}"
    orders["columns"]["status"]["description"] = f"{IMG} status {SCRIPT}"
    orders["columns"]["status"]["data_type"] = f"varchar{IMG}"
    (mesh / UP_MANIFEST).write_bytes(orjson.dumps(manifest))
    publish(mesh)
    consumers = mesh / "registry/dbt_up/prod/consumers"
    consumers.mkdir(parents=True, exist_ok=True)
    record = {
        "format": "meshkit-consumer/1",
        "meshkit_version": "0",
        "downstream": "dbt_down",
        "upstream": "dbt_up",
        "env": "prod",
        "recorded_at": "2000-01-01T00:00:00Z",
        "git_commit": SCRIPT,
        "contract_sha256": IMG,
        "uses": [
            {
                "unique_id": ORDERS,
                "model": IMG,
                "version": None,
                "pinned": True,
                "via": "dbt-loom",
                "node": SCRIPT,
                "columns": [IMG],
                "downstream_models": [f"model.dbt_down.{SCRIPT}", f"model.dbt_down.{IMG}"],
            }
        ],
    }
    (consumers / "dbt_down.json").write_bytes(orjson.dumps(record))
    (consumers / f"{IMG_FILENAME}.json").write_bytes(b"{}")
    return write_catalog(mesh, mesh.parent / "hostile.html")


def test_a_hostile_registry_renders_as_text(chromium: Any, hostile_page: Path) -> None:
    html = hostile_page.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img" not in html  # escaped in the file itself, not just the DOM
    with ex.explorer(chromium, hostile_page) as app:
        app.open(ORDERS_ROUTE)
        assert app.page.inner_text("p.description") == f"Orders {SCRIPT} {IMG}"
        status = app.page.locator("table.columns tr[data-column='status'] td")
        assert status.all_inner_texts()[1:] == [f"varchar{IMG}", "not_null", f"{IMG} status {SCRIPT}"]
        readers = app.page.locator("tr[data-downstream='dbt_down'] code").all_inner_texts()
        assert readers == [SCRIPT, IMG]
        app.open("#/p/dbt_up/prod")
        rows = {r.get_attribute("data-downstream") for r in app.page.locator("tr[data-downstream]").all()}
        assert rows == {"dbt_down", IMG_FILENAME}
        assert "unsafe downstream name in key" in app.page.inner_text(f"tr[data-downstream={json.dumps(IMG_FILENAME)}]")
        # the search box takes the payload as a query, and the URL fragment too
        app.open("#/search/" + quote(IMG, safe=""))
        assert app.page.input_value("#q") == IMG
        assert app.page.locator("img").count() == 0
        assert (
            app.page.evaluate(
                "[...document.querySelectorAll('*')].some(e => [...e.attributes].some(a => a.name.startsWith('on')))"
            )
            is False
        )
        assert app.csp_violations() == [] and app.problems() == []


# --- accessibility and pictures -----------------------------------------------------------------------------------

VIEWS = {
    "home": "#/",
    "env": "#/p/dbt_up/prod",
    "model": ORDERS_ROUTE + "/whatif/status",
    "column": FIRST_NAME_ROUTE,
    "history": "#/p/dbt_up/prod/history",
    "search": "#/search/customer",
}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_serious_or_critical_violation(chromium: Any, page_file: Path, theme: str) -> None:
    """axe-core (pinned in tests/js) on every kind of view; its findings are kept in artifacts/ either way."""
    report: dict[str, Any] = {}
    with ex.explorer(chromium, page_file, dark=theme == "dark", bypass_csp=True) as app:
        for name, route in VIEWS.items():
            app.open(route)
            app.page.add_script_tag(path=str(ex.axe_js()))
            found = app.page.evaluate(
                "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => "
                "({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help})))"
            )
            report[name] = found
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"explorer-axe-{theme}.json").write_text(json.dumps(report, indent=2) + "\n")
    serious = {name: [v for v in found if v["impact"] in ("serious", "critical")] for name, found in report.items()}
    assert serious == {name: [] for name in VIEWS}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(chromium: Any, page_file: Path, theme: str) -> None:
    with ex.explorer(chromium, page_file, dark=theme == "dark") as app:
        for name in ("home", "model", "column"):
            app.open(VIEWS[name])
            assert app.page.get_attribute("html", "data-theme") == theme
            shot = ARTIFACTS / f"explorer-{name}-{theme}.png"
            shot.parent.mkdir(exist_ok=True)
            app.page.screenshot(path=str(shot), full_page=True)
            data = shot.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, (shot, len(data))
