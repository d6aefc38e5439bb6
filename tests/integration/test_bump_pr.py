"""meshkit bump-pr against the local GitHub API that checks every call with GitHub's OpenAPI description.

A downstream repository is a real git repository whose main branch is imported into the fake, so
the files the bump compares with are the committed ones, and every commit the bump creates has
the sha git itself would give it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.github_api import GitHubAPI
from support.helpers import clean_env, meshkit, one_line_error

DATA = Path(__file__).parents[1] / "data"
REPOSITORY = "acme/down"
TOKEN = "ghs_bumpToken000000000000000000000000"
READ_TOKEN = "ghs_readOnlyToken0000000000000000000"
BRANCH = "meshkit/sync-shop-prod"
MESH_FILE = "down/models/_mesh_shop.yml"
REPORT_SQL = "select * from {{ source('shop', 'orders') }}\n"  # sync writes the tables the project reads
_GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*_GIT, *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


class Downstream:
    """A downstream repository (project `down/`), a registry with upstream `shop`, and the fake API."""

    def __init__(self, root: Path, github: GitHubAPI) -> None:
        self.root, self.github = root, github
        self.repo = root / "repo"
        self.registry = root / "registry"
        (self.repo / "down" / "models").mkdir(parents=True)
        (self.repo / "down" / "dbt_project.yml").write_text("name: down\nversion: '1.0'\nprofile: down\n")
        (self.repo / "down" / "models" / "report.sql").write_text(REPORT_SQL)
        git(self.repo, "init", "--quiet", "--initial-branch=main")
        self.commit("a downstream project")
        github.add_repository(REPOSITORY)
        github.add_token(TOKEN)
        github.add_token(READ_TOKEN, write=False)
        self.push()

    def commit(self, message: str) -> str:
        git(self.repo, "add", "--all")
        git(self.repo, "commit", "--quiet", "-m", message)
        return git(self.repo, "rev-parse", "HEAD")

    def push(self) -> str:
        return self.github.import_branch(REPOSITORY, self.repo, "main")

    def publish(self, manifest: dict[str, Any]) -> None:
        project = self.root / "shop"
        (project / "target").mkdir(parents=True, exist_ok=True)
        (project / "dbt_project.yml").write_text("name: shop\n")
        (project / "target" / "manifest.json").write_text(json.dumps(manifest))
        result = meshkit(
            "publish", "--project-dir", project, "--registry", self.registry, "--git-commit", "abc1234", cwd=self.root
        )
        assert result.returncode == 0, result.stderr

    def sync(self) -> str:
        result = meshkit(
            "sync",
            "--project-dir",
            "down",
            "--upstream",
            "shop@prod",
            "--registry",
            self.registry,
            "--format",
            "json",
            cwd=self.repo,
        )
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)["upstreams"][0]["status"])

    def bump(self, *args: str, token: str = TOKEN) -> Any:
        env = clean_env(GITHUB_API_URL=self.github.base_url, GITHUB_TOKEN=token, GITHUB_REPOSITORY=REPOSITORY)
        return meshkit(
            "bump-pr",
            "--project-dir",
            "down",
            "--upstream",
            "shop@prod",
            "--base",
            "main",
            *args,
            cwd=self.repo,
            env=env,
        )

    def bump_json(self, *args: str) -> dict[str, Any]:
        result = self.bump(*args, "--format", "json")
        assert result.returncode == 0, result.stderr
        document: dict[str, Any] = json.loads(result.stdout)
        return document


def shop_manifest(*, with_column: str | None = None) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((DATA / "manifest_shop.json").read_text())
    if with_column:
        node = next(n for n in manifest["nodes"].values() if n.get("access") == "public")
        node["columns"][with_column] = {"name": with_column, "data_type": "numeric", "description": "new"}
    return manifest


@pytest.fixture
def down(tmp_path: Path, github_api: GitHubAPI) -> Downstream:
    return Downstream(tmp_path, github_api)


def test_a_new_contract_opens_one_pr_then_updates_it_then_closes_it_when_main_catches_up(down: Downstream) -> None:
    down.publish(shop_manifest())
    assert down.sync() == "written"
    report = down.root / "validate.md"
    report.write_text("<!-- meshkit:validate:down -->\n### ✅ meshkit validate: 4 dependencies resolve\n\n| a | b |\n")

    opened = down.bump_json("--validation", str(report))

    assert (opened["schema"], opened["action"], opened["branch"], opened["base"]) == (
        "meshkit-bump-pr/1",
        "opened",
        BRANCH,
        "main",
    )
    [pull] = down.github.pull_requests(REPOSITORY)
    assert pull["number"] == opened["pr"] and pull["html_url"] == opened["url"]
    assert (pull["head"]["ref"], pull["base"]["ref"], pull["state"]) == (BRANCH, "main", "open")
    assert pull["title"].startswith("meshkit: down sync sources to shop@prod contract ")
    assert "### ⬆️ meshkit: shop published a new `prod` contract" in pull["body"]
    assert (
        "**Validation passed:**" in pull["body"] and "### ✅ meshkit validate: 4 dependencies resolve" in pull["body"]
    )
    assert "<!-- meshkit:validate:down -->" not in pull["body"]  # a comment marker means nothing in a PR body
    local = (down.repo / MESH_FILE).read_bytes()
    assert down.github.file_at(REPOSITORY, BRANCH, MESH_FILE) == local
    main_sha = down.github.branches(REPOSITORY)["main"]
    assert opened["commit"] == down.github.branches(REPOSITORY)[BRANCH]
    assert down.github.file_at(REPOSITORY, BRANCH, "down/models/report.sql") == REPORT_SQL.encode()  # on top of main
    commits_before = len(down.github.calls("POST", "git/create-commit"))

    # The same contract again (a rerun): nothing is committed or edited.
    again = down.bump_json("--validation", str(report))
    assert (again["action"], again["pr"], again["commit"]) == ("unchanged", opened["pr"], opened["commit"])
    assert len(down.github.calls("POST", "git/create-commit")) == commits_before
    assert not down.github.calls("PATCH", "pulls/update")

    # The upstream publishes again: one fresh commit on main, force-moved branch, the same PR.
    down.publish(shop_manifest(with_column="discount"))
    assert down.sync() == "written"
    updated = down.bump_json("--validation-failed")
    assert (updated["action"], updated["pr"]) == ("updated", opened["pr"])
    assert updated["commit"] != opened["commit"]
    [pull] = down.github.pull_requests(REPOSITORY)
    assert b"discount" in down.github.file_at(REPOSITORY, BRANCH, MESH_FILE)
    assert pull["title"].startswith("meshkit: down fails against shop@prod contract ")
    assert "**Validation failed:**" in pull["body"] and pull["state"] == "open"
    assert down.github.branches(REPOSITORY)["main"] == main_sha

    # The team merges the file into main by hand: the PR has nothing left to propose.
    down.commit("take the new contract")
    down.push()
    closed = down.bump_json()
    assert (closed["action"], closed["pr"]) == ("closed", opened["pr"])
    assert down.github.pull_requests(REPOSITORY)[0]["state"] == "closed"
    assert BRANCH not in down.github.branches(REPOSITORY)
    writes = len([c for c in down.github.log if c.method != "GET"])
    assert down.bump_json()["action"] == "up-to-date"
    assert len([c for c in down.github.log if c.method != "GET"]) == writes


def test_text_output_names_the_pr(down: Downstream) -> None:
    down.publish(shop_manifest())
    down.sync()
    result = down.bump()
    assert result.returncode == 0, result.stderr
    [pull] = down.github.pull_requests(REPOSITORY)
    assert result.stdout == f"opened {REPOSITORY}#{pull['number']} from {BRANCH}: {pull['html_url']}\n"


@pytest.mark.parametrize(
    ("args", "prepare", "expected"),
    [
        (("--upstream", "shop"), None, "--upstream 'shop' must name its env: NAME@ENV, as meshkit sync was given it"),
        ((), None, "down/models/_mesh_shop.yml does not exist: run `meshkit sync --upstream shop@prod` first"),
        ((), "not: [generated", "down/models/_mesh_shop.yml is not YAML: run `meshkit sync` to regenerate it"),
        (
            (),
            "version: 2\nsources: []\n",
            "down/models/_mesh_shop.yml was not generated by `meshkit sync` from shop@prod: run meshkit sync first",
        ),
        (("--base", "trunk"), "sync", "branch trunk does not exist in acme/down: pass the base branch"),
        (
            ("--validation", "missing.md"),
            "sync",
            "cannot read the validation report missing.md: No such file or directory",
        ),
    ],
)
def test_input_errors_are_one_line_and_change_nothing(
    down: Downstream, args: tuple[str, ...], prepare: str | None, expected: str
) -> None:
    down.publish(shop_manifest())
    if prepare == "sync":
        down.sync()
    elif prepare is not None:
        (down.repo / MESH_FILE).write_text(prepare)
    result = down.bump(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert one_line_error(result) == f"meshkit bump-pr: error: {expected}"
    assert down.github.pull_requests(REPOSITORY) == [] and set(down.github.branches(REPOSITORY)) == {"main"}


def test_a_read_only_token_is_refused_before_any_branch_exists(down: Downstream) -> None:
    down.publish(shop_manifest())
    down.sync()
    result = down.bump(token=READ_TOKEN)
    assert result.returncode == 2
    line = one_line_error(result)
    assert line.startswith("meshkit bump-pr: error: the GitHub token may not POST /repos/acme/down/git/blobs (403 ")
    assert "it needs contents: write" in line
    assert set(down.github.branches(REPOSITORY)) == {"main"} and down.github.pull_requests(REPOSITORY) == []
