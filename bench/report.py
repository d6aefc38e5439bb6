"""RESULTS.md for people and results.json for tools, from one bench run."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from timing import Timed

MIB = 2**20


def _display(argv: list[str], run: dict[str, Any]) -> str:
    """A command as someone would retype it: tools by name, the trees as $UP and $WORK."""
    binary = str(Path(sys.executable).parent) + "/"
    words = []
    for word in argv:
        word = word.replace(binary, "").replace(run["upstream"]["path"], "$CACHED").replace(run["work"], "$WORK")
        words.append("python" if word == sys.executable else word.replace(str(Path(__file__).parent), "bench"))
    return " ".join(words)


def _timed_json(timed: Timed, run: dict[str, Any]) -> dict[str, Any]:
    step = timed.step
    return {
        "command": step.name,
        "group": step.group,
        "argv": step.argv,
        "cwd": str(step.cwd),
        "floor_argv": step.floor,
        "floor_cwd": str(step.floor_cwd or step.cwd),
        "display": _display(step.argv, run),
        "floor_display": _display(step.floor, run),
        "expected_exit": list(step.expect),
        "walls_s": [r.wall for r in timed.runs],
        "floor_walls_s": [f.wall for f in timed.floors],
        "rss_kib": [r.rss_kib for r in timed.runs],
        "floor_rss_kib": [f.rss_kib for f in timed.floors],
        "median_wall_s": timed.median_wall,
        "median_floor_s": timed.median_floor,
        "ratio": timed.ratio,
        "peak_rss_kib": timed.peak_rss_kib,
        "floor_peak_rss_kib": timed.floor_rss_kib,
    }


def _largest(run: dict[str, Any], command: str) -> int:
    for entry in run["counts"]:
        if entry["command"] == command:
            return int(entry["local"]["largest_read_bytes"])
    return 0


def write_reports(
    output: Path,
    runs: list[dict[str, Any]],
    *,
    machine: dict[str, Any],
    versions: dict[str, str],
    started: str,
    command: str,
    settings: dict[str, Any],
) -> None:
    doc: dict[str, Any] = {
        "command": command,
        "started": started,
        "machine": machine,
        "versions": versions,
        "settings": settings,
        "runs": [],
    }
    for run in runs:
        timed = [_timed_json(t, run) for t in run["timed"]]
        for entry in timed:
            largest = _largest(run, entry["command"])
            entry["largest_input_bytes"] = largest
            entry["rss_per_largest_input"] = entry["peak_rss_kib"] * 1024 / largest if largest else None
        doc["runs"].append(
            {key: run[key] for key in ("n", "upstream", "setup_s", "bench_s", "work", "counts")}
            | {"timed": timed, "explorer": run.get("explorer", [])}
        )
    (output / "results.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    results = output / "RESULTS.md"
    kept = _sections(results.read_text(encoding="utf-8")) if results.is_file() else []
    results.write_text(_markdown(doc) + "".join(f"\n{block}\n" for block in kept), encoding="utf-8")


_SECTION = re.compile(r"<!-- section: (?P<name>[a-z-]+) -->\n.*?<!-- /section: (?P=name) -->", re.DOTALL)


def _sections(text: str) -> list[str]:
    """The sections other scripts own (bench/lineage.py, bench/clients.py): kept when run.py rewrites the file."""
    return [match.group(0) for match in _SECTION.finditer(text)]


def replace_section(results: Path, name: str, heading: str, body: str) -> None:
    """Write (or rewrite) one script's marked section of RESULTS.md, leaving the rest as it is."""
    block = f"<!-- section: {name} -->\n{heading}\n\n{body}\n<!-- /section: {name} -->"
    text = results.read_text(encoding="utf-8") if results.is_file() else "# meshkit benchmark results\n"
    found = [m for m in _SECTION.finditer(text) if m.group("name") == name]
    if found:
        text = text[: found[0].start()] + block + text[found[0].end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(text, encoding="utf-8")


def _source(source: dict[str, Any]) -> str:
    if "commit" in source:
        return f"`{source['commit'][:12]}` (`--meshkit-rev {source['rev']}`, unpacked with git archive)"
    dirty = " plus uncommitted changes" if source.get("uncommitted_changes") else ""
    return f"the work tree at `{source['git_head'][:12]}`{dirty}"


def _markdown(doc: dict[str, Any]) -> str:
    m, v = doc["machine"], doc["versions"]
    lines = [
        "# meshkit benchmark results",
        "",
        f"Written by `make bench` (`{doc['command']}`), started {doc['started']}. "
        "Rerun that one command to refresh this file and `results.json`; `bench/README.md` says what is measured.",
        "",
        f"Machine: {m.get('cpu', '?')}, {m['cores']} cores, {m.get('ram_gib', '?')} GiB RAM. "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + ".",
        "",
        f"meshkit timed: {_source(doc['settings']['source'])}.",
        "",
        f"Every command ran as a whole process: {doc['settings']['warmup']} uncounted run(s), then "
        f"{doc['settings']['repeat']} counted runs, each followed at once by its **floor**, a fresh Python that only "
        "decodes the command's input files with a minimal msgspec Struct. *ratio* is the median of the per-pair "
        "ratios (command wall / floor wall), so drift on a shared machine moves both. Peak RSS is the kernel's "
        "`ru_maxrss` of the process; *largest input* is the largest file the command opened for reading.",
        "",
        "Floors: `meshkit --help` against `python -c pass`; publish and check against the upstream manifest (check "
        "with a column removed: against that manifest copy); sync against the published contract; validate against "
        "the downstream's manifest and the contract; the catalog against every project and env's latest contract.",
        "",
        "## Time and memory",
        "",
        "| command | N | median wall (s) | floor (s) | ratio | peak RSS (MiB) | largest input (MiB) "
        "| RSS / largest input |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in doc["runs"]:
        for t in run["timed"]:
            if t["group"] != "meshkit":
                continue
            per = f"{t['rss_per_largest_input']:.1f}" if t["rss_per_largest_input"] else "–"
            lines.append(
                f"| {t['command']} | {run['n']} | {t['median_wall_s']:.3f} | {t['median_floor_s']:.3f} "
                f"| {t['ratio']:.2f} | {t['peak_rss_kib'] / 1024:.0f} | "
                f"{t['largest_input_bytes'] / MIB:.2f} | {per} |"
            )
    lines += [
        "",
        "## The downstream's dbt parse",
        "",
        "`dbt parse --no-partial-parse` of a downstream reading 20 public models of the upstream (one of them "
        "pinned to v1), each way paired with the same project reading them through a hand-written sources file "
        "that declares exactly those tables.",
        "",
        "| reads the upstream through | N | median wall (s) | hand-written sources (s) | ratio | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in doc["runs"]:
        for t in run["timed"]:
            if t["group"] == "dbt":
                lines.append(
                    f"| {t['command'].removeprefix('dbt parse (').rstrip(')')} | {run['n']} "
                    f"| {t['median_wall_s']:.3f} | {t['median_floor_s']:.3f} | {t['ratio']:.2f} "
                    f"| {t['peak_rss_kib'] / 1024:.0f} |"
                )
    lines += [
        "",
        "## The explorer page in headless Chromium",
        "",
        "Each page the catalog rows above wrote, opened from file:// in Debian's Chromium (Playwright), each time "
        "in a fresh context (median of the runs). *First render*: milliseconds from navigation start until the "
        "search box and the project graph are drawn (the page's own `data-first-render-ms`). *Heap*: V8's used "
        "JS heap then, and after the first search (which builds the index of every model and column).",
        "",
        "| page of | N | page (MiB) | first render (ms) | JS heap (MiB) | first search (ms) "
        "| heap after search (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in doc["runs"]:
        for e in run.get("explorer", []):
            lines.append(
                f"| {e['command']} | {run['n']} | {e['page_bytes'] / MIB:.1f} | {e['first_render_ms']:.0f} "
                f"| {e['heap_mib']:.1f} | {e['first_search_ms']:.0f} | {e['heap_after_search_mib']:.1f} |"
            )
    lines += [
        "",
        "## Counts (one run of each command)",
        "",
        "Local: files meshkit opened, seen by an audit hook (imports and meshkit's own templates left out); bytes "
        "are the sizes of the files opened for reading. S3: HTTP requests to a moto server on loopback holding the "
        "same registry, seen by botocore's event hooks.",
        "",
        "| command | N | files read | distinct | MiB read | files written | S3 requests | by operation "
        "| S3 MiB down / up |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for run in doc["runs"]:
        for c in run["counts"]:
            local, s3 = c["local"], c["s3"]
            ops = ", ".join(f"{k} {n}" for k, n in sorted(s3["by_operation"].items())) if s3 else "–"
            s3_total = str(s3["requests"]) if s3 else "–"
            s3_bytes = f"{s3['bytes_down'] / MIB:.2f} / {s3['bytes_up'] / MIB:.2f}" if s3 else "–"
            lines.append(
                f"| {c['command']} | {run['n']} | {local['files_read']} | {local['distinct_files_read']} "
                f"| {local['bytes_read'] / MIB:.2f} | {local['files_written']} | {s3_total} | {ops} "
                f"| {s3_bytes} |"
            )
    lines += [
        "",
        "## Projects and time taken per N",
        "",
        "| N | models | tests | public model nodes | upstream manifest (MiB) | generate (s) | dbt parse (s) "
        "| from cache | registry setup (s) | whole N (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for run in doc["runs"]:
        u = run["upstream"]
        lines.append(
            f"| {run['n']} | {u['nodes'].get('model', 0)} | {u['nodes'].get('test', 0)} | "
            f"{u['public_nodes']} | {u['manifest_bytes'] / MIB:.1f} | {u['generate_s']:.1f} "
            f"| {u['parse_s']:.1f} | {'yes' if u['cached'] else 'no'} | {run['setup_s']:.1f} "
            f"| {run['bench_s']:.1f} |"
        )
    lines += [
        "",
        "## Commands",
        "",
        "`$CACHED` is the cached, parsed upstream of that N (`bench/.cache/n<N>-<hash>`, the project in "
        "`$CACHED/up`), `$WORK` the scratch tree of that N; each floor runs right after its command. "
        "Exact paths are in `results.json`.",
        "",
    ]
    if doc["runs"]:
        run = doc["runs"][0]
        for t in run["timed"]:
            where = "" if t["cwd"] == run["work"] else f" in `{_display([t['cwd']], run)}`"
            floor_where = "" if t["floor_cwd"] == run["work"] else f" in `{_display([t['floor_cwd']], run)}`"
            lines.append(f"- {t['command']}: `{t['display']}`{where} — floor `{t['floor_display']}`{floor_where}")
    return "\n".join(lines) + "\n"
