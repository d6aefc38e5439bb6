"""The meshkit benchmark: `python bench/run.py --models 1000,5000,20000` (what `make bench` runs).

For each N it generates the projects (bench/generate.py), parses them with dbt once and caches
the result, then times every meshkit command as a whole process against its floor in the same
run, times the downstream's dbt parse three ways, counts files read and S3 requests per command,
and writes RESULTS.md and results.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from explorer import measure as measure_explorer
from generate import (
    DOWNSTREAMS,
    REVISION_MARKER,
    UPSTREAM,
    Plan,
    plan,
    read_tables,
    write_downstream,
    write_upstream,
)
from report import write_reports
from s3counts import S3Counter
from timing import CommandFailed, Step, Timed, run_once, time_step

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BIN = Path(sys.executable).parent
MESHKIT, DBT, PY = str(BIN / "meshkit"), str(BIN / "dbt"), sys.executable
FLOOR = [PY, str(BENCH / "floor.py")]
PARSE = [DBT, "parse", "--no-partial-parse"]  # a full parse every time: what CI without a cache does
GITHUB_SHA = "0123456789abcdef0123456789abcdef01234567"  # as in CI, so publish never shells out to git
CATALOG_PROJECTS = (UPSTREAM, f"{UPSTREAM}b", f"{UPSTREAM}c")
CATALOG_ENVS = ("prod", "staging", "dev")
CATALOG_PUBLISHES = 4
CATALOG_MESH = f"catalog ({len(CATALOG_PROJECTS)} projects x {len(CATALOG_ENVS)} envs x {CATALOG_PUBLISHES} publishes)"
BROKEN_COLUMN = "amount"  # removed from the first public model a downstream reads


def child_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that steers meshkit, dbt or boto3 elsewhere.

    PYTHONDONTWRITEBYTECODE goes too: an installed meshkit runs from .pyc files, and compiling its
    modules again in every timed run would add ~60 ms that no user pays."""
    steer = ("AWS_", "MESHKIT_", "GITHUB_", "DBT_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(steer)}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
        GITHUB_SHA=GITHUB_SHA,
        **extra,
    )
    return env


def must(argv: list[str], cwd: Path, env: dict[str, str], log: Path, expect: tuple[int, ...] = (0,)) -> float:
    """A setup command that has to succeed; returns its wall time."""
    run = run_once(argv, cwd, env, log)
    if run.exit_code not in expect:
        tail = log.read_text(errors="replace")[-3000:]
        raise CommandFailed(f"setup: {' '.join(argv)} exited {run.exit_code}:\n{tail}")
    return run.wall


@dataclass(frozen=True)
class Upstream:
    root: Path
    manifest: Path
    broken: Path
    plan: Plan
    meta: dict[str, Any]


def cache_key(n: int) -> str:
    """The generator's bytes and the dbt that parses its output decide the manifest."""
    digest = hashlib.sha256((BENCH / "generate.py").read_bytes())
    for package in ("dbt-core", "dbt-duckdb"):
        digest.update(f"{package}=={version(package)}".encode())
    return f"n{n}-{digest.hexdigest()[:12]}"


def ensure_upstream(n: int, cache_dir: Path, env: dict[str, str]) -> Upstream:
    """The parsed upstream project of N models, from the cache when its key matches (20k takes minutes)."""
    entry = cache_dir / cache_key(n)
    meta_path = entry / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        meta["cached"] = True
    else:
        for stale in cache_dir.glob(f"n{n}-*"):  # another generator or dbt: its entry can never be used again
            shutil.rmtree(stale)
        entry.mkdir(parents=True)
        start = time.perf_counter()
        write_upstream(entry / "up", n)
        generate_s = time.perf_counter() - start
        parse_s = must(PARSE, entry / "up", env, entry / "parse.log")
        for junk in ("target/partial_parse.msgpack", "logs"):
            path = entry / "up" / junk
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        manifest = entry / "up" / "target" / "manifest.json"
        _write_broken(manifest, entry / "broken_manifest.json", plan(n))
        data = orjson.loads(manifest.read_bytes())
        kinds: dict[str, int] = {}
        for node in data["nodes"].values():
            kinds[node["resource_type"]] = kinds.get(node["resource_type"], 0) + 1
        meta = {
            "n": n,
            "key": entry.name,
            "generate_s": generate_s,
            "parse_s": parse_s,
            "manifest_bytes": manifest.stat().st_size,
            "nodes": kinds,
            "sources": len(data["sources"]),
            "public_nodes": sum(1 for v in data["nodes"].values() if v.get("access") == "public"),
        }
        del data
        meta_path.write_text(json.dumps(meta, indent=1))  # last: an entry without it is rebuilt
        meta["cached"] = False
    meta["path"] = str(entry)
    return Upstream(
        entry / "up", entry / "up" / "target" / "manifest.json", entry / "broken_manifest.json", plan(n), meta
    )


def _write_broken(manifest: Path, dest: Path, p: Plan) -> None:
    """The PR that breaks a contract: one public column, which a downstream reads, dropped from the build."""
    data = orjson.loads(manifest.read_bytes())
    model = read_tables(p)[0][0]
    del data["nodes"][f"model.{UPSTREAM}.{model}"]["columns"][BROKEN_COLUMN]
    dest.write_bytes(orjson.dumps(data))


class Scenario:
    """The work tree for one N: registries, downstream projects and the commands to time."""

    def __init__(self, up: Upstream, work: Path, env: dict[str, str]) -> None:
        self.up, self.work, self.env = up, work, env
        self.registry = work / "registry"
        self.first_registry = work / "registry-first"
        self.catalog_registry = work / "registry-catalog"
        self.down = {variant: work / f"down_{variant}" for variant in DOWNSTREAMS}
        self.logs = work / "logs"
        self.mesh_file = self.down["sources"] / "models" / f"_mesh_{UPSTREAM}.yml"

    def setup(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work)
        self.logs.mkdir(parents=True)
        (self.work / "out").mkdir()
        log = self.logs / "setup.log"
        must(
            [MESHKIT, "publish", "--project-dir", str(self.up.root), "--registry", str(self.registry)],
            self.work,
            self.env,
            log,
        )
        for variant, root in self.down.items():
            write_downstream(root, variant, self.up.plan, self.registry)
        must(self.sync_argv(), self.work, self.env, log)
        for root in self.down.values():
            must(PARSE, root, self.env, log)
        self._record_consumers(self.registry)
        self._catalog_registry()

    def _record_consumers(self, registry: Path) -> None:
        """Consumer records, so check names the downstreams a change breaks and catalog lists readers."""
        must(
            [
                MESHKIT,
                "validate",
                "--registry",
                str(registry),
                "--record-consumer",
                "--manifest",
                str(self.down_manifest("sources")),
                "--manifest",
                str(self.down_manifest("loom")),
            ],
            self.work,
            self.env,
            self.logs / "setup.log",
        )

    def _catalog_registry(self) -> None:
        """3 projects x 3 envs x 4 publishes, each publish a real contract change (a description)."""
        original = self.up.manifest.read_bytes()
        staging = self.work / "catalog-projects"
        for project in CATALOG_PROJECTS:
            root = staging / project
            (root / "target").mkdir(parents=True)
            renamed = original.replace(UPSTREAM.encode(), project.encode())
            for k in range(CATALOG_PUBLISHES):
                revision = REVISION_MARKER.replace("r0", f"r{k}").encode()
                (root / "target" / "manifest.json").write_bytes(renamed.replace(REVISION_MARKER.encode(), revision))
                for env in CATALOG_ENVS:
                    must(
                        [
                            MESHKIT,
                            "publish",
                            "--project-dir",
                            str(root),
                            "--project",
                            project,
                            "--env",
                            env,
                            "--registry",
                            str(self.catalog_registry),
                        ],
                        self.work,
                        self.env,
                        self.logs / "setup.log",
                    )
            del renamed
        shutil.rmtree(staging)
        self._record_consumers(self.catalog_registry)

    def catalog_contracts(self) -> list[Path]:
        """The latest contract of every project and env in the catalog's registry: what the catalog decodes."""
        return [
            self.catalog_registry / project / env / "latest" / "manifest.json"
            for project in CATALOG_PROJECTS
            for env in CATALOG_ENVS
        ]

    def explorer_pages(self) -> dict[str, Path]:
        """The pages the timed catalog runs wrote, by their command's name."""
        out = self.work / "out"
        return {"catalog (1 project)": out / "one.html", CATALOG_MESH: out / "mesh.html"}

    def down_manifest(self, variant: str) -> Path:
        return self.down[variant] / "target" / "manifest.json"

    def sync_argv(self) -> list[str]:
        return [
            MESHKIT,
            "sync",
            "--project-dir",
            str(self.down["sources"]),
            "--upstream",
            UPSTREAM,
            "--registry",
            str(self.registry),
        ]

    def steps(self) -> list[Step]:
        up, reg, work = str(self.up.root), str(self.registry), self.work
        manifest_floor = FLOOR + [str(self.up.manifest)]
        contract = self.registry / UPSTREAM / "prod" / "latest" / "manifest.json"
        out = work / "out"
        return [
            Step("meshkit --help", [MESHKIT, "--help"], work, [PY, "-c", "pass"]),
            Step(
                "publish (first)",
                [MESHKIT, "publish", "--project-dir", up, "--registry", str(self.first_registry)],
                work,
                manifest_floor,
                prepare=lambda: shutil.rmtree(self.first_registry, ignore_errors=True),
            ),
            Step(
                "publish (unchanged)",
                [MESHKIT, "publish", "--project-dir", up, "--registry", reg],
                work,
                manifest_floor,
            ),
            Step("check (unchanged)", [MESHKIT, "check", "--project-dir", up, "--registry", reg], work, manifest_floor),
            Step(
                "check (column removed)",
                [MESHKIT, "check", "--project-dir", up, "--registry", reg, "--manifest", str(self.up.broken)],
                work,
                FLOOR + [str(self.up.broken)],
                expect=(1,),
            ),
            Step(
                "sync (first)",
                self.sync_argv(),
                work,
                FLOOR + [str(contract)],
                prepare=lambda: self.mesh_file.unlink(missing_ok=True),
            ),
            Step("sync (unchanged)", self.sync_argv(), work, FLOOR + [str(contract)]),
            *(
                Step(
                    f"validate ({label})",
                    [MESHKIT, "validate", "--manifest", str(self.down_manifest(variant)), "--registry", reg],
                    work,
                    FLOOR + [str(self.down_manifest(variant)), str(contract)],
                )
                for variant, label in (("sources", "generated sources"), ("loom", "dbt-loom"))
            ),
            Step(
                "catalog (1 project)",
                [MESHKIT, "catalog", "--registry", reg, "--output", str(out / "one.html")],
                work,
                FLOOR + [str(contract)],
            ),
            Step(
                CATALOG_MESH,
                [MESHKIT, "catalog", "--registry", str(self.catalog_registry), "--output", str(out / "mesh.html")],
                work,
                FLOOR + [str(path) for path in self.catalog_contracts()],
            ),
        ]

    def parse_steps(self) -> list[Step]:
        """The downstream's dbt parse, each way against the hand-written sources file in the same run."""
        return [
            Step(f"dbt parse ({label})", PARSE, self.down[variant], PARSE, floor_cwd=self.down["hand"], group="dbt")
            for variant, label in (("sources", "generated sources"), ("loom", "dbt-loom"))
        ]

    def registry_of(self, step: Step) -> Path | None:
        for registry in (self.registry, self.first_registry, self.catalog_registry):
            if str(registry) in step.argv:
                return registry
        return None


def count(scenario: Scenario, steps: list[Step], s3: S3Counter | None) -> list[dict[str, Any]]:
    """One run of each command under bench/probe.py: locally, then against the S3 server."""
    results = []
    probe = [PY, str(BENCH / "probe.py")]
    out = scenario.logs / "counts.json"
    for step in steps:
        step.prepare()
        env = scenario.env | {"MESHKIT_BENCH_COUNTS": str(out)}
        must(probe + step.argv[1:], step.cwd, env, scenario.logs / "probe.log", step.expect)
        local = json.loads(out.read_text())
        remote = None
        registry = scenario.registry_of(step)
        if s3 is not None and registry is not None:
            step.prepare()
            url = s3.load(registry)
            argv = [url if a == str(registry) else a for a in step.argv]
            env = scenario.env | s3.env() | {"MESHKIT_BENCH_COUNTS": str(out), "MESHKIT_BENCH_S3": "1"}
            must(probe + argv[1:], step.cwd, env, scenario.logs / "probe-s3.log", step.expect)
            remote = json.loads(out.read_text())["s3"]
            s3.drop()
        results.append({"command": step.name, "local": local, "s3": remote})
    return results


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def meshkit_at(rev: str, work_dir: Path) -> tuple[Path, str]:
    """meshkit/ as committed at rev, unpacked with `git archive` (the repository is only read).

    Others may edit the work tree during a run that takes an hour; a fixed commit keeps every
    figure of one run from the same code."""
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    dest = work_dir / f"meshkit-{sha[:12]}"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", sha, "meshkit"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    subprocess.run([PY, "-m", "compileall", "-q", str(dest)], check=True)  # as pip does on install
    return dest, sha


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cores": os.cpu_count()}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            info["cpu"] = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            info["ram_gib"] = round(int(line.split()[1]) / 2**20, 1)
    info["platform"] = sys.platform
    return info


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for package in ("meshkit", "dbt-core", "dbt-duckdb", "dbt-loom", "orjson", "msgspec", "boto3", "moto"):
        found[package] = version(package)
    return found


def bench_one(n: int, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    print(f"[bench] N={n}: upstream project (cache {args.cache_dir})", flush=True)
    up = ensure_upstream(n, args.cache_dir, env)
    print(
        f"[bench] N={n}: {'cached' if up.meta['cached'] else 'generated and parsed'} "
        f"({up.meta['manifest_bytes'] / 2**20:.1f} MiB manifest); setting up registries",
        flush=True,
    )
    scenario = Scenario(up, args.work_dir / f"n{n}", env)
    setup_start = time.perf_counter()
    scenario.setup()
    setup_s = time.perf_counter() - setup_start
    timed: list[Timed] = []
    for step in scenario.steps() + scenario.parse_steps():
        print(f"[bench] N={n}: timing {step.name}", flush=True)
        timed.append(time_step(step, env, scenario.logs, repeat=args.repeat, warmup=args.warmup))
    explorer = []
    for name, page in scenario.explorer_pages().items():
        print(f"[bench] N={n}: the explorer page of {name} in headless Chromium", flush=True)
        explorer.append({"command": name} | measure_explorer(page, repeat=max(args.repeat, 3)))
    print(f"[bench] N={n}: counting files and S3 requests", flush=True)
    with S3Counter() as s3:
        counts = count(scenario, scenario.steps(), s3)
    result = {
        "n": n,
        "upstream": up.meta,
        "setup_s": setup_s,
        "work": str(scenario.work),
        "timed": timed,
        "counts": counts,
        "explorer": explorer,
        "bench_s": time.perf_counter() - start,
    }
    if not args.keep_work:
        shutil.rmtree(scenario.work)
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--models", default="1000,5000,20000", help="comma-separated model counts N (default: 1000,5000,20000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="counted runs per command, each paired with its floor (default: 3)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first (default: 1)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=BENCH / ".cache",
        help="parsed upstream projects, keyed by N and the generator's hash (default: bench/.cache)",
    )
    parser.add_argument("--work-dir", type=Path, help="scratch registries and downstreams (default: CACHE_DIR/work)")
    parser.add_argument(
        "--output-dir", type=Path, default=BENCH, help="where RESULTS.md and results.json go (default: bench/)"
    )
    parser.add_argument("--keep-work", action="store_true", help="keep each N's work tree for inspection")
    parser.add_argument(
        "--meshkit-rev",
        metavar="REV",
        help="time meshkit as committed at REV (git archive) instead of the installed work tree",
    )
    args = parser.parse_args(argv)
    args.models = [int(n) for n in args.models.split(",") if n.strip()]
    if args.repeat < 1 or args.warmup < 0 or not args.models or min(args.models) < 50:
        parser.error("need --repeat >= 1, --warmup >= 0 and model counts of at least 50")
    args.cache_dir = args.cache_dir.resolve()
    args.work_dir = (args.work_dir or args.cache_dir / "work").resolve()
    args.output_dir = args.output_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    source: dict[str, Any] = {"git_head": _git("rev-parse", "HEAD")}
    if args.meshkit_rev:
        path, sha = meshkit_at(args.meshkit_rev, args.work_dir)
        env = child_env(PYTHONPATH=str(path))
        source |= {"meshkit": f"git archive of {sha}", "rev": args.meshkit_rev, "commit": sha}
    else:
        env = child_env()
        changed = _git("status", "--porcelain", "--", "meshkit")
        source |= {"meshkit": str(REPO / "meshkit"), "uncommitted_changes": bool(changed)}
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    runs = []
    try:
        for n in args.models:
            runs.append(bench_one(n, args, env))
    except CommandFailed as error:
        print(f"[bench] failed: {error}", file=sys.stderr)
        return 1
    command = [
        Path(PY).name,
        "bench/run.py",
        "--models",
        ",".join(map(str, args.models)),
        "--repeat",
        str(args.repeat),
        "--warmup",
        str(args.warmup),
    ]
    command += ["--meshkit-rev", args.meshkit_rev] if args.meshkit_rev else []
    args.output_dir.mkdir(parents=True, exist_ok=True)
    write_reports(
        args.output_dir,
        runs,
        machine=machine(),
        versions=versions(),
        started=started,
        command=" ".join(command),
        settings={"repeat": args.repeat, "warmup": args.warmup, "github_sha": GITHUB_SHA, "source": source},
    )
    print(f"[bench] wrote {args.output_dir / 'RESULTS.md'} and {args.output_dir / 'results.json'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
