"""meshkit init: the exact files it writes (goldens), that GitHub's linters accept them, that nothing
a user types can change their structure, and that a rerun is a no-op.

Goldens live in tests/data/init/; `pytest --update` rewrites them after a deliberate change.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.goldens import Goldens
from support.helpers import BIN, REPO, clean_env, copy_repo, one_line_error, run

SHA = "0123456789abcdef0123456789abcdef01234567"
PIN = ["--meshkit-repository", "meshkit-dev/meshkit", "--meshkit-ref", SHA]
_GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def init(
    repo: Path, *args: str, env: dict[str, str] | None = None, python_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environ = env or clean_env()
    if python_path is not None:
        environ = {**environ, "PYTHONPATH": str(python_path)}
    return run([sys.executable, "-m", "meshkit", "init", *args], cwd=repo, env=environ)


def make_repo(root: Path, projects: dict[str, str]) -> Path:
    """A git repository on main holding one dbt project per folder (folder -> project name)."""
    root.mkdir(parents=True, exist_ok=True)
    for folder, name in projects.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "dbt_project.yml").write_text(f"name: {name}\nversion: '1.0'\nprofile: {name}\n")
    subprocess.run([*_GIT, "init", "--quiet", "--initial-branch=main"], cwd=root, check=True)
    return root


CASES = {
    "upstream": (
        {"transform": "orders_core"},
        [
            "--role",
            "upstream",
            "--project-dir",
            "transform",
            "--registry",
            "s3://acme-mesh/mesh/contracts",
            "--consumer",
            "acme-data/finance",
            "--consumer",
            "acme-data/growth",
            "--aws-role",
            "arn:aws:iam::123456789012:role/acme-mesh-publish",
            "--aws-read-role",
            "arn:aws:iam::123456789012:role/acme-mesh-read",
            "--aws-region",
            "eu-west-1",
        ],
        ["meshkit.yml", ".github/workflows/meshkit-orders_core.yml"],
    ),
    "upstream_pages": (
        {".": "orders_core"},
        [
            "--role",
            "upstream",
            "--registry",
            "s3://acme-mesh/mesh/contracts",
            "--consumer",
            "acme-data/finance",
            "--aws-role",
            "arn:aws:iam::123456789012:role/acme-mesh-publish",
            "--aws-read-role",
            "arn:aws:iam::123456789012:role/acme-mesh-read",
            "--pages",
        ],
        ["meshkit.yml", ".github/workflows/meshkit-orders_core.yml"],
    ),
    "downstream_sources": (
        {".": "finance_marts"},
        ["--role", "downstream", "--registry", "s3://acme-mesh/mesh/contracts", "--upstream", "orders_core"],
        ["meshkit.yml", ".github/workflows/meshkit-finance_marts.yml"],
    ),
    "downstream_loom": (
        {"dbt": "growth_analytics"},
        [
            "--role",
            "downstream",
            "--project-dir",
            "dbt",
            "--approach",
            "dbt-loom",
            "--registry",
            "s3://acme-mesh/mesh/contracts",
            "--upstream",
            "orders_core",
            "--upstream",
            "billing@staging",
            "--endpoint-url",
            "https://minio.acme.internal:9000",
            "--profiles-dir",
            "dbt",
        ],
        ["meshkit.yml", ".github/workflows/meshkit-growth_analytics.yml", "dbt/dbt_loom.config.yml"],
    ),
    "upstream_gcs": (
        {"transform": "orders_core"},
        [
            "--role",
            "upstream",
            "--project-dir",
            "transform",
            "--registry",
            "gs://acme-mesh/contracts",
            "--consumer",
            "acme-data/finance",
            "--gcp-workload-identity-provider",
            "projects/123456789012/locations/global/workloadIdentityPools/github/providers/github-oidc",
            "--gcp-service-account",
            "mesh-orders@acme-mesh.iam.gserviceaccount.com",
            "--gcp-read-service-account",
            "mesh-read@acme-mesh.iam.gserviceaccount.com",
        ],
        ["meshkit.yml", ".github/workflows/meshkit-orders_core.yml"],
    ),
    "downstream_loom_azure": (
        {"dbt": "growth_analytics"},
        [
            "--role",
            "downstream",
            "--project-dir",
            "dbt",
            "--approach",
            "dbt-loom",
            "--registry",
            "abfss://mesh@acmemesh.dfs.core.windows.net/contracts",
            "--upstream",
            "orders_core",
            "--azure-client-id",
            "11111111-2222-3333-4444-555555555555",
            "--azure-read-client-id",
            "66666666-7777-8888-9999-000000000000",
            "--azure-tenant-id",
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        ],
        ["meshkit.yml", ".github/workflows/meshkit-growth_analytics.yml", "dbt/dbt_loom.config.yml"],
    ),
    "downstream_loom_gcs": (
        {"dbt": "growth_analytics"},
        [
            "--role",
            "downstream",
            "--project-dir",
            "dbt",
            "--approach",
            "dbt-loom",
            "--registry",
            "gs://acme-mesh/contracts",
            "--upstream",
            "orders_core",
            "--gcp-project",
            "acme-mesh",
            "--gcp-workload-identity-provider",
            "projects/123456789012/locations/global/workloadIdentityPools/github/providers/github-oidc",
            "--gcp-service-account",
            "mesh-growth@acme-mesh.iam.gserviceaccount.com",
        ],
        ["meshkit.yml", ".github/workflows/meshkit-growth_analytics.yml", "dbt/dbt_loom.config.yml"],
    ),
    "downstream_azure": (
        {".": "finance_marts"},
        [
            "--role",
            "downstream",
            "--registry",
            "az://mesh/contracts",
            "--upstream",
            "orders_core",
            "--azure-storage-account",
            "acmemesh",
            "--azure-client-id",
            "11111111-2222-3333-4444-555555555555",
            "--azure-tenant-id",
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        ],
        ["meshkit.yml", ".github/workflows/meshkit-finance_marts.yml"],
    ),
    "both": (
        {"models_repo": "middle"},
        [
            "--role",
            "both",
            "--project-dir",
            "models_repo",
            "--registry",
            "/srv/mesh-registry",
            "--upstream",
            "orders_core",
            "--consumer",
            "acme-data/reporting",
            "--default-branch",
            "trunk",
        ],
        ["meshkit.yml", ".github/workflows/meshkit-middle.yml"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_init_writes_the_golden_files_which_the_workflow_linters_accept(
    case: str, tmp_path: Path, goldens: Goldens
) -> None:
    projects, args, files = CASES[case]
    repo = make_repo(tmp_path / "repo", projects)
    if case == "downstream_loom":
        (repo / "dbt" / "profiles.yml").write_text("growth_analytics: {}\n")
    if case.startswith("downstream_loom"):
        (repo / "dbt" / "requirements-dbt.txt").write_text("dbt-postgres==1.11.0\ndbt-loom==0.9.6\n")

    result = init(repo, *args, *PIN, "--format", "json")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "meshkit-init/1" and document["meshkit_ref"] == SHA
    assert [(f["path"], f["status"]) for f in document["files"]] == [(f, "created") for f in files]
    for name in files:
        goldens.check((repo / name).read_text(), f"init/{case}/{name.replace('/', '__').lstrip('.')}")
    assert run([BIN / "actionlint", "-no-color", "-shellcheck="], cwd=repo).stdout == ""
    zizmor = run([BIN / "zizmor", "--offline", ".github"], cwd=repo)
    assert zizmor.returncode == 0 and "No findings to report" in zizmor.stdout, zizmor.stdout

    # A rerun writes nothing, and --check agrees.
    again = init(repo, *args, *PIN)
    assert again.returncode == 0 and "created" not in again.stdout and again.stdout.count("unchanged") == len(files)
    assert init(repo, *args, *PIN, "--check").returncode == 0


def test_the_caller_pins_one_commit_and_calls_the_reusable_workflows_with_their_inputs(tmp_path: Path) -> None:
    """Every `with:` key the callers pass is an input of the reusable workflow they call, and both pins agree."""
    projects, args, _ = CASES["both"]
    repo = make_repo(tmp_path / "repo", projects)
    assert init(repo, *args, "--pages", *PIN).returncode == 0
    caller = yaml.safe_load((repo / ".github/workflows/meshkit-middle.yml").read_text())
    assert set(caller["jobs"]) == {"upstream", "downstream", "explorer"}
    assert caller["jobs"]["explorer"]["needs"] == "upstream"
    for job in caller["jobs"].values():
        workflow, _, ref = job["uses"].partition("@")
        assert ref == SHA == job["with"]["meshkit-ref"]
        called = yaml.safe_load((REPO / workflow.removeprefix("meshkit-dev/meshkit/")).read_text())
        declared = called[True]["workflow_call"]
        assert set(job["with"]) <= set(declared["inputs"]), set(job["with"]) - set(declared["inputs"])
        assert set(job.get("secrets", {})) <= set(declared.get("secrets", {}))
        required = {name for name, spec in declared["inputs"].items() if spec.get("required")}
        assert required <= set(job["with"])
        # GitHub refuses to start a called job that asks for more than its caller grants.
        for called_job in called["jobs"].values():
            for scope, level in called_job["permissions"].items():
                assert (level == "read" and job["permissions"].get(scope) in ("read", "write")) or job[
                    "permissions"
                ].get(scope) == "write", (scope, level, job["permissions"])


def test_check_reports_drift_and_writes_nothing(tmp_path: Path) -> None:
    projects, args, _ = CASES["upstream"]
    repo = make_repo(tmp_path / "repo", projects)
    assert init(repo, *args, *PIN).returncode == 0
    workflow = repo / ".github/workflows/meshkit-orders_core.yml"
    workflow.write_text(workflow.read_text().replace("eu-west-1", "us-east-2"))
    edited = workflow.read_text()

    result = init(repo, *args, *PIN, "--check")

    assert result.returncode == 1
    assert "  would update  .github/workflows/meshkit-orders_core.yml" in result.stdout
    assert workflow.read_text() == edited
    # Upgrading meshkit is a rerun: only the pins move.
    newer = "f" * 40
    assert init(repo, *args, "--meshkit-repository", "meshkit-dev/meshkit", "--meshkit-ref", newer).returncode == 0
    assert SHA not in workflow.read_text() and workflow.read_text().count(newer) == 2


def test_meshkit_yml_is_merged_not_replaced(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"up": "shop", "down": "reports"})
    (repo / "meshkit.yml").write_text("version: 1\nprojects:\n  other:\n    consumers: [team/x]\n")
    assert init(repo, "--role", "upstream", "--project-dir", "up", "--registry", "s3://b-ucket/p", *PIN).returncode == 0
    assert (
        init(
            repo,
            "--role",
            "downstream",
            "--project-dir",
            "down",
            "--registry",
            "s3://b-ucket/p",
            "--upstream",
            "shop",
            *PIN,
        ).returncode
        == 0
    )
    config = yaml.safe_load((repo / "meshkit.yml").read_text())
    assert config["projects"] == {
        "other": {"consumers": ["team/x"]},
        "shop": None,
        "reports": {"upstreams": ["shop"]},
    } or config["projects"] == {"other": {"consumers": ["team/x"]}, "shop": {}, "reports": {"upstreams": ["shop"]}}
    # Its consumers are kept when a rerun gives none.
    assert (
        init(
            repo, "--role", "upstream", "--project-dir", "up", "--registry", "s3://b-ucket/p", "--consumer", "t/a", *PIN
        ).returncode
        == 0
    )
    assert init(repo, "--role", "upstream", "--project-dir", "up", "--registry", "s3://b-ucket/p", *PIN).returncode == 0
    assert yaml.safe_load((repo / "meshkit.yml").read_text())["projects"]["shop"] == {"consumers": ["t/a"]}


def test_an_edited_dbt_loom_config_is_kept(tmp_path: Path) -> None:
    projects, args, _ = CASES["downstream_loom"]
    repo = make_repo(tmp_path / "repo", projects)
    (repo / "dbt" / "profiles.yml").write_text("growth_analytics: {}\n")
    assert init(repo, *args, *PIN).returncode == 0
    config = repo / "dbt" / "dbt_loom.config.yml"
    mine = "manifests: []  # my own\n"
    config.write_text(mine)
    result = init(repo, *args, *PIN)
    assert result.returncode == 0 and "kept (edited by hand) dbt/dbt_loom.config.yml" in result.stdout
    assert config.read_text() == mine


def test_it_pins_the_running_meshkit_checkout(tmp_path: Path) -> None:
    """No --meshkit-* flags: the repository from origin and the commit of the checkout it runs from."""
    meshkit = copy_repo(tmp_path / "meshkit")
    subprocess.run([*_GIT, "init", "--quiet", "--initial-branch=main"], cwd=meshkit, check=True)
    subprocess.run(
        [*_GIT, "remote", "add", "origin", "git@github.com:acme-platform/meshkit.git"], cwd=meshkit, check=True
    )
    subprocess.run([*_GIT, "add", "--all"], cwd=meshkit, check=True)
    subprocess.run([*_GIT, "commit", "--quiet", "-m", "release"], cwd=meshkit, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=meshkit, capture_output=True, text=True).stdout.strip()
    projects, args, _ = CASES["downstream_sources"]
    repo = make_repo(tmp_path / "repo", projects)

    result = init(repo, *args, python_path=meshkit)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"meshkit init: finance_marts as downstream, pinned to acme-platform/meshkit@{commit}"
    )
    text = (repo / ".github/workflows/meshkit-finance_marts.yml").read_text()
    assert f"uses: acme-platform/meshkit/.github/workflows/meshkit-downstream.yml@{commit} # v" in text
    shutil.rmtree(meshkit / ".git")
    unpinned = init(repo, *args, python_path=meshkit)
    assert unpinned.returncode == 2 and "pass --meshkit-repository OWNER/REPO" in one_line_error(unpinned)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p", "--project-dir", "../up"],
            "--project-dir '../up' is not allowed: use a path inside the repository (letters, digits, '.', '_', '-', '/')",
        ),
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p", "--project-dir", "up\n  evil: x"],
            "--project-dir 'up\\n  evil: x' is not allowed: use a path inside the repository (letters, digits, '.', '_', '-', '/')",
        ),
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p ${{ github.token }}", "--project-dir", "up"],
            "--registry 's3://b-ucket/p ${{ github.token }}' is not allowed: use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, "
            "az://CONTAINER/PREFIX (or a folder on a self-hosted runner)",
        ),
        (
            [
                "--role",
                "upstream",
                "--registry",
                "gs://b-ucket/p",
                "--project-dir",
                "up",
                "--aws-role",
                "arn:aws:iam::123456789012:role/x",
            ],
            "--aws-role is only for s3:// registries, not gs://b-ucket/p",
        ),
        (
            [
                "--role",
                "upstream",
                "--registry",
                "s3://b-ucket/p",
                "--project-dir",
                "up",
                "--azure-tenant-id",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            ],
            "--azure-tenant-id is only for az:// registries, not s3://b-ucket/p",
        ),
        (
            [
                "--role",
                "upstream",
                "--registry",
                "gs://b-ucket/p",
                "--project-dir",
                "up",
                "--gcp-service-account",
                "evil: ${{ secrets.X }}",
                "--gcp-workload-identity-provider",
                "projects/1/locations/global/workloadIdentityPools/pool/providers/prov",
            ],
            "--gcp-service-account 'evil: ${{ secrets.X }}' is not allowed: use a service account email",
        ),
        (
            ["--role", "upstream", "--registry", "az://mesh/p", "--project-dir", "up"],
            "an az:// registry needs its storage account: pass --azure-storage-account NAME (or use "
            "abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX)",
        ),
        (
            [
                "--role",
                "upstream",
                "--registry",
                "az://mesh/p",
                "--project-dir",
                "up",
                "--azure-storage-account",
                "acme",
                "--azure-client-id",
                "11111111-2222-3333-4444-555555555555",
            ],
            "--azure-client-id needs --azure-tenant-id (the Entra tenant azure/login signs in to)",
        ),
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p", "--project-dir", "up", "--aws-role", "admin"],
            "--aws-role 'admin' is not allowed: use an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME",
        ),
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p", "--project-dir", "up", "--consumer", "a/b/c"],
            "--consumer 'a/b/c' is not a GitHub repository: use OWNER/REPO (letters, digits, '-', '.', '_')",
        ),
        (
            ["--role", "downstream", "--registry", "s3://b-ucket/p", "--project-dir", "up"],
            "a downstream reads at least one upstream: pass --upstream NAME (repeatable, NAME@ENV to pin an env)",
        ),
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p", "--project-dir", "up", "--upstream", "x"],
            "--upstream is for --role downstream or both",
        ),
        (
            [
                "--role",
                "downstream",
                "--registry",
                "s3://b-ucket/p",
                "--project-dir",
                "up",
                "--upstream",
                "x",
                "--pages",
            ],
            "--pages deploys the explorer after a publish: it needs --role upstream or both",
        ),
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p", "--project-dir", "nowhere"],
            "nowhere is not a dbt project (no dbt_project.yml): run meshkit init from the repository's root and pass "
            "--project-dir",
        ),
        (
            [
                "--role",
                "upstream",
                "--registry",
                "s3://b-ucket/p",
                "--project-dir",
                "up",
                "--dbt-requirements",
                "req.txt",
            ],
            "--dbt-requirements req.txt does not exist: write the dbt stack there first, e.g. dbt-postgres==1.11.0 and "
            "dbt-loom==0.9.6, one per line",
        ),
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p", "--project-dir", "up", "--meshkit-ref", "main"],
            "--meshkit-ref 'main' is not a full commit SHA (40 hex digits): pin a commit, not a branch",
        ),
        (
            ["--role", "upstream", "--registry", "s3://b-ucket/p", "--project-dir", "up", "--default-branch", "a b"],
            "--default-branch 'a b' is not allowed: use a branch name",
        ),
    ],
)
def test_input_errors_are_one_line_and_write_nothing(tmp_path: Path, args: list[str], expected: str) -> None:
    repo = make_repo(tmp_path / "repo", {"up": "shop"})
    pin = [] if "--meshkit-ref" in args else ["--meshkit-ref", SHA]
    result = init(repo, *args, "--meshkit-repository", "meshkit-dev/meshkit", *pin)
    assert result.returncode == 2 and result.stdout == ""
    assert one_line_error(result) == f"meshkit init: error: {expected}"
    assert sorted(p.name for p in repo.iterdir()) == [".git", "up"]


def _docs_examples() -> list[tuple[list[str], dict[str, str]]]:
    """Each `meshkit init` command docs/getting-started.md shows, with the files it shows that command writing."""
    import re
    import shlex

    text = (REPO / "docs" / "getting-started.md").read_text()
    commands = [c for c in re.findall(r"```bash\n(meshkit init --role [^`]*?)```", text) if "|" not in c]
    shown = re.findall(r"<!-- init:(\w+):([^ ]+) -->\n```yaml\n(.*?)```", text, re.DOTALL)
    examples = []
    for command in commands:
        args = shlex.split(command.replace("\\\n", " "))[2:]
        role = args[args.index("--role") + 1]
        examples.append((args, {path: body for kind, path, body in shown if kind == role}))
    return examples


def test_getting_started_shows_exactly_what_init_writes(tmp_path: Path) -> None:
    examples = _docs_examples()
    assert [sorted(files) for _, files in examples] == [
        [".github/workflows/meshkit-orders_core.yml", "meshkit.yml"],
        [".github/workflows/meshkit-finance_marts.yml", "meshkit.yml"],
    ]
    for (args, files), (name, projects, requirements) in zip(
        examples,
        (
            ("orders", {"transform": "orders_core"}, "transform/requirements-dbt.txt"),
            ("finance", {".": "finance_marts"}, "requirements-dbt.txt"),
        ),
        strict=True,
    ):
        repo = make_repo(tmp_path / name, projects)
        (repo / requirements).write_text("dbt-core==1.11.16\ndbt-postgres==1.11.0\n")
        workflow = next(path for path in files if path.startswith(".github/"))
        pin = re.search(r"@([0-9a-f]{40}) # v", files[workflow]).group(1)  # type: ignore[union-attr]
        result = init(repo, *args, "--meshkit-repository", "acme-platform/meshkit", "--meshkit-ref", pin)
        assert result.returncode == 0, result.stderr
        for path, body in files.items():
            assert (repo / path).read_text() == body, (
                f"getting-started.md's {path} for {name} differs from what init writes"
            )


def test_rerunning_init_keeps_a_hand_written_include_list(tmp_path: Path) -> None:
    """meshkit.yml's `{upstream: NAME, include: [...]}` entries are the user's: init rewrites the file, keeping them."""
    repo = make_repo(tmp_path / "finance", {".": "finance_marts"})
    args = [
        "--role",
        "downstream",
        "--upstream",
        "orders_core",
        "--registry",
        "s3://acme-mesh/contracts",
        "--meshkit-repository",
        "acme-platform/meshkit",
        "--meshkit-ref",
        "a" * 40,
    ]
    assert init(repo, *args).returncode == 0
    config = repo / "meshkit.yml"
    config.write_text(
        config.read_text().replace(
            "      - orders_core\n", "      - upstream: orders_core\n        include: [orders_archive, refunds]\n"
        )
    )
    assert init(repo, *args).returncode == 0
    assert "      - upstream: orders_core\n        include: [orders_archive, refunds]\n" in config.read_text()
    result = init(repo, *args, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
