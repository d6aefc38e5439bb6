"""meshkit's wheel in users' dbt environments (dbt-core 1.8 to 1.11) and at its own lowest dependency bounds.

meshkit declares only what it imports, as ranges, and leaves dbt to the user. These tests prove it:

- the wheel is built once per run and installed with uv into fresh virtualenvs that already hold a
  user's dbt stack, pinned exactly by the lock files in tests/compat/ (see tests/compat/README.md);
  installing it must change no installed package and add only meshkit and its missing dependencies;
- in each of those virtualenvs, the venv's own `dbt parse` writes the manifests and the venv's own
  `meshkit` publishes an upstream, syncs a downstream (which dbt then parses), validates it with
  the consumer recorded, and checks the upstream unchanged (exit 0) and with a public column dropped
  (exit 1, naming the consumer); a contract published from dbt 1.8 is unchanged for dbt 1.9-1.11;
- the lower bounds in pyproject.toml install (uv, lowest-direct) and work: CLI, the local registry
  round trip on tests/data/manifest_shop.json, the catalog, and the S3 registry's conditional
  writes against the moto server.

uv and PyPI must be reachable: without them these tests fail (never skip) and say so. The wheel,
the virtualenvs and the first `dbt parse` of each stack are built once per run and shared by the
xdist workers (a FileLock and a record file, as `built_mesh` in conftest.py does); uv's cache
(default ~/.cache/uv, or $UV_CACHE_DIR) makes reruns fast. Each record keeps its steps' wall times.
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from filelock import FileLock
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from support.helpers import BIN, REPO, clean_env, run
from support.s3server import moto_server, s3_env  # noqa: F401  (moto_server is a fixture)

pytestmark = pytest.mark.compat

COMPAT = Path(__file__).parents[1] / "compat"
PROJECTS = COMPAT / "projects"
DATA = Path(__file__).parents[1] / "data"
COMMIT = "c0ffee0000000000000000000000000000000008"
# What the test's own environment may carry that would steer uv, dbt or the profiles away from the test's setup.
# PYTHONDONTWRITEBYTECODE goes too: a venv's first dbt run writes the .pyc files its later runs reuse.
_SCRUBBED_PREFIXES = (
    "DBT_",
    "COMPAT_PG_",
    "MESHKIT_",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONDONTWRITEBYTECODE",
)

Result = subprocess.CompletedProcess[str]


def lock_pins(path: Path) -> dict[str, str]:
    """name -> version of a lock file's exact pins, names canonical."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path}: {line!r} is not an exact pin"
            pins[str(canonicalize_name(name))] = version
    return pins


@dataclass(frozen=True)
class Stack:
    """A user's dbt environment: a lock file under tests/compat/ and the profiles' target for its adapter."""

    lock: str
    adapter: str

    @property
    def lock_file(self) -> Path:
        return COMPAT / f"{self.lock}.txt"

    def pins(self) -> dict[str, str]:
        return lock_pins(self.lock_file)

    @property
    def dbt_version(self) -> str:
        return self.pins()["dbt-core"]


STACKS = (
    Stack("dbt-1.8-postgres", "postgres"),
    Stack("dbt-1.9-duckdb", "duckdb"),
    Stack("dbt-1.10-duckdb", "duckdb"),
    Stack("dbt-1.11-duckdb", "duckdb"),
)


def by_lock(stack: Stack) -> str:
    return stack.lock


# --- processes ----------------------------------------------------------------------------------------------


class BuildFailed(Exception):
    """A step of a shared build failed; the message is what every test that needs the build reports."""


def scrubbed_env(base: dict[str, str] | None = None, bin_dir: Path | None = None) -> dict[str, str]:
    """base (default clean_env()) without _SCRUBBED_PREFIXES; with bin_dir first on PATH and the dev venv off it."""
    env = {k: v for k, v in (base or clean_env()).items() if not k.startswith(_SCRUBBED_PREFIXES)}
    if bin_dir is not None:
        rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != BIN]
        env["PATH"] = os.pathsep.join([str(bin_dir), *rest])
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
    return env


def uv_exe() -> Path:
    found = BIN / "uv"
    if found.is_file():
        return found
    which = shutil.which("uv")
    if which is None:
        pytest.fail(
            "uv is not installed: the compat tests need it (pip install -r requirements-dev.txt)", pytrace=False
        )
    return Path(which)


def uv(*args: str | Path, cwd: Path) -> Result:
    # cwd is always a scratch folder: no pyproject.toml or uv.toml there to change uv's settings.
    return run([uv_exe(), *args], cwd=cwd, env=scrubbed_env(), timeout=900)


def must(result: Result, what: str) -> Result:
    if result.returncode != 0:
        raise BuildFailed(
            f"{what} failed (exit {result.returncode}); the compat tests need uv and a reachable PyPI:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


def timed(step: Callable[[], Result], what: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = must(step(), what)
    return result, round(time.monotonic() - started, 2)


def venv_python() -> str:
    """The lock files are compiled for Python 3.11: this interpreter when it is one, else whichever 3.11 uv finds."""
    return sys.executable if sys.version_info[:2] == (3, 11) else "3.11"


def new_venv(venv: Path, cwd: Path) -> float:
    return timed(lambda: uv("venv", "--python", venv_python(), venv, cwd=cwd), f"uv venv {venv}")[1]


def freeze(venv: Path, cwd: Path) -> dict[str, str]:
    """name -> version (or `@ url`) of everything installed in venv, names canonical."""
    out = must(uv("pip", "freeze", "--python", venv, cwd=cwd), f"uv pip freeze in {venv}").stdout
    installed: dict[str, str] = {}
    for line in out.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if "==" in line:
            name, _, version = line.partition("==")
        else:
            name, _, url = line.partition(" @ ")
            version = f"@ {url.strip()}"
        installed[str(canonicalize_name(name.strip()))] = version.strip()
    return installed


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


# --- builds shared by the whole run ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def compat_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    # As built_mesh: under xdist the workers' base temps share this run's parent folder.
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "compat"
    root.mkdir(exist_ok=True)
    return root


def once(root: Path, name: str, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """build(root/name) once per run, by whichever worker comes first; the others wait and read its record."""
    record = root / f"{name}.json"
    with FileLock(str(root / f"{name}.lock")):
        if not record.exists():
            dest = root / name
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir()
            try:
                outcome = build(dest)
            except BuildFailed as exc:
                outcome = {"error": str(exc)}
            record.write_text(json.dumps(outcome, indent=2))
    outcome = read_json(record)
    if "error" in outcome:
        pytest.fail(f"{name}: {outcome['error']}", pytrace=False)
    return outcome


@dataclass(frozen=True)
class Wheel:
    path: Path
    version: str
    requires_dist: tuple[str, ...]

    def requirements(self, extra: str = "") -> list[Requirement]:
        """The wheel's dependencies with `extra` (or none) selected, markers evaluated for this interpreter."""
        reqs = [Requirement(line) for line in self.requires_dist]
        return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": extra})]


def _build_wheel(dest: Path) -> dict[str, Any]:
    # setuptools writes build/ and *.egg-info beside the sources: build from a copy of what the wheel holds.
    src = dest / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "meshkit", src / "meshkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _, seconds = timed(
        lambda: uv("build", "--wheel", "--python", sys.executable, "--out-dir", dest / "dist", src, cwd=dest),
        "uv build --wheel",
    )
    wheels = sorted((dest / "dist").glob("meshkit-*.whl"))
    if len(wheels) != 1:
        raise BuildFailed(f"uv build --wheel left {[w.name for w in wheels]} in {dest / 'dist'}")
    with zipfile.ZipFile(wheels[0]) as archive:
        [metadata_name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.HeaderParser().parsestr(archive.read(metadata_name).decode())
    return {
        "wheel": str(wheels[0]),
        "version": metadata["Version"],
        "requires_dist": metadata.get_all("Requires-Dist") or [],
        "seconds": {"build": seconds},
    }


@pytest.fixture(scope="session")
def wheel(compat_root: Path) -> Wheel:
    """meshkit's wheel, built once per run from the working tree."""
    record = once(compat_root, "wheel", _build_wheel)
    return Wheel(Path(record["wheel"]), record["version"], tuple(record["requires_dist"]))


def _build_stack(stack: Stack, wheel: Wheel) -> Callable[[Path], dict[str, Any]]:
    def build(dest: Path) -> dict[str, Any]:
        venv = dest / "venv"
        create = new_venv(venv, dest)
        _, stack_install = timed(
            lambda: uv("pip", "install", "--python", venv, "-r", stack.lock_file, cwd=dest),
            f"installing the dbt stack {stack.lock_file.name}",
        )
        before = freeze(venv, dest)
        installed, meshkit_install = timed(
            lambda: uv("pip", "install", "--python", venv, wheel.path, cwd=dest),
            f"installing {wheel.path.name} into the {stack.lock} virtualenv",
        )
        after = freeze(venv, dest)
        check = uv("pip", "check", "--python", venv, cwd=dest)
        return {
            "venv": str(venv),
            "before": before,
            "after": after,
            "install_log": installed.stderr,
            "pip_check": {"returncode": check.returncode, "output": check.stdout + check.stderr},
            "seconds": {"venv": create, "stack": stack_install, "meshkit": meshkit_install},
        }

    return build


@dataclass(frozen=True)
class StackEnv:
    """A stack's virtualenv with meshkit installed; programs run with only the venv's bin/ before the system's."""

    stack: Stack
    venv: Path
    record: dict[str, Any]

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def dbt_parse(self, project: Path) -> Result:
        return run(
            [
                self.bin / "dbt",
                "parse",
                "--no-partial-parse",
                "--target",
                self.stack.adapter,
                "--project-dir",
                project,
                "--profiles-dir",
                project,
            ],
            cwd=project,
            env=scrubbed_env(bin_dir=self.bin),
        )

    def meshkit(self, *args: str | Path, cwd: Path) -> Result:
        result = run([self.bin / "meshkit", *args], cwd=cwd, env=scrubbed_env(bin_dir=self.bin))
        assert "Traceback" not in result.stderr, result.stderr
        return result


@pytest.fixture(scope="session")
def stack_env(compat_root: Path, wheel: Wheel) -> Callable[[Stack], StackEnv]:
    """One virtualenv per stack, built once per run: the stack's lock installed, then meshkit's wheel."""

    def get(stack: Stack) -> StackEnv:
        record = once(compat_root, stack.lock, _build_stack(stack, wheel))
        return StackEnv(stack, Path(record["venv"]), record)

    return get


def _parse_up(env: StackEnv) -> Callable[[Path], dict[str, Any]]:
    def build(dest: Path) -> dict[str, Any]:
        up = dest / "up"
        shutil.copytree(PROJECTS / "up", up)
        started = time.monotonic()
        result = env.dbt_parse(up)
        if result.returncode != 0:
            raise BuildFailed(
                f"dbt parse of up with dbt {env.stack.dbt_version} failed:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
            )
        return {"project": str(up), "seconds": {"parse": round(time.monotonic() - started, 2)}}

    return build


@pytest.fixture(scope="session")
def parsed_up(compat_root: Path, stack_env: Callable[[Stack], StackEnv]) -> Callable[[Stack], Path]:
    """tests/compat/projects/up with target/manifest.json from the stack's own `dbt parse`. Read-only: copy it."""

    def get(stack: Stack) -> Path:
        return Path(once(compat_root, f"{stack.lock}-up", _parse_up(stack_env(stack)))["project"])

    return get


# --- the wheel itself -----------------------------------------------------------------------------------------


def test_the_wheel_depends_on_what_meshkit_imports_and_never_on_dbt(wheel: Wheel) -> None:
    reqs = {str(canonicalize_name(Requirement(r).name)): Requirement(r) for r in wheel.requires_dist}
    assert sorted(reqs) == [
        "boto3", "botocore", "google-auth", "jinja2", "msgspec", "obstore", "orjson", "pyyaml", "requests",
        "sqlglot", "urllib3",
    ]  # fmt: skip
    extras = {"boto3": "s3", "botocore": "s3", "google-auth": "gcs", "obstore": "azure"}
    assert sorted(n for n, r in reqs.items() if r.marker is not None) == sorted(extras)
    assert all(str(reqs[n].marker) == f'extra == "{extra}"' for n, extra in extras.items())
    for req in reqs.values():  # ranges with a lower and an upper bound, never a pin
        assert sorted(spec.operator for spec in req.specifier) == ["<", ">="], req


def _closure(site_packages: Path, root: Requirement) -> set[str]:
    """Every installed distribution reachable from root through the installed packages' own Requires-Dist."""
    metadata = {}
    for info in site_packages.glob("*.dist-info"):
        parsed = email.parser.HeaderParser().parsestr((info / "METADATA").read_text())
        metadata[str(canonicalize_name(parsed["Name"]))] = parsed
    seen: set[str] = set()
    todo = [(root, "")]
    while todo:
        req, parent_extra = todo.pop()
        name = str(canonicalize_name(req.name))
        if req.marker is not None and not req.marker.evaluate({"extra": parent_extra}):
            continue
        if name in seen or name not in metadata:
            continue
        seen.add(name)
        for line in metadata[name].get_all("Requires-Dist") or []:
            todo.extend((Requirement(line), extra) for extra in (req.extras or {""}))
    return seen


@pytest.mark.parametrize("extra", ["", "s3"], ids=["plain", "s3"])
def test_a_fresh_venv_gets_meshkit_and_its_own_dependencies_only(wheel: Wheel, tmp_path: Path, extra: str) -> None:
    venv = tmp_path / "venv"
    new_venv(venv, tmp_path)
    target = f"{wheel.path}[{extra}]" if extra else str(wheel.path)
    timed(lambda: uv("pip", "install", "--python", venv, target, cwd=tmp_path), f"uv pip install {target}")
    installed = freeze(venv, tmp_path)

    assert installed["meshkit"] == f"@ {wheel.path.as_uri()}"
    [site_packages] = venv.glob("lib/python3*/site-packages")
    needed = _closure(site_packages, Requirement(f"meshkit[{extra}]" if extra else "meshkit"))
    assert set(installed) == needed, f"installed but not needed by meshkit: {set(installed) - needed}"
    assert {str(canonicalize_name(r.name)) for r in wheel.requirements(extra)} <= set(installed)
    assert not [name for name in installed if name.startswith("dbt")]
    assert bool({"boto3", "botocore"} & set(installed)) is bool(extra)


# --- 1. installing into a user's dbt stack changes none of its packages ------------------------------------


@pytest.mark.parametrize("stack", STACKS, ids=by_lock)
def test_installing_the_wheel_changes_no_package_of_the_dbt_stack(stack: Stack, stack_env, wheel: Wheel) -> None:
    env = stack_env(stack)
    before, after = env.record["before"], env.record["after"]
    pins = stack.pins()
    assert before == pins, "the virtualenv is not exactly the lock file"
    minor = stack.lock.split("-")[1]
    assert pins["dbt-core"].startswith(f"{minor}.") and pins[f"dbt-{stack.adapter}"].startswith(f"{minor}.")

    changed = {name: (before[name], after.get(name)) for name in before if after.get(name) != before[name]}
    assert changed == {}, f"installing meshkit changed the user's packages: {changed}"
    missing = {str(canonicalize_name(r.name)) for r in wheel.requirements()} - set(before)
    assert set(after) - set(before) == {"meshkit"} | missing, env.record["install_log"]
    assert missing == {
        "msgspec",
        "orjson",
        "sqlglot",
    }  # the stacks hold Jinja2, PyYAML, requests and urllib3 (older ones in 1.8/1.9)
    assert after["meshkit"] == f"@ {wheel.path.as_uri()}"
    assert env.record["pip_check"]["returncode"] == 0, env.record["pip_check"]["output"]

    version = run([env.bin / "meshkit", "--version"], cwd=env.venv, env=scrubbed_env(bin_dir=env.bin))
    assert (version.returncode, version.stdout) == (0, f"meshkit {wheel.version}\n")


# --- 2. the mesh round trip on each dbt version's own manifests --------------------------------------------


def drop_public_orders_status(up: Path) -> None:
    """The breaking PR: public_orders loses its public column `status` (yml and SQL)."""
    yml = up / "models" / "_public.yml"
    document = yaml.safe_load(yml.read_text())
    [orders] = [m for m in document["models"] if m["name"] == "public_orders"]
    orders["columns"] = [c for c in orders["columns"] if c["name"] != "status"]
    yml.write_text(yaml.safe_dump(document, sort_keys=False))
    sql = up / "models" / "public_orders.sql"
    line = "    cast(status as varchar(20)) as status,\n"
    assert line in sql.read_text()
    sql.write_text(sql.read_text().replace(line, ""))


@pytest.mark.parametrize("stack", STACKS, ids=by_lock)
def test_publish_sync_validate_check_with_the_stacks_own_dbt(
    stack: Stack, stack_env, parsed_up, tmp_path: Path
) -> None:
    env = stack_env(stack)
    up, down = tmp_path / "up", tmp_path / "down"
    shutil.copytree(parsed_up(stack), up)
    shutil.copytree(PROJECTS / "down", down)
    registry = tmp_path / "registry"
    reg = ("--registry", str(registry))
    metadata = read_json(up / "target" / "manifest.json")["metadata"]
    assert (metadata["dbt_version"], metadata["adapter_type"]) == (stack.dbt_version, stack.adapter)

    # publish the upstream's contract
    published = env.meshkit(
        "publish", "--project-dir", up, *reg, "--git-commit", COMMIT, "--format", "json", cwd=tmp_path
    )
    assert published.returncode == 0, published.stderr
    document = json.loads(published.stdout)
    assert (document["status"], document["kind"], document["project"], document["env"]) == (
        "published",
        "contract",
        "up",
        "prod",
    )
    assert [(m["unique_id"], m["version"], m["latest_version"]) for m in document["public_models"]] == [
        ("model.up.public_customers.v1", "1", "2"),
        ("model.up.public_customers.v2", "2", "2"),
        ("model.up.public_orders", None, None),
    ]
    assert document["public_models"][0]["deprecation_date"].startswith("2099-12-31")
    assert document["public_models"][2]["relation_name"] == '"warehouse"."analytics"."public_orders"'
    sha = document["sha256"]
    latest = registry / "up" / "prod" / "latest"
    recorded = read_json(latest / "metadata.json")
    assert (recorded["sha256"], recorded["dbt_version"], recorded["git_commit"]) == (sha, stack.dbt_version, COMMIT)
    assert [p.name for p in (registry / "up" / "prod" / "history").iterdir()] == [document["history_id"]]
    contract = (latest / "manifest.json").read_bytes()
    assert b"raw_code" not in contract and b"compiled_code" not in contract

    # sync the downstream's sources from it; dbt parses the downstream with them
    mesh_file = down / "models" / "_mesh_up.yml"
    sync = ("sync", "--project-dir", down, "--upstream", "up", *reg)
    synced = env.meshkit(*sync, cwd=tmp_path)
    assert (synced.returncode, synced.stdout) == (
        0,
        f"up/prod (sha256 {sha[:12]}): wrote 3 of 4 source tables (used by the project) to {mesh_file}\n",
    )
    [source] = yaml.safe_load(mesh_file.read_text())["sources"]
    assert (source["name"], source["database"], source["schema"]) == ("up", "warehouse", "analytics")
    assert [(t["name"], t["identifier"]) for t in source["tables"]] == [  # those the models' source() calls name
        ("public_customers", "public_customers_v2"),
        ("public_customers_v1", "public_customers_v1"),
        ("public_orders", "public_orders"),
    ]
    assert env.meshkit(*sync, "--check", cwd=tmp_path).returncode == 0
    parsed = env.dbt_parse(down)
    assert parsed.returncode == 0, parsed.stdout[-4000:] + parsed.stderr[-2000:]
    down_manifest = down / "target" / "manifest.json"
    assert read_json(down_manifest)["parent_map"]["model.down.orders_by_status"] == ["source.down.up.public_orders"]

    # validate, recording the consumer
    validated = env.meshkit(
        "validate",
        "--manifest",
        down_manifest,
        *reg,
        "--record-consumer",
        "--git-commit",
        COMMIT,
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    report = json.loads(validated.stdout)
    assert (report["ok"], report["error_count"], report["warning_count"]) == (True, 0, 0)
    [project] = report["projects"]
    assert [(d["parent_id"], d["contract_id"], d["via"], d["consumers"]) for d in project["dependencies"]] == [
        (
            "source.down.up.public_customers",
            "model.up.public_customers.v2",
            "mesh-source",
            ["model.down.customer_names"],
        ),
        (
            "source.down.up.public_customers_v1",
            "model.up.public_customers.v1",
            "mesh-source",
            ["model.down.legacy_customer_names"],
        ),
        ("source.down.up.public_orders", "model.up.public_orders", "mesh-source", ["model.down.orders_by_status"]),
    ]
    consumer = read_json(registry / "up" / "prod" / "consumers" / "down.json")
    assert (consumer["downstream"], consumer["upstream"], consumer["git_commit"], consumer["contract_sha256"]) == (
        "down",
        "up",
        COMMIT,
        sha,
    )
    assert {u["unique_id"]: u["downstream_models"] for u in consumer["uses"]} == {
        "model.up.public_customers.v1": ["model.down.legacy_customer_names"],
        "model.up.public_customers.v2": ["model.down.customer_names"],
        "model.up.public_orders": ["model.down.orders_by_status"],
    }

    # the catalog reads this dbt version's contract and the consumer record
    catalog = env.meshkit("catalog", *reg, "--format", "json", "--output", "-", cwd=tmp_path)
    assert catalog.returncode == 0, catalog.stderr
    [entry], [contract] = json.loads(catalog.stdout)["entries"], json.loads(catalog.stdout)["contracts"]
    assert (entry["project"], entry["env"], entry["sha256"], len(contract["models"])) == ("up", "prod", sha, 3)
    assert [c["downstream"] for c in entry["consumers"]] == ["down"]

    # check: the unchanged upstream passes
    unchanged = env.meshkit("check", "--project-dir", up, *reg, "--format", "json", cwd=tmp_path)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    report = json.loads(unchanged.stdout)
    assert (report["ok"], report["changes"], report["base"]["sha256"]) == (True, [], sha)
    assert [c["downstream"] for c in report["consumers"]] == ["down"]

    # check: a PR that drops a public column fails and names the consumer it breaks
    drop_public_orders_status(up)
    reparsed = env.dbt_parse(up)
    assert reparsed.returncode == 0, reparsed.stdout[-4000:] + reparsed.stderr[-2000:]
    broken = env.meshkit("check", "--project-dir", up, *reg, "--format", "json", cwd=tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    report = json.loads(broken.stdout)
    assert (report["ok"], report["exit_code"], report["summary"]["broken_downstreams"]) == (False, 1, ["down"])
    assert [(c["code"], c["breaking"], c["unique_id"], c["columns"]) for c in report["changes"]] == [
        ("column-removed", True, "model.up.public_orders", ["status"])
    ]
    # Recorded from `dbt parse` (no compiled SQL): its lineage is unknown, so it may break, and is named.
    assert [(i["downstream"], i["via"], i["models"], i["may_break"]) for i in report["changes"][0]["impacts"]] == [
        ("down", "mesh-source", [], ["model.down.orders_by_status"])
    ]
    text = env.meshkit("check", "--project-dir", up, *reg, cwd=tmp_path)
    assert text.returncode == 1
    assert "BREAKING [column-removed] column status of public_orders was removed" in text.stdout
    assert "affects down: orders_by_status" in text.stdout
    assert text.stdout.rstrip().endswith("FAILED: 1 breaking change to up's public contract, breaking down")


def test_a_contract_published_from_dbt_1_8_is_unchanged_for_newer_dbt(stack_env, parsed_up, tmp_path: Path) -> None:
    """Upgrading dbt is not a contract change: 1.8's manifest has no primary_key and writes model versions as
    strings (1.9+ write numbers), yet the same public surface parsed by 1.9, 1.10 and 1.11 checks clean.
    (The postgres and duckdb profiles name the same database and schema, so the relations match.)"""
    oldest, *newer = STACKS
    registry = ("--registry", str(tmp_path / "registry"))
    published = stack_env(oldest).meshkit(
        "publish",
        "--project-dir",
        parsed_up(oldest),
        *registry,
        "--git-commit",
        COMMIT,
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert published.returncode == 0, published.stderr
    sha = json.loads(published.stdout)["sha256"]
    old = read_json(parsed_up(oldest) / "target" / "manifest.json")["nodes"]
    assert "primary_key" not in old["model.up.public_orders"]
    assert old["model.up.public_customers.v1"]["version"] == "1"
    for stack in newer:
        new = read_json(parsed_up(stack) / "target" / "manifest.json")["nodes"]
        assert new["model.up.public_customers.v1"]["version"] == 1, stack.lock
        assert new["model.up.public_orders"]["primary_key"] == ["order_id"], stack.lock
        result = stack_env(stack).meshkit(
            "check", "--project-dir", parsed_up(stack), *registry, "--format", "json", cwd=tmp_path
        )
        assert result.returncode == 0, f"{stack.lock}: {result.stdout}{result.stderr}"
        report = json.loads(result.stdout)
        assert (report["changes"], report["base"]["sha256"]) == ([], sha), stack.lock


# --- 3. the lower bounds are real ----------------------------------------------------------------------------


def _build_lowest(wheel: Wheel) -> Callable[[Path], dict[str, Any]]:
    def build(dest: Path) -> dict[str, Any]:
        venv = dest / "venv"
        create = new_venv(venv, dest)
        # lowest-direct lowers only the requirements named on the command line, and a wheel's own dependencies
        # are not among them (uv 0.13.8 installs the newest of each): name each of them, marker dropped, beside it.
        direct = [f"{r.name}{r.specifier}" for r in wheel.requirements("s3")]
        installed, seconds = timed(
            lambda: uv(
                "pip",
                "install",
                "--python",
                venv,
                "--resolution",
                "lowest-direct",
                f"{wheel.path}[s3]",
                *direct,
                cwd=dest,
            ),
            "uv pip install --resolution lowest-direct meshkit[s3]",
        )
        return {
            "venv": str(venv),
            "installed": freeze(venv, dest),
            "install_log": installed.stderr,
            "seconds": {"venv": create, "install": seconds},
        }

    return build


@pytest.fixture(scope="session")
def lowest(compat_root: Path, wheel: Wheel) -> dict[str, Any]:
    """A fresh virtualenv with meshkit[s3] and each of its dependencies at the lower bound pyproject.toml declares."""
    return once(compat_root, "lowest-direct", _build_lowest(wheel))


def lowest_run(lowest: dict[str, Any], *args: str | Path, cwd: Path, base: dict[str, str] | None = None) -> Result:
    bin_dir = Path(lowest["venv"]) / "bin"
    result = run([bin_dir / str(args[0]), *args[1:]], cwd=cwd, env=scrubbed_env(base, bin_dir=bin_dir))
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_lowest_direct_installs_every_lower_bound(lowest: dict[str, Any], wheel: Wheel, tmp_path: Path) -> None:
    installed = lowest["installed"]
    for req in wheel.requirements("s3"):
        [floor] = [Version(spec.version) for spec in req.specifier if spec.operator == ">="]
        assert Version(installed[str(canonicalize_name(req.name))]) == floor, (req, lowest["install_log"])
    # Every module imports with the oldest dependencies (the CLI imports some lazily), warnings as errors.
    script = (
        "import importlib, pkgutil, meshkit\n"
        "for m in pkgutil.walk_packages(meshkit.__path__, 'meshkit.'):\n"
        "    if m.name != 'meshkit.__main__': importlib.import_module(m.name)\n"
        "import meshkit.registry.s3 as s3; s3._boto3()\n"
    )
    imported = lowest_run(lowest, "python", "-W", "error", "-c", script, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    version = lowest_run(lowest, "meshkit", "--version", cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"meshkit {wheel.version}\n")


def _shop(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\n")
    shutil.copy2(DATA / "manifest_shop.json", project / "target" / "manifest.json")
    return project


def _down(tmp_path: Path) -> Path:
    down = tmp_path / "down"
    (down / "models").mkdir(parents=True)
    (down / "dbt_project.yml").write_text("name: down\n")
    (down / "models" / "orders.sql").write_text(
        "{{ config(materialized='view') }}\nselect * from {{ source('shop', 'orders') }}\n"
    )
    return down


def test_lowest_bounds_round_trip_and_catalog(lowest: dict[str, Any], tmp_path: Path) -> None:
    def meshkit(*args: str | Path) -> Result:
        return lowest_run(lowest, "meshkit", *args, cwd=tmp_path)

    shop = _shop(tmp_path)
    reg = ("--registry", str(tmp_path / "registry"))
    published = meshkit("publish", "--project-dir", shop, *reg, "--git-commit", COMMIT, "--format", "json")
    assert published.returncode == 0, published.stderr
    sha = json.loads(published.stdout)["sha256"]
    again = meshkit("publish", "--project-dir", shop, *reg, "--git-commit", COMMIT)
    assert (again.returncode, again.stdout) == (
        0,
        f"shop/prod: contract unchanged (sha256 {sha[:12]}), no new history entry; pass --force to republish\n",
    )

    down = _down(tmp_path)
    mesh_file = down / "models" / "_mesh_shop.yml"
    synced = meshkit("sync", "--project-dir", down, "--upstream", "shop", *reg)
    assert (synced.returncode, synced.stdout) == (
        0,
        f"shop/prod (sha256 {sha[:12]}): wrote 1 of 4 source tables (used by the project) to {mesh_file}\n",
    )
    assert meshkit("sync", "--project-dir", down, "--upstream", "shop", *reg, "--check").returncode == 0

    loom = tmp_path / "down_loom.json"
    shutil.copy2(DATA / "manifest_down_loom.json", loom)
    validated = meshkit("validate", "--manifest", loom, *reg, "--record-consumer", "--git-commit", COMMIT)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout.endswith("OK: 1 cross-project dependency in 1 project, 0 errors, 0 warnings\n")

    unchanged = meshkit("check", "--project-dir", shop, *reg, "--format", "json")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert json.loads(unchanged.stdout)["changes"] == []
    manifest = read_json(shop / "target" / "manifest.json")
    del manifest["nodes"]["model.shop.orders"]["columns"]["status"]
    (shop / "target" / "manifest.json").write_text(json.dumps(manifest))
    broken = meshkit("check", "--project-dir", shop, *reg, "--format", "json")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    [change] = json.loads(broken.stdout)["changes"]
    assert (change["code"], change["columns"]) == ("column-removed", ["status"])
    # The fixture manifest is a `dbt parse` one, without compiled SQL: its reader may break, and is named.
    assert [(i["downstream"], i["via"], i["models"], i["may_break"]) for i in change["impacts"]] == [
        ("down_loom", "dbt-loom", [], ["model.down_loom.customer_orders"])
    ]

    page = tmp_path / "catalog.html"
    catalog = meshkit("catalog", *reg, "--output", page)
    assert catalog.returncode == 0, catalog.stderr
    assert catalog.stderr == (
        f"wrote {page}: 1 published project, 1 env, 3 public model versions, 1 consumer-only project\n"
    )
    assert page.read_text().startswith("<!doctype html>")
    as_json = meshkit("catalog", *reg, "--format", "json", "--output", "-")
    assert as_json.returncode == 0, as_json.stderr
    [entry] = json.loads(as_json.stdout)["entries"]
    assert (entry["project"], entry["env"], entry["sha256"]) == ("shop", "prod", sha)
    assert [c["downstream"] for c in entry["consumers"]] == ["down_loom"]


@pytest.mark.s3
def test_lowest_bounds_publish_to_s3_with_conditional_writes(
    lowest: dict[str, Any], moto_server: str, tmp_path: Path
) -> None:
    """boto3/botocore at their floor must know PutObject's IfNoneMatch (history, first latest) and IfMatch
    (replacing latest): botocore 1.35.69 is the first release with both."""
    import boto3

    bucket = f"meshkit-compat-{os.getpid()}"
    boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    env = s3_env(moto_server)
    shop = _shop(tmp_path)
    reg = ("--registry", f"s3://{bucket}/registry")

    def meshkit(*args: str | Path) -> Result:
        return lowest_run(lowest, "meshkit", *args, cwd=tmp_path, base=env)

    first = meshkit("publish", "--project-dir", shop, *reg, "--git-commit", COMMIT, "--format", "json")
    assert first.returncode == 0, first.stderr
    forced = meshkit("publish", "--project-dir", shop, *reg, "--git-commit", COMMIT, "--force", "--format", "json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["status"] == "published"
    assert json.loads(forced.stdout)["history_id"] != json.loads(first.stdout)["history_id"]
    down = _down(tmp_path)
    synced = meshkit("sync", "--project-dir", down, "--upstream", "shop", *reg)
    assert synced.returncode == 0, synced.stderr
    assert f"sha256 {json.loads(forced.stdout)['sha256'][:12]}" in synced.stdout
