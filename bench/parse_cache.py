"""`dbt parse` of a pull request that changes one model, cold and from main's partial parse.

    python bench/parse_cache.py --models 5000,20000

For each N it generates the benchmark's upstream project (bench/generate.py) into WORK/nN, then:
1. cold: `dbt parse` with no saved parse (dbt parses every file and writes target/partial_parse.msgpack),
   what a PR check pays without the cache; the file it writes stands for the one main's run saves;
2. one model's SQL changes, as in a pull request;
3. partial: main's partial_parse.msgpack put back, `dbt parse` again: what the PR check pays when the
   workflows restore main's parse. dbt's log must say it re-read exactly one file, or the run fails.

Both runs are whole processes (bench/launcher.py: wall time and peak RSS). The 20k cold parse takes
minutes, so each N is parsed once cold and once partially; the figures go to stdout as a markdown table
and to WORK/parse_cache.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_upstream
from run import BENCH, DBT, child_env
from timing import Run, run_once

PARTIAL = "Partial parsing enabled: 0 files deleted, 0 files added, 1 files changed."


def parse(root: Path, env: dict[str, str], log: Path) -> Run:
    run = run_once([DBT, "parse"], root, env, log)
    if run.exit_code != 0:
        raise SystemExit(f"dbt parse failed in {root}: see {log}")
    return run


def measure(n: int, work: Path, env: dict[str, str]) -> dict[str, Any]:
    root = work / f"n{n}"
    if root.exists():
        shutil.rmtree(root)
    write_upstream(root, n)
    print(f"[parse-cache] N={n}: cold dbt parse", flush=True)
    cold = parse(root, env, work / f"n{n}-cold.log")
    saved = root / "target" / "partial_parse.msgpack"
    main_parse = work / f"n{n}-main-partial_parse.msgpack"
    shutil.copyfile(saved, main_parse)
    model = sorted((root / "models" / "staging").rglob("*.sql"))[0]
    model.write_text(model.read_text() + "\n-- changed by the pull request\n")
    shutil.rmtree(root / "target")
    shutil.rmtree(root / "logs", ignore_errors=True)
    (root / "target").mkdir()
    shutil.copyfile(main_parse, saved)  # what the parse-cache action restores
    print(f"[parse-cache] N={n}: dbt parse from main's partial parse, one model changed", flush=True)
    partial = parse(root, env, work / f"n{n}-partial.log")
    dbt_log = (root / "logs" / "dbt.log").read_text(errors="replace")
    if PARTIAL not in dbt_log:
        raise SystemExit(f"N={n}: dbt did not partially parse one changed file; see {root / 'logs' / 'dbt.log'}")
    result = {
        "n": n,
        "cold_s": cold.wall,
        "cold_rss_mib": cold.rss_kib / 1024,
        "partial_s": partial.wall,
        "partial_rss_mib": partial.rss_kib / 1024,
        "msgpack_mib": main_parse.stat().st_size / 2**20,
        "manifest_mib": (root / "target" / "manifest.json").stat().st_size / 2**20,
        "changed_model": model.relative_to(root).as_posix(),
    }
    shutil.rmtree(root)
    main_parse.unlink()
    return result


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| N | cold `dbt parse` (s) | from main's partial parse (s) | cold / partial | peak RSS cold / partial (MiB) "
        "| partial_parse.msgpack (MiB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n']} | {r['cold_s']:.1f} | {r['partial_s']:.1f} | {r['cold_s'] / r['partial_s']:.1f}x "
            f"| {r['cold_rss_mib']:.0f} / {r['partial_rss_mib']:.0f} | {r['msgpack_mib']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="5000,20000", help="comma-separated model counts (default: 5000,20000)")
    parser.add_argument("--work-dir", type=Path, default=BENCH / ".cache" / "parse-cache", help="scratch folder")
    args = parser.parse_args(argv)
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = child_env()
    results = [measure(int(n), work, env) for n in args.models.split(",") if n.strip()]
    (work / "parse_cache.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
