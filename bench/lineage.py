"""Column lineage's cost (issue 16): `python bench/lineage.py` (what `make bench-lineage` runs).

A downstream of 2,000 consuming models over 50 upstream public models, both built by `dbt build` on DuckDB
(so the manifest holds compiled SQL), cached in bench/.cache. It times, each paired with its floor:

- `validate --record-consumer` over it the first time, which parses every model's SQL (reported per model);
- the same over unchanged SQL, which must parse nothing (read back from `--format json`);
- `check` at N models (default 20,000, the bench's cached upstream) with those 2,000 models recorded as
  column-level consumers, against the same check with no consumer record: the cost lineage adds to a PR;
- the first recording again with sqlglotc (sqlglot compiled with mypyc) shadowing sqlglot.

It writes its section of bench/RESULTS.md (between markers, kept by `make bench`) and results-lineage.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import COLUMNS, UPSTREAM, _column_yaml
from report import replace_section
from run import BENCH, DBT, FLOOR, MESHKIT, PY, child_env, ensure_upstream, must
from timing import Step, Timed, time_step

UP, DOWN = "linup", "lindown"
PUBLIC = 50
CONSUMERS = 2000
STAGING = 50  # of the consumers: staging models the marts read through (model-to-model hops)
SECTION = "lineage"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _project(root: Path, name: str, *, attach: str | None = None) -> None:
    _write(
        root / "dbt_project.yml",
        f'name: {name}\nversion: "1.0.0"\nconfig-version: 2\nprofile: {name}\n'
        f"models:\n  {name}:\n    +materialized: {'table' if attach is None else 'view'}\n"
        "flags:\n  send_anonymous_usage_stats: false\n",
    )
    attached = f"      attach:\n        - path: {attach}\n          alias: {UP}\n          read_only: true\n"
    _write(
        root / "profiles.yml",
        f"{name}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {name}.duckdb\n      schema: main\n      threads: 2\n" + (attached if attach else ""),
    )


def write_projects(root: Path, registry: Path) -> None:
    """linup: 50 contracted public models over one seed. lindown: 2,000 models reading them through dbt-loom,
    in six shapes (a filter and group by, a join with using, select * through a CTE, a window function, a
    mart over a staging model, a subquery in where)."""
    up = root / UP
    _project(up, UP)
    header = ",".join(name for name, _, _ in COLUMNS)
    rows = [
        f"{i},{i % 7},{i * 3},{i * 1.5:.2f},{'placed' if i % 2 else 'returned'},2026-01-0{i % 9 + 1} 00:00:00,"
        f"2026-02-0{i % 9 + 1} 00:00:00,{'true' if i % 3 else 'false'}"
        for i in range(1, 6)
    ]
    _write(up / "seeds" / "raw.csv", "\n".join([header, *rows]) + "\n")
    casts = ",\n".join(f"    cast({name} as {data_type}) as {name}" for name, data_type, _ in COLUMNS)
    yaml = ["version: 2", "models:"]
    for i in range(PUBLIC):
        name = f"pub_{i:05d}"
        _write(up / "models" / f"{name}.sql", f"select\n{casts}\nfrom {{{{ ref('raw') }}}}\n")
        yaml.append(
            f'  - name: {name}\n    description: "Public model {i}."\n    config:\n      access: public\n'
            f"      contract:\n        enforced: true\n    columns:\n" + _column_yaml(name, typed=True, tests=False)
        )
    _write(up / "models" / "_public.yml", "\n".join(yaml) + "\n")

    down = root / DOWN
    _project(down, DOWN, attach=str((up / f"{UP}.duckdb").resolve()))
    _write(
        down / "dbt_loom.config.yml",
        f"manifests:\n  - name: {UP}\n    type: file\n    config:\n"
        f"      path: {registry.resolve()}/{UP}/prod/latest/manifest.json\n",
    )

    def ref(i: int) -> str:
        return f"{{{{ ref('{UP}', 'pub_{i % PUBLIC:05d}') }}}}"

    for k in range(STAGING):
        _write(
            down / "models" / "staging" / f"ld_stg_{k:04d}.sql",
            f"select id, customer_id, amount as paid, status\nfrom {ref(k)}\nwhere is_active\n",
        )
    shapes = (
        lambda i: f"select status, sum(amount) as amount\nfrom {ref(i)}\nwhere is_active\ngroup by status\n",
        lambda i: (
            f"select a.customer_id, count(b.order_id) as orders\nfrom {ref(i)} as a\n"
            f"join {ref(i * 7 + 3)} as b using (customer_id)\ngroup by 1\n"
        ),
        lambda i: (
            f"with src as (\n    select * from {ref(i)}\n)\nselect id, created_at\nfrom src\n"
            "where updated_at > created_at\n"
        ),
        lambda i: f"select id, row_number() over (partition by customer_id order by created_at) as n\nfrom {ref(i)}\n",
        lambda i: (
            f"select customer_id, sum(paid) as total\nfrom {{{{ ref('ld_stg_{i % STAGING:04d}') }}}}\ngroup by 1\n"
        ),
        lambda i: (
            f"select id\nfrom {ref(i)}\nwhere customer_id in (select customer_id from {ref(i + 11)} "
            "where status = 'returned')\n"
        ),
    )
    for i in range(CONSUMERS - STAGING):
        _write(down / "models" / f"f{i // 100:02d}" / f"ld_{i:05d}.sql", shapes[i % len(shapes)](i))


def cache_key() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes() + (BENCH / "generate.py").read_bytes())
    for package in ("dbt-core", "dbt-duckdb", "dbt-loom"):
        digest.update(f"{package}=={version(package)}".encode())
    return f"lineage-{digest.hexdigest()[:12]}"


def ensure_built(cache_dir: Path, env: dict[str, str]) -> tuple[Path, dict[str, Any]]:
    """Both projects built by dbt (the downstream through dbt-loom on linup's published contract), cached."""
    entry = cache_dir / cache_key()
    meta_path = entry / "meta.json"
    if meta_path.is_file():
        return entry, json.loads(meta_path.read_text())
    for stale in cache_dir.glob("lineage-*"):
        shutil.rmtree(stale)
    registry = entry / "registry"
    write_projects(entry, registry)
    log = entry / "build.log"
    meta: dict[str, Any] = {"up_build_s": must([DBT, "build"], entry / UP, env, log)}
    must([MESHKIT, "publish", "--project-dir", str(entry / UP), "--registry", str(registry)], entry, env, log)
    meta["down_build_s"] = must([DBT, "build"], entry / DOWN, env, entry / "build-down.log")
    data = json.loads((entry / DOWN / "target" / "manifest.json").read_bytes())
    meta["consuming_models"] = sum(1 for uid in data["nodes"] if uid.startswith(f"model.{DOWN}."))
    meta["compiled"] = sum(1 for n in data["nodes"].values() if n.get("compiled_code"))
    meta_path.write_text(json.dumps(meta, indent=1))
    return entry, meta


def _sqlglotc(work: Path) -> Path:
    """A folder that, first on PYTHONPATH, shadows sqlglot with sqlglot plus sqlglotc's compiled modules."""
    import sqlglot

    target = work / "sqlglotc"
    if not target.exists():
        shutil.copytree(Path(sqlglot.__file__).parent, target / "sqlglot")
        wheel = work / "wheel"
        subprocess.run(
            [PY, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(wheel), f"sqlglotc=={version('sqlglot')}"],
            check=True,
        )
        subprocess.run([PY, "-m", "zipfile", "-e", str(next(wheel.glob("*.whl"))), str(target)], check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-models", type=int, default=20000, help="N of the check rows (default: 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="counted runs per command (default: 3)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first (default: 1)")
    parser.add_argument("--cache-dir", type=Path, default=BENCH / ".cache")
    parser.add_argument("--output-dir", type=Path, default=BENCH)
    parser.add_argument("--no-sqlglotc", action="store_true", help="skip the sqlglotc row (it downloads the wheel)")
    args = parser.parse_args(argv)
    env = child_env()
    cache_dir = args.cache_dir.resolve()
    print("[lineage] building linup and lindown with dbt (cached)", flush=True)
    built, meta = ensure_built(cache_dir, env)
    work = cache_dir / "work-lineage"
    shutil.rmtree(work, ignore_errors=True)
    logs = work / "logs"
    registry = work / "registry"
    shutil.copytree(built / "registry", registry)
    manifest = built / DOWN / "target" / "manifest.json"
    contract = registry / UP / "prod" / "latest" / "manifest.json"
    record = registry / UP / "prod" / "consumers" / f"{DOWN}.json"
    record_argv = [MESHKIT, "validate", "--manifest", str(manifest), "--registry", str(registry), "--record-consumer"]
    floor = FLOOR + [str(manifest), str(contract)]
    steps = [
        Step(
            f"validate --record-consumer, first ({CONSUMERS:,} models parsed)",
            record_argv,
            work,
            floor,
            prepare=lambda: record.unlink(missing_ok=True),
        ),
        Step("validate --record-consumer, unchanged SQL", record_argv, work, floor),
    ]
    if not args.no_sqlglotc:
        shadow = _sqlglotc(work)
        steps.append(
            Step(
                f"validate --record-consumer, first, with sqlglotc ({CONSUMERS:,} models parsed)",
                ["/usr/bin/env", f"PYTHONPATH={shadow}", *record_argv],
                work,
                floor,
                prepare=lambda: record.unlink(missing_ok=True),
            )
        )
    timed: list[Timed] = []
    for step in steps:
        print(f"[lineage] timing {step.name}", flush=True)
        timed.append(time_step(step, env, logs, repeat=args.repeat, warmup=args.warmup))
    parsed = _parsed(record_argv, work, env)

    print(f"[lineage] check at {args.check_models} models", flush=True)
    up = ensure_upstream(args.check_models, cache_dir, env)
    big = work / "registry-check"
    must([MESHKIT, "publish", "--project-dir", str(up.root), "--registry", str(big)], work, env, logs / "setup.log")
    consumers = big / UPSTREAM / "prod" / "consumers"
    consumers.mkdir(parents=True, exist_ok=True)
    # The 2,000 models' real record, as if they read the bench upstream's public models of the same names and
    # columns (linup's are named and typed as the generator's): check reads and matches all of it.
    text = record.read_text().replace(f'"{UP}"', f'"{UPSTREAM}"').replace(f"model.{UP}.", f"model.{UPSTREAM}.")
    kept = work / f"{DOWN}.json"
    kept.write_text(text)
    check_argv = [MESHKIT, "check", "--project-dir", str(up.root), "--registry", str(big), "--manifest", str(up.broken)]
    check_floor = FLOOR + [str(up.broken)]
    checks = [
        Step(
            f"check at {args.check_models:,}, column removed, no consumer record",
            check_argv,
            work,
            check_floor,
            expect=(1,),
            prepare=lambda: (consumers / f"{DOWN}.json").unlink(missing_ok=True),
        ),
        Step(
            f"check at {args.check_models:,}, column removed, {CONSUMERS:,} column-level consumer models",
            check_argv,
            work,
            check_floor,
            expect=(1,),
            prepare=lambda: shutil.copy(kept, consumers / f"{DOWN}.json"),
        ),
    ]
    for step in checks:
        print(f"[lineage] timing {step.name}", flush=True)
        timed.append(time_step(step, env, logs, repeat=args.repeat, warmup=args.warmup))
    named = _named(check_argv, work, env)
    _report(args, meta, timed, parsed, named)
    return 0


def _parsed(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, int]:
    """How many models a first recording and a rerun parse, from validate's JSON."""
    found = {}
    record = Path(argv[argv.index("--registry") + 1]) / UP / "prod" / "consumers" / f"{DOWN}.json"
    for label in ("first", "rerun"):
        if label == "first":
            record.unlink(missing_ok=True)
        out = subprocess.run([*argv, "--format", "json"], cwd=cwd, env=env, capture_output=True, check=True).stdout
        found[label] = json.loads(out)["projects"][0]["column_lineage"]["parsed"]
    return found


def _named(argv: list[str], cwd: Path, env: dict[str, str]) -> int:
    out = subprocess.run([*argv, "--format", "json"], cwd=cwd, env=env, capture_output=True).stdout
    return sum(len(i["models"]) + len(i["may_break"]) for c in json.loads(out)["changes"] for i in c["impacts"])


def _report(
    args: argparse.Namespace, meta: dict[str, Any], timed: list[Timed], parsed: dict[str, int], named: int
) -> None:
    rows = [
        {
            "command": t.step.name,
            "wall_s": t.median_wall,
            "floor_s": t.median_floor,
            "ratio": t.ratio,
            "peak_rss_kib": max(r.rss_kib for r in t.runs),
        }
        for t in timed
    ]
    first, rerun, compiled = rows[0], rows[1], (rows[2] if not args.no_sqlglotc else None)
    no_record, with_record = rows[-2], rows[-1]
    doc = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build": meta,
        "parsed": parsed,
        "rows": rows,
        "check_models_named": named,
    }
    (args.output_dir / "results-lineage.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = [
        f"`python bench/lineage.py` (`make bench-lineage`), {doc['started']}, this machine: a downstream of "
        f"{meta['consuming_models']:,} models ({STAGING} of them staging models the others read through) reading "
        f"{PUBLIC} upstream public models through dbt-loom, both built by `dbt build` on DuckDB "
        f"(upstream {meta['up_build_s']:.0f} s, downstream {meta['down_build_s']:.0f} s). Each command is paired "
        f"with its floor (a fresh msgspec decode of its input files), {args.repeat} counted runs after "
        f"{args.warmup} warm-up.",
        "",
        "| command | median wall (s) | floor (s) | ratio | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {r['command']} | {r['wall_s']:.3f} | {r['floor_s']:.3f} | {r['ratio']:.2f} | "
            f"{r['peak_rss_kib'] / 1024:.0f} |"
            for r in rows
        ),
        "",
        f"- First recording: {first['wall_s'] / CONSUMERS * 1000:.2f} ms per consuming model "
        f"({parsed['first']:,} models parsed); a rerun over unchanged SQL parsed {parsed['rerun']} and took "
        f"{rerun['wall_s'] / first['wall_s']:.2f}× the first.",
    ]
    if compiled is not None:
        lines.append(
            f"- sqlglotc: the first recording took {compiled['wall_s'] / first['wall_s']:.2f}× the time "
            "with sqlglot alone."
        )
    lines.append(
        f"- check at {args.check_models:,} models with the {CONSUMERS:,} models recorded: "
        f"{with_record['wall_s'] / no_record['wall_s']:.2f}× the same check with no consumer record "
        f"({with_record['ratio']:.2f}× its floor against {no_record['ratio']:.2f}×); it named {named} models."
    )
    replace_section(args.output_dir / "RESULTS.md", SECTION, "## Column lineage (issue 16)", "\n".join(lines))
    print(f"[lineage] wrote {args.output_dir / 'RESULTS.md'} and results-lineage.json", flush=True)


if __name__ == "__main__":
    sys.exit(main())
