"""The composite actions' scripts run directly, as a runner runs them, for the cases the act scenarios
do not reach: bad inputs (one annotation, exit 2, nothing left behind) and what reaches the dbt
command's environment. The workflows themselves run under act in test_act_*.py.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from support.helpers import REPO

ACTIONS = REPO / ".github" / "actions"


class Runner:
    """The files and variables a GitHub runner gives a step."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workspace = root / "workspace"
        self.workspace.mkdir()
        for name in ("output", "env", "path", "summary"):
            (root / name).write_text("")
        (root / "temp").mkdir()
        (root / "tool-cache").mkdir()

    def run(
        self, action: str, script: str, *, env_extra: dict[str, str] | None = None, **inputs: str
    ) -> subprocess.CompletedProcess[str]:
        """Run one action script; inputs become MESHKIT_INPUT_* variables, as the action.yml maps them."""
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(self.root)),
            "LANG": "C.UTF-8",
            "GITHUB_ACTION_PATH": str(ACTIONS / action),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(self.root / "output"),
            "GITHUB_ENV": str(self.root / "env"),
            "GITHUB_PATH": str(self.root / "path"),
            "RUNNER_TEMP": str(self.root / "temp"),
            "RUNNER_TOOL_CACHE": str(self.root / "tool-cache"),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            **{f"MESHKIT_INPUT_{k.upper()}": v for k, v in inputs.items()},
            **(env_extra or {}),
        }
        for name in ("PIP_CACHE_DIR", "PIP_CERT", "PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT"):
            if name in os.environ:
                env[name] = os.environ[name]
        return subprocess.run(
            [str(ACTIONS / action / script)], cwd=self.workspace, env=env, capture_output=True, text=True, timeout=600
        )

    def outputs(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in (self.root / "output").read_text().splitlines() if "=" in line)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def annotations(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("::error")]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "missing.txt",
            "dbt-requirements file 'missing.txt' does not exist: commit it (e.g. dbt-postgres==1.11.0 and "
            "dbt-loom==0.9.6, one per line) or clear the input",
        ),
        (
            "../outside.txt",
            "dbt-requirements '../outside.txt' must be a path inside the repository, relative to its root",
        ),
        ("/etc/passwd", "dbt-requirements '/etc/passwd' must be a path inside the repository, relative to its root"),
    ],
)
def test_setup_refuses_a_dbt_requirements_file_it_cannot_use(runner: Runner, value: str, message: str) -> None:
    result = runner.run("setup", "plan.sh", dbt_requirements=value)
    assert result.returncode == 2
    assert annotations(result) == [f"::error title=meshkit setup::{message}"]


def test_setup_plans_one_virtualenv_per_dbt_stack(runner: Runner) -> None:
    (runner.workspace / "requirements-dbt.txt").write_text("dbt-postgres==1.11.0\n")
    assert runner.run("setup", "plan.sh", dbt_requirements="requirements-dbt.txt").returncode == 0
    first = runner.outputs()
    assert first["dbt-key"].startswith("meshkit-dbt-Linux-X64-py3.") and first["dbt-ready"] == "false"
    assert first["dbt-venv"] == f"{runner.root}/tool-cache/meshkit-dbt/{first['dbt-key']}"
    assert first["key"].startswith("meshkit-venv-Linux-X64-py3.") and first["dbt-key"] != first["key"]
    (runner.root / "output").write_text("")
    (runner.workspace / "requirements-dbt.txt").write_text("dbt-postgres==1.11.0\ndbt-loom==0.9.6\n")
    assert runner.run("setup", "plan.sh", dbt_requirements="requirements-dbt.txt").returncode == 0
    assert runner.outputs()["dbt-key"] != first["dbt-key"] and runner.outputs()["key"] == first["key"]


def test_setup_reports_a_dbt_stack_that_does_not_install_on_its_file(runner: Runner) -> None:
    """pip's failure becomes one annotation on the requirements file; the half-built venv is gone."""
    (runner.workspace / "requirements-dbt.txt").write_text("meshkit-no-such-distribution-7d1f==1.0\n")
    assert runner.run("setup", "plan.sh", dbt_requirements="requirements-dbt.txt").returncode == 0
    plan = runner.outputs()

    result = runner.run(
        "setup",
        "install.sh",
        env_extra={
            "MESHKIT_VENV": plan["venv"],
            "MESHKIT_ROOT": plan["root"],
            "MESHKIT_DBT_VENV": plan["dbt-venv"],
            "MESHKIT_DBT_REQUIREMENTS": plan["dbt-requirements"],
        },
    )

    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    [annotation] = annotations(result)
    assert annotation.startswith(
        "::error file=requirements-dbt.txt,title=meshkit setup::the dbt stack in this file did not install: "
    )
    assert "meshkit-no-such-distribution-7d1f" in annotation
    assert not Path(plan["dbt-venv"]).exists()
    assert (Path(plan["venv"]) / ".meshkit-complete").is_file()  # meshkit's own venv was fine and stays


def test_build_exports_warehouse_credentials_to_the_command_only(runner: Runner) -> None:
    project = runner.workspace / "proj"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: p\n")
    secret = "s3cr3t value=with equals"
    result = runner.run(
        "build",
        "build.sh",
        project_dir="proj",
        command='printf "%s|%s|%s\\n" "$ACME_USER" "$ACME_PASSWORD" "$PWD" > seen.txt',
        warehouse_env=f"# the warehouse\n\nACME_USER=finance\r\nACME_PASSWORD={secret}\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "seen.txt").read_text() == f"finance|{secret}|{project}\n"
    assert f"::add-mask::{secret}" in result.stdout.splitlines() and "::add-mask::finance" in result.stdout
    assert runner.outputs() == {"ok": "true"}
    assert (runner.root / "env").read_text() == ""  # nothing reaches later steps


@pytest.mark.parametrize(
    ("warehouse_env", "message"),
    [
        ("PATH=/tmp/evil", "warehouse-env may not set PATH: use your warehouse's own variable names"),
        ("GITHUB_TOKEN=x", "warehouse-env may not set GITHUB_TOKEN: use your warehouse's own variable names"),
        (
            "ACME_USER=ok\nnot a pair hunter2",
            "warehouse-env line 2 is not NAME=value (the value is not shown: it may be a secret)",
        ),
    ],
)
def test_build_refuses_bad_credentials_lines_without_showing_them(
    runner: Runner, warehouse_env: str, message: str
) -> None:
    (runner.workspace / "dbt_project.yml").write_text("name: p\n")
    result = runner.run("build", "build.sh", command="touch ran", warehouse_env=warehouse_env)
    assert result.returncode == 2 and annotations(result) == [f"::error title=meshkit build::{message}"]
    assert "hunter2" not in result.stdout + result.stderr and not (runner.workspace / "ran").exists()


def test_build_can_report_a_failure_without_failing(runner: Runner) -> None:
    (runner.workspace / "dbt_project.yml").write_text("name: p\n")
    result = runner.run("build", "build.sh", command="exit 3", fail_on_error="false")
    assert result.returncode == 0 and runner.outputs() == {"ok": "false"}
    assert annotations(result) == ["::error title=meshkit build::'exit 3' failed in . (exit 3): see its log above"]
    assert runner.run("build", "build.sh", command="exit 3").returncode == 3


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        (
            "s3://acme-mesh/mesh/contracts/",
            ["MESHKIT_ENV=prod", "MESHKIT_S3_BUCKET=acme-mesh", "MESHKIT_S3_PREFIX=mesh/contracts"],
        ),
        ("/srv/registry", ["MESHKIT_ENV=prod", "MESHKIT_REGISTRY_PATH=/srv/registry"]),
    ],
)
def test_loom_points_dbt_loom_at_the_registry(runner: Runner, registry: str, expected: list[str]) -> None:
    result = runner.run("loom", "loom.sh", registry=registry, env="prod")
    assert result.returncode == 0, result.stdout
    assert (runner.root / "env").read_text().splitlines() == expected


def test_loom_sets_the_config_and_endpoint_when_given_and_refuses_a_bad_bucket(runner: Runner) -> None:
    result = runner.run(
        "loom", "loom.sh", registry="s3://b-ucket/p", env="dev", config="loom.yml", endpoint_url="http://127.0.0.1:9000"
    )
    assert result.returncode == 0
    assert (runner.root / "env").read_text().splitlines()[-2:] == [
        "DBT_LOOM_CONFIG=loom.yml",
        "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000",
    ]
    bad = runner.run("loom", "loom.sh", registry="s3://Bad_Bucket/p")
    assert bad.returncode == 2 and annotations(bad) == [
        "::error title=meshkit loom::'Bad_Bucket' is not an S3 bucket name"
    ]


def test_setup_builds_with_uv_from_its_hash_locked_wheel(runner: Runner) -> None:
    """uv comes from requirements-uv.txt through pip --require-hashes, once per runner, and builds the venv."""
    assert runner.run("setup", "plan.sh").returncode == 0
    plan = runner.outputs()
    env = {"MESHKIT_VENV": plan["venv"], "MESHKIT_ROOT": plan["root"]}

    result = runner.run("setup", "install.sh", env_extra=env)

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [uv] = list((runner.root / "tool-cache" / "meshkit-uv").glob("*/bin/uv"))
    assert subprocess.run([str(uv), "--version"], capture_output=True, text=True).stdout.startswith("uv 0.")
    venv = Path(plan["venv"])
    assert not (venv / "bin" / "pip").exists()  # a uv virtualenv: nothing but the locked runtime
    assert list((venv / "lib").glob("python3.*/site-packages/msgspec/__pycache__/*.pyc"))  # compiled, as pip does
    assert "meshkit 0." in result.stdout and runner.outputs()["built"] == "true"


def test_setup_refuses_a_uv_wheel_whose_hash_is_not_the_locked_one(runner: Runner, tmp_path: Path) -> None:
    root = tmp_path / "meshkit"
    root.mkdir()
    (root / "requirements-meshkit.txt").write_text((REPO / "requirements-meshkit.txt").read_text())
    locked = (REPO / "requirements-uv.txt").read_text()
    (root / "requirements-uv.txt").write_text(re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, locked))
    venv = runner.root / "tool-cache" / "meshkit" / "meshkit-venv-test"

    result = runner.run("setup", "install.sh", env_extra={"MESHKIT_VENV": str(venv), "MESHKIT_ROOT": str(root)})

    assert result.returncode == 2
    [annotation] = annotations(result)
    assert annotation.startswith(f"::error title=meshkit setup::uv did not install from {root}/requirements-uv.txt: ")
    assert "hash" in annotation.lower()
    assert not venv.exists() and list((runner.root / "tool-cache" / "meshkit-uv").glob("*/bin/uv")) == []
