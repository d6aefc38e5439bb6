"""The workflows, run end to end by act in host mode: real dbt builds, the composite actions,
the registry in a moto S3 bucket reached through an assumed role, and GitHub's REST API played by
a local server that checks every request against GitHub's OpenAPI description.

The scenarios build on each other the way a repository's history does: main publishes, the
recorded dispatch is replayed into the downstream workflow (which records its consumers), then
PRs are checked against that state, then workflow_dispatch reruns for another env. `make test`
runs pytest-xdist with --dist loadfile, so they run in order on one worker.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from support.act_runner import GITHUB_REPOSITORY, ActHome, ActRun, commit_all, git, make_workspace, run_act
from support.act_scenarios import DOWN, LOOM, UP, commit_dropped_column, pull_request_event, saved_parses
from support.github_api import GitHubAPI
from support.s3server import moto_server  # noqa: F401  (session fixture)

pytestmark = pytest.mark.act

BUCKET = "meshkit-act-registry"
REGISTRY = f"s3://{BUCKET}/registry"
ROLE_ARN = "arn:aws:iam::123456789012:role/meshkit-registry"
READ_ROLE_ARN = "arn:aws:iam::123456789012:role/meshkit-registry-read"
WORKFLOW_TOKEN = "ghs_actWorkflowToken0000000000000000000"
DISPATCH_TOKEN = "github_pat_actDispatchToken000000000000000"
UPSTREAM_PR = 7
DOWNSTREAM_PR = 8
EVENT_TYPE = "meshkit-upstream-published"


class Mesh:
    """What the scenarios share: act's HOME, the servers, the main-branch workspace."""

    def __init__(self, root: Path, moto_endpoint: str, github: GitHubAPI) -> None:
        self.root = root
        self.act_home = ActHome(home=root / "act-home", cache_store=root / "actions-cache")
        self.act_home.home.mkdir(parents=True)
        self.moto_endpoint = moto_endpoint
        self.github = github
        self.s3 = boto3.client(
            "s3",
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.s3.create_bucket(Bucket=BUCKET)
        self.main = make_workspace(root / "main")
        self.head = git(self.main, "rev-parse", "HEAD")
        github.import_branch(GITHUB_REPOSITORY, self.main, "main")  # what the contract-bump job compares with

    def act(
        self, workspace: Path, event_name: str, workflow: str, event: dict[str, Any], *, verbose: bool = False
    ) -> ActRun:
        event = {
            "repository": {
                "full_name": GITHUB_REPOSITORY,
                "name": "mesh",
                "default_branch": "main",
                "owner": {"login": "meshkit-demo"},
            },
            **event,
        }
        return run_act(
            workspace,
            self.act_home,
            event_name=event_name,
            workflow=workflow,
            event=event,
            env={"GITHUB_API_URL": self.github.base_url, "AWS_ENDPOINT_URL": self.moto_endpoint},
            variables={
                "MESHKIT_REGISTRY": REGISTRY,
                "MESHKIT_AWS_ROLE_ARN": ROLE_ARN,
                "MESHKIT_AWS_READ_ROLE_ARN": READ_ROLE_ARN,
                "AWS_REGION": "us-east-1",
            },
            secrets={"GITHUB_TOKEN": WORKFLOW_TOKEN, "MESHKIT_DISPATCH_TOKEN": DISPATCH_TOKEN},
            repositories={GITHUB_REPOSITORY: workspace},
            verbose=verbose,
        )

    def key(self, key: str) -> str:
        return f"registry/{key}"

    def read_json(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=self.key(key))["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=self.key(prefix))
        return sorted(item["Key"].removeprefix("registry/") for item in listing.get("Contents", []))

    def branch(self, name: str) -> Path:
        """A workspace on a PR branch off main."""
        workspace = self.root / name
        shutil.copytree(self.main, workspace, symlinks=True)
        git(workspace, "checkout", "--quiet", "-b", name)
        return workspace


# Session scope: the scenarios' state must outlive any reordering, and act's HOME (with the
# setup action's virtualenv in its tool cache) is worth building once.
@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory, moto_server: str) -> Iterator[Mesh]:
    with GitHubAPI() as github:
        github.add_repository(GITHUB_REPOSITORY, pull_requests=[UPSTREAM_PR, DOWNSTREAM_PR])
        github.add_token(WORKFLOW_TOKEN, write=True)
        github.add_token(DISPATCH_TOKEN, write=True)
        yield Mesh(tmp_path_factory.mktemp("act"), moto_server, github)
        assert github.violations == [], "requests GitHub's OpenAPI description rejects"


def assert_secrets_masked(run: ActRun) -> None:
    assert DISPATCH_TOKEN not in run.log and WORKFLOW_TOKEN not in run.log


def test_upstream_push_to_main_publishes_and_dispatches(mesh: Mesh) -> None:
    run = mesh.act(mesh.main, "push", "upstream.yml", {"ref": "refs/heads/main", "after": mesh.head})

    assert run.returncode == 0, run.log[-8000:]
    assert run.job_succeeded(f"{UP}/publish") and not run.job_ran(f"{UP}/check"), run.log[-4000:]
    assert "meshkit build: dbt build (in dbt_up)" in run.log
    assert f"assumed role {ROLE_ARN} as session meshkit-publish-" in run.log
    assert_secrets_masked(run)
    metadata = mesh.read_json("dbt_up/prod/latest/metadata.json")
    assert metadata["git_commit"] == mesh.head
    assert any(key.startswith("dbt_up/prod/history/") for key in mesh.keys("dbt_up/prod/"))
    # The setup action built the virtualenv once, with uv from its hash-locked wheel, and saved it to the
    # (stand-in) Actions cache; main's dbt build left its partial parse there for pull requests.
    assert "meshkit setup: installing meshkit's hash-locked runtime" in run.log
    assert list((mesh.act_home.home / ".cache" / "act" / "tool_cache" / "meshkit-uv").glob("*/bin/uv"))
    assert list(mesh.act_home.cache_store.glob("meshkit-venv-*.tar"))
    assert "partial-parse cache: dbt 1.11." in run.log and "adapter duckdb, target dev" in run.log
    assert list(mesh.act_home.cache_store.glob("meshkit-dbt-partial-parse-v1-Linux-X64-dbt_up-*-duckdb-dev-*.tar"))

    [dispatch] = mesh.github.dispatches
    assert dispatch.repository == GITHUB_REPOSITORY
    assert dispatch.event_type == EVENT_TYPE
    assert dispatch.token == DISPATCH_TOKEN
    assert dispatch.client_payload == {
        "schema": "meshkit-dispatch/1",
        "project": "dbt_up",
        "env": "prod",
        "sha256": metadata["sha256"],
        "key": "dbt_up/prod/latest/manifest.json",
        "history_key": dispatch.client_payload["history_key"],
        "commit": mesh.head,
        "published_at": metadata["published_at"],
    }
    assert dispatch.client_payload["history_key"].startswith("dbt_up/prod/history/")


def test_replayed_dispatch_revalidates_downstreams_and_records_consumers(mesh: Mesh) -> None:
    [dispatch] = mesh.github.dispatches
    event = {"action": dispatch.event_type, "client_payload": dispatch.client_payload}

    run = mesh.act(mesh.main, "repository_dispatch", "downstream.yml", event)

    assert run.returncode == 0, run.log[-8000:]
    assert run.job_succeeded(f"{DOWN}/consume") and run.job_succeeded(f"{LOOM}/consume")
    assert not any(run.job_ran(f"{caller}/comment") for caller in (DOWN, LOOM)) and not run.job_ran(f"{LOOM}/bump")
    assert f"assumed role {ROLE_ARN} as session meshkit-downstream-" in run.log
    # The dispatch regenerates dbt_down's sources; the committed file is current, so no contract-bump PR.
    assert "meshkit sync: dbt_up@prod unchanged:" in run.log
    assert run.job_succeeded(f"{DOWN}/bump") and "meshkit bump-pr: dbt_up@prod up-to-date" in run.log
    assert mesh.github.pull_requests(GITHUB_REPOSITORY) == []
    assert "dbt-loom reads the registry at s3://meshkit-act-registry/registry, env prod" in run.log
    for project in ("dbt_down", "dbt_down_loom"):  # main's parses, for the downstreams' pull requests
        assert list(mesh.act_home.cache_store.glob(f"meshkit-dbt-partial-parse-v1-Linux-X64-{project}-*.tar"))
    sha256 = dispatch.client_payload["sha256"]
    for downstream, approach in (("dbt_down", "mesh-source"), ("dbt_down_loom", "dbt-loom")):
        record = mesh.read_json(f"dbt_up/prod/consumers/{downstream}.json")
        assert record["git_commit"] == mesh.head
        assert record["contract_sha256"] == sha256
        assert {use["via"] for use in record["uses"]} == {approach}
        assert "model.dbt_up.public_orders" in {use["unique_id"] for use in record["uses"]}


def test_repository_dispatch_of_another_type_runs_no_job(mesh: Mesh) -> None:
    run = mesh.act(
        mesh.main,
        "repository_dispatch",
        "downstream.yml",
        {"action": "something-else", "client_payload": {"project": "dbt_up"}},
        verbose=True,
    )

    assert run.returncode == 0, run.log[-4000:]
    assert not any(run.job_ran(f"{caller}/{job}") for caller in (DOWN, LOOM) for job in ("consume", "bump", "comment"))
    # Skipped by the event-type guard, not for any other reason (act ignores `types:`).
    for job in ("dbt_down", "dbt_down_loom"):
        assert (
            f"Skipping job '{job}' due to 'github.event_name != 'repository_dispatch' || "
            "github.event.action == 'meshkit-upstream-published''" in run.log
        ), run.log[-4000:]


def test_upstream_pr_with_breaking_change_fails_with_one_sticky_comment(mesh: Mesh) -> None:
    pr = mesh.branch("drop-status")
    commit_dropped_column(pr, "public_orders", "status")
    parses_before = saved_parses(mesh.act_home)

    first = mesh.act(pr, "pull_request", "upstream.yml", pull_request_event(UPSTREAM_PR, pr))

    assert first.returncode != 0
    assert first.job_failed(f"{UP}/check") and first.job_succeeded(f"{UP}/comment"), first.log[-8000:]
    assert not first.job_ran(f"{UP}/publish")
    # The PR's manifest comes from `dbt parse`: no warehouse in a job that runs the PR's code. Main's partial
    # parse is restored, but act checks each job out in a folder of its own and dbt_up has seeds, whose parse
    # keeps main's folder: it is thrown away and dbt parses everything.
    assert "meshkit build: dbt parse (in dbt_up)" in first.log and "meshkit build: dbt build" not in first.log
    assert "cache restored from key: meshkit-dbt-partial-parse-v1-Linux-X64-dbt_up-" in first.log
    assert "not reusing the saved parse: it was made in " in first.log
    assert "Unable to do partial parsing because saved manifest not found" in first.log
    assert "cache saved with key: meshkit-dbt-partial-parse" not in first.log  # a pull request never saves
    assert saved_parses(mesh.act_home) == parses_before
    [comment] = mesh.github.comments(GITHUB_REPOSITORY, UPSTREAM_PR)
    body = comment["body"]
    assert body.splitlines()[0] == "<!-- meshkit:check:dbt_up -->"
    assert "breaking" in body and "column-removed: `status`" in body
    # The consumers the dispatch run recorded, each with its repository.
    assert "dbt\\_down (meshkit-demo/mesh): " in body and "dbt\\_down\\_loom (meshkit-demo/mesh): " in body
    assert "```mermaid" in body
    assert "::error" in first.log and "column status of public_orders was removed" in first.log
    assert f"assumed role {READ_ROLE_ARN} as session meshkit-check-" in first.log and f"{ROLE_ARN} as" not in first.log

    # Another push to the PR: the same comment is edited, no second one appears.
    commit_dropped_column(pr, "public_orders", "order_date")

    second = mesh.act(pr, "pull_request", "upstream.yml", pull_request_event(UPSTREAM_PR, pr))

    assert second.returncode != 0 and second.job_succeeded(f"{UP}/comment"), second.log[-8000:]
    [updated] = mesh.github.comments(GITHUB_REPOSITORY, UPSTREAM_PR)
    assert updated["id"] == comment["id"]
    assert "column-removed: `order_date`" in updated["body"] and updated["body"] != body
    assert len(mesh.github.calls("POST", "issues/create-comment")) == 1
    assert len(mesh.github.calls("PATCH", "issues/update-comment")) == 1
    assert_secrets_masked(second)


def test_downstream_pr_comments_validation_and_lineage(mesh: Mesh) -> None:
    recorded = mesh.read_json("dbt_up/prod/consumers/dbt_down.json")
    pr = mesh.branch("downstream-change")
    readme = pr / "dbt_down" / "README.md"
    readme.write_text(readme.read_text() + "\nA downstream PR.\n" if readme.exists() else "A downstream PR.\n")
    commit_all(pr, "touch dbt_down")

    run = mesh.act(pr, "pull_request", "downstream.yml", pull_request_event(DOWNSTREAM_PR, pr))

    assert run.returncode == 0, run.log[-8000:]
    assert run.job_succeeded(f"{DOWN}/comment") and run.job_succeeded(f"{LOOM}/comment")
    assert f"assumed role {READ_ROLE_ARN} as" in run.log and f"{ROLE_ARN} as" not in run.log
    # The PR builds nothing in the warehouse: `dbt parse`, and the committed sources only checked.
    assert (
        "meshkit build: dbt parse (in dbt_down)" in run.log and "meshkit build: dbt parse (in dbt_down_loom)" in run.log
    )
    assert "meshkit build: ../scripts/demo_warehouse.sh" not in run.log
    assert "meshkit sync: dbt_up@prod up-to-date:" in run.log
    # Each check starts from the parse main's dispatch run saved (no seeds: dbt judges it, and it fits).
    for project in ("dbt_down", "dbt_down_loom"):
        assert f"cache restored from key: meshkit-dbt-partial-parse-v1-Linux-X64-{project}-" in run.log
    assert "Unable to do partial parsing" not in run.log and "not reusing the saved parse" not in run.log
    comments = mesh.github.comments(GITHUB_REPOSITORY, DOWNSTREAM_PR)
    markers = sorted(c["body"].splitlines()[0] for c in comments)
    assert markers == ["<!-- meshkit:validate:dbt_down -->", "<!-- meshkit:validate:dbt_down_loom -->"]
    for comment in comments:
        assert comment["body"].splitlines()[1].startswith("### ✅ meshkit validate:")
        assert "`model.dbt_up.public_orders`" in comment["body"]
        assert "```mermaid" in comment["body"] and 'n2["public_orders"]' in comment["body"]
    # A PR is not the main branch: it must not overwrite the consumer index.
    assert mesh.read_json("dbt_up/prod/consumers/dbt_down.json") == recorded


def test_workflow_dispatch_reruns_for_another_env(mesh: Mesh) -> None:
    before = len(mesh.github.dispatches)
    upstream = mesh.act(
        mesh.main,
        "workflow_dispatch",
        "upstream.yml",
        {"ref": "refs/heads/main", "inputs": {"env": "staging", "force": "false"}},
    )

    assert upstream.returncode == 0, upstream.log[-8000:]
    assert mesh.read_json("dbt_up/staging/latest/metadata.json")["git_commit"] == mesh.head
    dispatch = mesh.github.dispatches[before]
    assert dispatch.client_payload["env"] == "staging"
    assert dispatch.client_payload["key"] == "dbt_up/staging/latest/manifest.json"

    downstream = mesh.act(
        mesh.main,
        "workflow_dispatch",
        "downstream.yml",
        {"ref": "refs/heads/main", "inputs": {"env": "staging", "upstream": "dbt_up"}},
    )

    assert downstream.returncode == 0, downstream.log[-8000:]
    assert downstream.job_succeeded(f"{DOWN}/consume") and downstream.job_succeeded(f"{LOOM}/consume")
    # dbt_down's sources were regenerated from the staging contract for this run: an uncommitted state,
    # so it is validated but not recorded, and (staging not being the env main reads) no bump PR opens.
    assert "meshkit sync: dbt_up@staging written:" in downstream.log
    assert not downstream.job_ran(f"{DOWN}/bump") and mesh.github.pull_requests(GITHUB_REPOSITORY) == []
    assert mesh.keys("dbt_up/staging/consumers/") == ["dbt_up/staging/consumers/dbt_down_loom.json"]
