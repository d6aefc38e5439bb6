"""Every `--format json` output of the real CLI, run as a child process, matches its committed JSON Schema.

publish, sync, validate, check, catalog and dispatch run on the demo mesh built by the seed steps;
init in a fresh git repository; comment and bump-pr against the fake GitHub API that checks every
call with GitHub's OpenAPI description.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.github_api import GitHubAPI
from support.helpers import clean_env, dbt, meshkit
from support.schemas import SCHEMAS, parse_valid, schema_errors

DATA = Path(__file__).parents[1] / "data"
REGISTRY = ("--registry", "registry")
_GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def json_of(result: subprocess.CompletedProcess[str], command: str, *, code: int = 0) -> dict[str, Any]:
    """The command's stdout, checked against its schema (and the exit code it must have)."""
    assert result.returncode == code, result.stderr
    document = parse_valid(result.stdout, command)
    assert (document["command"], document["schema"]) == (command, SCHEMAS[command])
    return document


# --- the demo mesh ------------------------------------------------------------------------------------------


@pytest.mark.dbt
@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("validate", ("--all",)),
        ("validate", ("--all", "--today", "2027-06-10")),  # deprecation-soon warnings
        ("check", ("--project-dir", "dbt_up")),
        ("catalog", ("--output", "-")),
        ("sync", ("--project-dir", "dbt_down", "--check")),
        ("dispatch", ("--project", "dbt_up", "--repository", "acme/consumer", "--dry-run")),
    ],
)
def test_read_only_commands_on_the_built_mesh(built_mesh: Path, command: str, args: tuple[str, ...]) -> None:
    env = clean_env(GITHUB_REPOSITORY="acme/mesh")  # meshkit.yml lists `self` as dbt_up's consumer
    document = json_of(meshkit(command, *REGISTRY, *args, "--format", "json", cwd=built_mesh, env=env), command)
    if command == "validate":
        assert document["ok"] is True and document["projects"]
        if "--today" in args:
            assert {f["code"] for p in document["projects"] for f in p["findings"]} == {"deprecation-soon"}
    elif command == "catalog":
        [entry] = document["entries"]
        assert entry["project"] == "dbt_up" and entry["history"]
        assert [c["sha256"] for c in document["contracts"]] == [entry["sha256"]] and document["contracts"][0]["models"]
    elif command == "sync":
        assert [(u["upstream"], u["status"]) for u in document["upstreams"]] == [("dbt_up", "up-to-date")]
    elif command == "dispatch":
        assert document["client_payload"]["schema"] == "meshkit-dispatch/1"
        assert [(r["repository"], r["status"]) for r in document["repositories"]] == [
            ("acme/consumer", "dry-run"),
            ("acme/mesh", "dry-run"),
        ]


@pytest.mark.dbt
def test_writing_commands_on_a_copy_of_the_mesh(mesh: Path) -> None:
    unchanged = json_of(
        meshkit("publish", "--project-dir", "dbt_up", *REGISTRY, "--format", "json", cwd=mesh), "publish"
    )
    assert unchanged["status"] == "unchanged" and unchanged["history_key"] is None
    forced = json_of(
        meshkit("publish", "--project-dir", "dbt_up", *REGISTRY, "--force", "--format", "json", cwd=mesh), "publish"
    )
    assert forced["status"] == "published" and forced["public_models"]
    consumer = json_of(
        meshkit("publish", "--consumer", "--project-dir", "dbt_down", *REGISTRY, "--format", "json", cwd=mesh),
        "publish",
    )
    assert consumer["keys"] == ["dbt_up/prod/consumers/dbt_down.json"]

    (mesh / "dbt_down/models/_mesh_dbt_up.yml").unlink()
    missing = json_of(
        meshkit("sync", "--project-dir", "dbt_down", *REGISTRY, "--check", "--format", "json", cwd=mesh), "sync", code=1
    )
    assert (missing["ok"], missing["upstreams"][0]["status"]) == (False, "missing")
    written = json_of(meshkit("sync", "--project-dir", "dbt_down", *REGISTRY, "--format", "json", cwd=mesh), "sync")
    assert written["upstreams"][0]["status"] == "written"
    elsewhere = json_of(
        meshkit(
            "sync", "--project-dir", "dbt_down", *REGISTRY, "--only", "dbt_up@staging", "--format", "json", cwd=mesh
        ),
        "sync",
    )
    assert elsewhere["upstreams"] == [] and elsewhere["note"]

    recorded = meshkit(
        "validate", "--all", *REGISTRY, "--record-consumer", "--git-commit", "0123abcd", "--format", "json", cwd=mesh
    )
    assert json_of(recorded, "validate")["ok"] is True
    assert "recorded consumer" in recorded.stderr  # the records go to stderr; stdout is the same report

    catalog = json_of(meshkit("catalog", *REGISTRY, "--format", "json", "--output", "-", cwd=mesh), "catalog")
    history = catalog["entries"][0]["history"]
    assert len(history) >= 2 and (history[0]["changes"], history[0]["breaking"]) == (0, 0)


@pytest.mark.dbt
def test_a_breaking_check_and_a_failed_validate_match_their_schemas(mesh: Path) -> None:
    recorded = meshkit("validate", "--all", *REGISTRY, "--record-consumer", "--format", "json", cwd=mesh)
    json_of(recorded, "validate")
    catalog = json_of(meshkit("catalog", *REGISTRY, "--format", "json", "--output", "-", cwd=mesh), "catalog")
    assert {c["downstream"] for c in catalog["entries"][0]["consumers"]} == {"dbt_down", "dbt_down_loom"}
    assert all(c["uses"] for c in catalog["entries"][0]["consumers"])
    assert any(u["readers"] for c in catalog["entries"][0]["consumers"] for u in c["uses"])
    assert catalog["entries"][0]["what_if"]
    yml = mesh / "dbt_up/models/marts/_public.yml"
    public, protected = "      access: public\n      group: finance", "      access: protected\n      group: finance"
    text = yml.read_text()
    assert public in text
    yml.write_text(text.replace(public, protected, 1))
    parsed = dbt(mesh / "dbt_up", "parse")
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    check = json_of(
        meshkit("check", "--project-dir", "dbt_up", *REGISTRY, "--format", "json", cwd=mesh), "check", code=1
    )
    assert check["summary"]["breaking"] >= 1 and check["changes"][0]["impacts"]
    json_of(meshkit("publish", "--project-dir", "dbt_up", *REGISTRY, "--format", "json", cwd=mesh), "publish")
    failed = json_of(meshkit("validate", "--all", *REGISTRY, "--format", "json", cwd=mesh), "validate", code=1)
    assert failed["error_count"] >= 1
    assert {f["code"] for p in failed["projects"] for f in p["findings"]} >= {"not-public", "stale-sync"}

    # A real document, mutated: the schema rejects it.
    failed["projects"][0]["findings"][0]["severity"] = "fatal"
    assert schema_errors(failed)


# --- init ----------------------------------------------------------------------------------------------------


def test_init_json(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "transform").mkdir(parents=True)
    (repo / "transform" / "dbt_project.yml").write_text("name: orders_core\nversion: '1.0'\nprofile: orders_core\n")
    subprocess.run([*_GIT, "init", "--quiet", "--initial-branch=main"], cwd=repo, check=True)
    args = [
        "init",
        "--role",
        "upstream",
        "--project-dir",
        "transform",
        "--registry",
        "s3://acme-mesh/contracts",
        "--consumer",
        "acme-data/finance",
        "--meshkit-repository",
        "meshkit-dev/meshkit",
        "--meshkit-ref",
        "0123456789abcdef0123456789abcdef01234567",
        "--format",
        "json",
    ]
    planned = json_of(meshkit(*args, "--check", cwd=repo), "init", code=1)
    assert planned["check"] is True and {f["status"] for f in planned["files"]} == {"created"}
    created = json_of(meshkit(*args, cwd=repo), "init")
    assert created["check"] is False and created["role"] == "upstream"
    again = json_of(meshkit(*args, "--check", cwd=repo), "init")
    assert {f["status"] for f in again["files"]} == {"unchanged"}


# --- comment and bump-pr, against the fake GitHub API ---------------------------------------------------------

WRITE, READ = "ghs_schemaWriteToken0000000000000000", "ghs_schemaReadToken00000000000000000"


def gh_env(server: GitHubAPI, token: str, repository: str) -> dict[str, str]:
    env = clean_env(
        GITHUB_API_URL=server.base_url,
        GITHUB_TOKEN=token,
        GITHUB_REPOSITORY=repository,
        GITHUB_ACTIONS="false",
        NO_PROXY="127.0.0.1,localhost",
    )
    for name in ("GH_TOKEN", "GITHUB_EVENT_PATH", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    return env


def test_comment_json(github_api: GitHubAPI, tmp_path: Path) -> None:
    github_api.add_repository("acme/shop", pull_requests=[7])
    github_api.add_token(WRITE)
    github_api.add_token(READ, write=False)
    body = tmp_path / "report.md"
    actions = []
    for text, token in (
        ("All good.", WRITE),
        ("1 breaking change.", WRITE),
        ("1 breaking change.", WRITE),
        ("again", READ),
    ):
        body.write_text(f"<!-- meshkit:check:shop -->\n{text}\n", encoding="utf-8")
        result = meshkit(
            "comment",
            "--body-file",
            body,
            "--pr",
            "7",
            "--format",
            "json",
            cwd=tmp_path,
            env=gh_env(github_api, token, "acme/shop"),
        )
        actions.append(json_of(result, "comment")["action"])
    assert actions == ["created", "updated", "unchanged", "skipped"]


def test_bump_pr_json(github_api: GitHubAPI, tmp_path: Path) -> None:
    repo, registry = tmp_path / "repo", tmp_path / "registry"
    (repo / "down" / "models").mkdir(parents=True)
    (repo / "down" / "dbt_project.yml").write_text("name: down\nversion: '1.0'\nprofile: down\n")
    (repo / "down" / "models" / "report.sql").write_text("select * from {{ source('shop', 'orders') }}\n")
    subprocess.run([*_GIT, "init", "--quiet", "--initial-branch=main"], cwd=repo, check=True)
    subprocess.run([*_GIT, "add", "--all"], cwd=repo, check=True)
    subprocess.run([*_GIT, "commit", "--quiet", "-m", "a downstream"], cwd=repo, check=True)
    github_api.add_repository("acme/down")
    github_api.add_token(WRITE)
    github_api.import_branch("acme/down", repo, "main")
    shop = tmp_path / "shop"
    (shop / "target").mkdir(parents=True)
    (shop / "dbt_project.yml").write_text("name: shop\n")
    (shop / "target" / "manifest.json").write_text((DATA / "manifest_shop.json").read_text())
    json_of(
        meshkit(
            "publish",
            "--project-dir",
            shop,
            "--registry",
            registry,
            "--git-commit",
            "abc1234",
            "--format",
            "json",
            cwd=tmp_path,
        ),
        "publish",
    )
    synced = json_of(
        meshkit(
            "sync",
            "--project-dir",
            "down",
            "--upstream",
            "shop@prod",
            "--registry",
            registry,
            "--format",
            "json",
            cwd=repo,
        ),
        "sync",
    )
    assert synced["upstreams"][0]["status"] == "written"

    bump = ["bump-pr", "--project-dir", "down", "--upstream", "shop@prod", "--base", "main", "--format", "json"]
    opened = json_of(meshkit(*bump, cwd=repo, env=gh_env(github_api, WRITE, "acme/down")), "bump-pr")
    assert opened["action"] == "opened" and isinstance(opened["pr"], int)
    again = json_of(meshkit(*bump, cwd=repo, env=gh_env(github_api, WRITE, "acme/down")), "bump-pr")
    assert (again["action"], again["pr"]) == ("unchanged", opened["pr"])
    assert schema_errors(json.loads(json.dumps({**again, "pr": "12"})))


def test_dispatch_json_with_a_failed_repository(github_api: GitHubAPI, tmp_path: Path) -> None:
    github_api.add_repository("acme/consumer")
    github_api.add_token(WRITE)
    shop = tmp_path / "shop"
    (shop / "target").mkdir(parents=True)
    (shop / "dbt_project.yml").write_text("name: shop\n")
    (shop / "target" / "manifest.json").write_text((DATA / "manifest_shop.json").read_text())
    json_of(
        meshkit(
            "publish", "--project-dir", shop, *REGISTRY, "--git-commit", "abc1234", "--format", "json", cwd=tmp_path
        ),
        "publish",
    )
    result = meshkit(
        "dispatch",
        "--project",
        "shop",
        *REGISTRY,
        "--repository",
        "acme/consumer",
        "--repository",
        "acme/missing",
        "--format",
        "json",
        cwd=tmp_path,
        env=gh_env(github_api, WRITE, "acme/shop"),
    )
    document = json_of(result, "dispatch", code=2)
    assert [(r["repository"], r["status"], r["error"] is None) for r in document["repositories"]] == [
        ("acme/consumer", "sent", True),
        ("acme/missing", "failed", False),
    ]
