"""`meshkit catalog` renders in a real browser: headless Chromium loads the page, runs its script
under its own Content-Security-Policy, and the tests read the DOM as rendered.

The registry is the built demo mesh plus what a real team's history would hold: both
downstreams' consumer records, a publish that dropped a column (breaking) and the publish that
restored it. A screenshot of the page is kept in artifacts/catalog.png.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import struct
import zlib
from datetime import date
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest

from support import browser
from support.helpers import REPO, meshkit

UP_MANIFEST = Path("dbt_up/target/manifest.json")
ORDERS = "model.dbt_up.public_orders"
PAYMENTS = "model.dbt_up.public_payments"
CUSTOMERS_V1 = "model.dbt_up.public_customers.v1"
CUSTOMERS_V2 = "model.dbt_up.public_customers.v2"
# What dbt_up's models/marts/_public.yml declares: every public model version's columns and types, in order.
COLUMNS = {
    ORDERS: [
        ("order_id", "integer"),
        ("customer_id", "integer"),
        ("order_date", "date"),
        ("status", "varchar"),
        ("amount", "decimal(18,2)"),
        ("payment_count", "integer"),
    ],
    PAYMENTS: [
        ("payment_id", "integer"),
        ("order_id", "integer"),
        ("payment_method", "varchar"),
        ("amount", "decimal(18,2)"),
    ],
    CUSTOMERS_V1: [
        ("customer_id", "integer"),
        ("first_name", "varchar"),
        ("last_name", "varchar"),
        ("email", "varchar"),
        ("first_order_date", "date"),
        ("number_of_orders", "integer"),
    ],
    CUSTOMERS_V2: [
        ("customer_id", "integer"),
        ("full_name", "varchar"),
        ("email", "varchar"),
        ("first_order_date", "date"),
        ("number_of_orders", "integer"),
    ],
}
# Who reads what, as both downstreams' consumer records say: downstream -> (via, downstream models).
READERS = {
    ORDERS: {
        "dbt_down": ("mesh-source", ["customer_lifetime_value", "orders_by_status"]),
        "dbt_down_loom": ("dbt-loom", ["loom_customer_orders", "loom_orders_by_status"]),
    },
    PAYMENTS: {},
    CUSTOMERS_V1: {
        "dbt_down": ("mesh-source", ["legacy_customer_names"]),
        "dbt_down_loom": ("dbt-loom", ["loom_legacy_customers"]),
    },
    CUSTOMERS_V2: {
        "dbt_down": ("mesh-source", ["customer_lifetime_value"]),
        "dbt_down_loom": ("dbt-loom", ["loom_customer_orders"]),
    },
}
DOWNSTREAM_MODELS = {
    "dbt_down": {"legacy_customer_names", "customer_lifetime_value", "orders_by_status"},
    "dbt_down_loom": {"loom_legacy_customers", "loom_customer_orders", "loom_orders_by_status"},
}
V1_DEPRECATION = "2027-06-30"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an XML namespace name, never fetched
# Attributes through which a page can make the browser fetch something.
URL_ATTRIBUTES = {
    "src",
    "href",
    "xlink:href",
    "srcset",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
    "manifest",
    "ping",
    "longdesc",
    "cite",
    "codebase",
    "archive",
    "imagesrcset",
}

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
IMG_FILENAME = "'><img src=x onerror=alert(3)>"  # a consumer record key no team should be able to write
LONG_MODEL = "customer_lifetime_value_by_region_v2x"  # 37 characters: more than a lineage box holds


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


@pytest.fixture(scope="module")
def catalog_mesh(built_mesh: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built mesh with consumer records and a three-entry history: first, breaking, restoring."""
    mesh = copy_mesh(built_mesh, tmp_path_factory.mktemp("catalog") / "mesh")
    recorded = meshkit("validate", "--all", "--record-consumer", "--registry", "registry", cwd=mesh)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    # A new build of dbt_up that dropped public_orders.status, published, then the fix published.
    original = (mesh / UP_MANIFEST).read_bytes()
    manifest = orjson.loads(original)
    del manifest["nodes"][ORDERS]["columns"]["status"]
    (mesh / UP_MANIFEST).write_bytes(orjson.dumps(manifest))
    publish(mesh)
    (mesh / UP_MANIFEST).write_bytes(original)
    publish(mesh)
    return mesh


@pytest.fixture(scope="module")
def page_file(catalog_mesh: Path) -> Path:
    return write_catalog(catalog_mesh, catalog_mesh.parent / "catalog.html")


@pytest.fixture(scope="module")
def page(page_file: Path) -> browser.Page:
    return browser.load(browser.file_url(page_file))


@pytest.fixture(scope="module")
def dom(page: browser.Page) -> browser.Element:
    return page.dom


def history_ids(mesh: Path) -> list[str]:
    return sorted((p.name for p in (mesh / "registry/dbt_up/prod/history").iterdir()), reverse=True)


def card(dom: browser.Element, unique_id: str) -> browser.Element:
    return dom.one("article", "model", data_unique_id=unique_id)


def test_script_ran_under_the_pages_own_policy(page: browser.Page) -> None:
    body = page.dom.one("body")
    assert body.get("data-ready") == "1", page.console
    assert body.get("data-visible-models") == "4"
    assert page.dom.one("b", id="shown").text() == "4"
    # A hash that did not match the inline style or script, or anything trying to load, is logged here.
    assert page.csp_violations() == []


def test_stats(dom: browser.Element) -> None:
    stats = {key: dom.one("b", id=f"stat-{key}").text() for key in ("projects", "envs", "models", "consumers")}
    assert stats == {"projects": "1", "envs": "1", "models": "4", "consumers": "2"}


def test_lineage_lanes_nodes_and_edges(dom: browser.Element) -> None:
    svg = dom.one("svg", id="lineage-prod")
    lanes = {lane.get("data-project"): lane for lane in svg.find_all("g", "lane")}
    assert set(lanes) == {"dbt_up", "dbt_down", "dbt_down_loom"}
    assert {n.get("data-node"): sorted(n.classes - {"node"}) for n in lanes["dbt_up"].find_all("g", "node")} == {
        ORDERS: ["public"],
        PAYMENTS: ["public"],
        CUSTOMERS_V1: ["deprecated"],
        CUSTOMERS_V2: ["public"],
    }
    for project, models in DOWNSTREAM_MODELS.items():
        nodes = lanes[project].find_all("g", "node")
        assert {n.get("data-node") for n in nodes} == {f"model.{project}.{m}" for m in models}
        assert {n.one("text").text() for n in nodes} == models
        assert all("consumer" in n.classes for n in nodes)
    edges = svg.find_all("path", "edge")
    assert len(edges) == sum(len(models) for readers in READERS.values() for _, models in readers.values()) == 8
    assert all(e.get("d", "").startswith("M") for e in edges)
    # The two links out of the deprecated v1 are drawn as deprecated, the rest as normal.
    assert sorted(" ".join(sorted(e.classes - {"edge"})) for e in edges) == ["deprecated"] * 2 + ["normal"] * 6
    assert sorted(e.one("title").text() for e in edges) == sorted(
        ["mesh-source: dbt_down"] * 4 + ["dbt-loom: dbt_down_loom"] * 4
    )


@pytest.mark.parametrize("unique_id", list(COLUMNS))
def test_model_card_columns_and_types(dom: browser.Element, unique_id: str) -> None:
    article = card(dom, unique_id)
    rows = article.one("table", "columns").one("tbody").find_all("tr")
    assert [tuple(td.squashed() for td in row.find_all("td")[:2]) for row in rows] == COLUMNS[unique_id]
    assert "contract enforced" in [b.squashed() for b in article.find_all("span", "badge")]


@pytest.mark.parametrize("unique_id", list(READERS))
def test_model_card_consumers(dom: browser.Element, unique_id: str) -> None:
    readers = card(dom, unique_id).one("div", "readers")
    found = {
        li.get("data-downstream"): (
            li.squashed().split(" via ")[1].split(":")[0],
            [c.text() for c in li.find_all("code")],
        )
        for li in readers.find_all("li", data_downstream=True)
    }
    assert found == READERS[unique_id]
    if not READERS[unique_id]:
        assert "none on record" in readers.squashed()


def test_versions_and_deprecation_badges(dom: browser.Element) -> None:
    def badges(unique_id: str) -> dict[str, str]:
        found = card(dom, unique_id).find_all("span", "badge")
        return {" ".join(sorted(b.classes - {"badge"})): b.squashed() for b in found}

    v1, v2 = badges(CUSTOMERS_V1), badges(CUSTOMERS_V2)
    assert v1["version"] == "v1" and v2["version"] == "v2"
    assert "latest" not in v1 and v2["latest"] == "latest"
    past = date.today() >= date.fromisoformat(V1_DEPRECATION)
    assert v1["past" if past else "deprecated"] == f"deprecated {'since' if past else 'from'} {V1_DEPRECATION}"
    assert not {"deprecated", "past"} & set(v2)
    assert "latest is v2" in card(dom, CUSTOMERS_V1).one("div", "muted").squashed()
    for unversioned in (ORDERS, PAYMENTS):
        assert not {"version", "latest", "deprecated", "past"} & set(badges(unversioned))


def test_consumer_records_table(dom: browser.Element) -> None:
    section = dom.one("section", "project", data_project="dbt_up", data_env="prod")
    rows = {
        tr.get("data-downstream"): [td.squashed() for td in tr.find_all("td")]
        for tr in section.one("table", "consumers").find_all("tr", data_downstream=True)
    }
    assert set(rows) == {"dbt_down", "dbt_down_loom"}
    for downstream, cells in rows.items():
        assert cells[0] == downstream
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cells[1]), cells
        assert cells[3] == "3"  # public_orders, public_customers v1 and v2
        # Recorded moments ago; the age may be off by one when the local date and UTC's differ.
        age = re.fullmatch(r"fresh \((-?\d+) days old\)", cells[4])
        assert age and abs(int(age.group(1))) <= 1, cells


def test_history_timeline(dom: browser.Element, catalog_mesh: Path) -> None:
    entries = dom.one("ol", "timeline").find_all("li", data_history_id=True)
    ids = history_ids(catalog_mesh)
    assert len(ids) == 3
    assert [li.get("data-history-id") for li in entries] == ids  # newest first
    restored, broke, first = (li.squashed() for li in entries)
    assert [("breaking" in li.classes) for li in entries] == [False, True, False]
    assert "1 change" in restored and "breaking" not in restored  # a column added back
    assert "1 change, 1 breaking" in broke  # public_orders.status removed
    assert first.endswith("first publish")
    for li in entries:
        assert re.search(r"· [0-9a-f]{12} ·", li.squashed()), li.squashed()
        assert "4 public" in li.squashed()


def test_filter_from_the_url(page_file: Path) -> None:
    """?q= filters the cards: `legacy` names a consumer model of v1 only, so one card stays visible."""
    filtered = browser.load(browser.file_url(page_file, "q=legacy")).dom
    body = filtered.one("body")
    assert body.get("data-ready") == "1"
    assert body.get("data-visible-models") == "1"
    assert filtered.one("b", id="shown").text() == "1"
    shown = [a.get("data-unique-id") for a in filtered.find_all("article", "model") if "hidden" not in a.classes]
    assert shown == [CUSTOMERS_V1]


def test_screenshot_artefact(page_file: Path) -> None:
    png = browser.screenshot(browser.file_url(page_file), REPO / "artifacts" / "catalog.png", width=1280, height=2000)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000, len(data)
    # Not a blank page: the decoded pixels take many distinct values.
    pixels = b"".join(data[pos + 8 : pos + 8 + length] for pos, length in _chunks(data, b"IDAT"))
    assert len(set(zlib.decompress(pixels))) > 64


def _chunks(data: bytes, kind: bytes) -> list[tuple[int, int]]:
    found, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == kind:
            found.append((pos, length))
        pos += 12 + length
    return found


def test_page_fetches_nothing(page_file: Path) -> None:
    """Static: a locked-down CSP whose hashes are the inline style and script, and no external URL anywhere."""
    html = page_file.read_text(encoding="utf-8")
    dom = browser.parse_html(html)
    csp = dom.one("meta", http_equiv="Content-Security-Policy").get("content")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"] and directives["form-action"] == ["'none'"]
    for tag, directive in (("style", "style-src"), ("script", "script-src")):
        (element,) = dom.find_all(tag)
        digest = base64.b64encode(hashlib.sha256(element.text().encode()).digest()).decode()
        assert directives[directive] == [f"'sha256-{digest}'"], directive
    for element in dom.iter():
        assert not URL_ATTRIBUTES & set(element.attrs), (element.tag, element.attrs)
        assert element.tag not in {"link", "iframe", "img", "object", "embed", "base", "video", "audio", "source"}
    assert dom.one("svg").get("xmlns") == SVG_NAMESPACE
    assert re.findall(r"[a-z][a-z0-9+.-]*://[^\s\"'<>)]*", html, re.IGNORECASE) == [SVG_NAMESPACE] * len(
        dom.find_all("svg")
    )
    assert not re.search(r"url\(|@import|//[a-z0-9-]+\.[a-z]", html.replace(SVG_NAMESPACE, ""), re.IGNORECASE)


@pytest.fixture(scope="module")
def hostile_page(built_mesh: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[browser.Page, str]:
    """A registry whose contract and consumer records carry markup, and a consumer key that is markup."""
    mesh = copy_mesh(built_mesh, tmp_path_factory.mktemp("hostile") / "mesh")
    manifest = orjson.loads((mesh / UP_MANIFEST).read_bytes())
    orders = manifest["nodes"][ORDERS]
    orders["description"] = f"Orders {SCRIPT} {IMG}"
    orders["group"] = IMG
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
                "downstream_models": [
                    f"model.dbt_down.{SCRIPT}",
                    f"model.dbt_down.{IMG}",
                    f"model.dbt_down.{LONG_MODEL}",
                ],
            }
        ],
    }
    (consumers / "dbt_down.json").write_bytes(orjson.dumps(record))
    (consumers / f"{IMG_FILENAME}.json").write_bytes(b"{}")
    page_file = write_catalog(mesh, mesh.parent / "hostile.html")
    # The filter from the URL is attacker-controlled too: it must land as a value, not as markup.
    return browser.load(browser.file_url(page_file, "q=" + quote(IMG, safe=""))), page_file.read_text()


def test_hostile_registry_renders_as_text(hostile_page: tuple[browser.Page, str]) -> None:
    page, html = hostile_page
    dom = page.dom
    assert dom.one("body").get("data-ready") == "1"
    # Structure: the page's own single script, no image, no event handler anywhere.
    assert len(dom.find_all("script")) == 1
    assert dom.find_all("img") == []
    assert [e.attrs for e in dom.iter() if any(name.startswith("on") for name in e.attrs)] == []
    assert page.csp_violations() == []
    assert "<script>alert" not in html and "<img" not in html  # escaped in the file itself, not just the DOM

    # And each hostile string reads back, verbatim, as text where it belongs.
    orders = card(dom, ORDERS)
    assert orders.one("p").text() == f"Orders {SCRIPT} {IMG}"
    assert f"group {IMG}" in orders.one("div", "muted").squashed()
    rows = orders.one("table", "columns").one("tbody").find_all("tr")
    status = [row for row in rows if row.find("td").squashed() == "status"]
    assert [td.text() for td in status[0].find_all("td")] == [
        "status",
        f"varchar{IMG}",
        "not_null",
        f"{IMG} status {SCRIPT}",
    ]
    reader = orders.one("li", data_downstream="dbt_down")
    assert [c.text() for c in reader.find_all("code")] == [SCRIPT, IMG, LONG_MODEL]
    assert "stale record" in reader.squashed()
    lane = dom.one("g", "lane", data_project="dbt_down")
    nodes = {n.get("data-node"): n for n in lane.find_all("g", "node")}
    assert set(nodes) == {f"model.dbt_down.{m}" for m in (SCRIPT, IMG, LONG_MODEL)}
    assert {n.one("text").text() for n in nodes.values()} == {SCRIPT, IMG, LONG_MODEL[:33] + "…"}
    assert nodes[f"model.dbt_down.{LONG_MODEL}"].one("title").text() == f"model.dbt_down.{LONG_MODEL}"

    rows = {tr.get("data-downstream"): tr for tr in dom.one("table", "consumers").find_all("tr", data_downstream=True)}
    assert set(rows) == {"dbt_down", IMG_FILENAME}
    assert rows["dbt_down"].find_all("code")[0].text() == SCRIPT[:12]
    assert "unreadable: unsafe downstream name in key" in rows[IMG_FILENAME].squashed()
    assert rows[IMG_FILENAME].find("td").text() == IMG_FILENAME

    # ?q= carried the payload into the filter box, where it is a search string matching only public_orders.
    assert dom.one("body").get("data-visible-models") == "1"
    assert [a.get("data-unique-id") for a in dom.find_all("article", "model") if "hidden" not in a.classes] == [ORDERS]
