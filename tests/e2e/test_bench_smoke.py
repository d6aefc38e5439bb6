"""The benchmark harness (bench/) end to end at a small N, as CI runs it: every row written, no time asserted.

A full run (`make bench`) takes long; this proves the one command still works after meshkit changes:
the projects generate and parse, every command runs with its expected exit code, and every figure
and count lands in results.json and RESULTS.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from support.helpers import REPO, clean_env, run

pytestmark = [pytest.mark.dbt, pytest.mark.s3]

N = 300
MESHKIT_COMMANDS = (
    "meshkit --help",
    "publish (first)",
    "publish (unchanged)",
    "check (unchanged)",
    "check (column removed)",
    "sync (first)",
    "sync (unchanged)",
    "validate (generated sources)",
    "validate (dbt-loom)",
    "catalog (1 project)",
    "catalog (3 projects x 3 envs x 4 publishes)",
)
PARSE_WAYS = ("dbt parse (generated sources)", "dbt parse (dbt-loom)")
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


@pytest.fixture(scope="module")
def bench_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench")
    out = root / "out"
    result = run(
        [
            sys.executable,
            REPO / "bench" / "run.py",
            "--models",
            str(N),
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--cache-dir",
            root / "cache",
            "--output-dir",
            out,
        ],
        cwd=REPO,
        env=clean_env(),
        timeout=900,
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return out


def test_results_json_has_every_command_with_figures(bench_output: Path) -> None:
    doc = json.loads((bench_output / "results.json").read_text())
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["ram_gib"] > 0
    assert {"python", "meshkit", "dbt-core", "msgspec"} <= set(doc["versions"])
    [bench] = doc["runs"]
    assert bench["n"] == N and bench["upstream"]["nodes"]["model"] == N
    timed = {t["command"]: t for t in bench["timed"]}
    assert set(timed) == set(MESHKIT_COMMANDS) | set(PARSE_WAYS)
    for name, t in timed.items():
        assert t["argv"] and t["floor_argv"], name
        assert len(t["walls_s"]) == len(t["floor_walls_s"]) == 1, name
        for key in ("median_wall_s", "median_floor_s", "ratio", "peak_rss_kib"):
            assert isinstance(t[key], (int, float)) and t[key] > 0, (name, key, t[key])
    assert timed["publish (first)"]["largest_input_bytes"] == bench["upstream"]["manifest_bytes"]


def test_counts_are_present(bench_output: Path) -> None:
    [bench] = json.loads((bench_output / "results.json").read_text())["runs"]
    counts = {c["command"]: c for c in bench["counts"]}
    assert set(counts) == set(MESHKIT_COMMANDS)
    assert counts["meshkit --help"]["local"]["files_read"] == 0 and counts["meshkit --help"]["s3"] is None
    first = counts["publish (first)"]
    assert first["local"]["files_read"] >= 1 and first["local"]["files_written"] >= 1
    assert first["s3"]["by_operation"].get("PutObject", 0) >= 2
    for name in MESHKIT_COMMANDS[1:]:
        assert counts[name]["local"]["files_read"] >= 1, name
        assert counts[name]["s3"]["requests"] >= 1, name
        assert counts[name]["s3"]["by_operation"].get("GetObject", 0) >= 1, name


def test_results_md_has_a_numeric_row_per_command(bench_output: Path) -> None:
    text = (bench_output / "RESULTS.md").read_text()
    for name in MESHKIT_COMMANDS:
        row = rf"^\| {re.escape(name)} \| {N} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|"
        assert re.search(row, text, re.MULTILINE), f"no timing row for {name}:\n{text}"
        counts = rf"^\| {re.escape(name)} \| {N} \| [0-9]+ \| [0-9]+ \| {NUMBER} \| [0-9]+ \| "
        assert re.search(counts, text, re.MULTILINE), f"no counts row for {name}:\n{text}"
    for name in PARSE_WAYS:
        way = name.removeprefix("dbt parse (").rstrip(")")
        assert re.search(rf"^\| {re.escape(way)} \| {N} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|", text, re.MULTILINE), (
            way
        )


def test_floors_decode_every_file_the_command_reads(bench_output: Path) -> None:
    """A floor that decoded less than the command reads would flatter the command."""
    [bench] = json.loads((bench_output / "results.json").read_text())["runs"]
    floors = {t["command"]: t["floor_argv"][2:] for t in bench["timed"]}  # after `python floor.py`
    contract = Path("benchup", "prod", "latest", "manifest.json")
    for name in ("validate (generated sources)", "validate (dbt-loom)"):
        assert len(floors[name]) == 2 and floors[name][1].endswith(str(contract)), floors[name]
    assert floors["catalog (1 project)"][0].endswith(str(contract))
    multi = floors["catalog (3 projects x 3 envs x 4 publishes)"]
    assert len(multi) == 9 and len({Path(p).parts[-4:-2] for p in multi}) == 9, multi


def test_the_explorer_pages_are_measured_in_chromium(bench_output: Path) -> None:
    """First render and JS heap of each catalog row's page: reported, not asserted against a limit."""
    [bench] = json.loads((bench_output / "results.json").read_text())["runs"]
    pages = {e["command"]: e for e in bench["explorer"]}
    assert set(pages) == {"catalog (1 project)", "catalog (3 projects x 3 envs x 4 publishes)"}
    for name, e in pages.items():
        assert e["first_render_ms"] > 0 and len(e["first_render_ms_runs"]) == e["repeat"] >= 3, name
        assert e["heap_mib"] > 0 and e["heap_after_search_mib"] > 0, name
        assert e["page_bytes"] > 1_000_000, name  # the page holds elkjs (1.6 MB) and the data
    text = (bench_output / "RESULTS.md").read_text()
    for name in pages:
        row = rf"^\| {re.escape(name)} \| {N} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|$"
        assert re.search(row, text, re.MULTILINE), f"no explorer row for {name}:\n{text}"
