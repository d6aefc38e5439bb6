"""The workflows under act with the registry in Google Cloud Storage and in Azure Blob Storage, each on its
emulator on loopback (fake-gcs-server, Azurite), logged in through the stand-ins of
google-github-actions/auth and azure/login: the same chain as the S3 scenario in test_act_workflows.py.

Per cloud, in order: main publishes the contract and dispatches; the replayed dispatch re-validates both
downstreams, dbt_down through generated sources and dbt_down_loom through dbt-loom's own client for that
cloud, and records them as consumers; a pull request dropping a public column fails its check, which
names those consumers, starting from main's partial parse.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.act_runner import GITHUB_REPOSITORY, ActHome, ActRun, git, make_workspace, run_act
from support.act_scenarios import DOWN, LOOM, UP, commit_dropped_column, pull_request_event, saved_parses
from support.cloudstores import (  # noqa: F401  (session fixtures)
    AZURITE_ACCOUNT,
    AzureContainer,
    GCSBucket,
    Store,
    azurite,
    fake_gcs_server,
    new_store,
)
from support.github_api import GitHubAPI

pytestmark = pytest.mark.act

WORKFLOW_TOKEN = "ghs_actCloudWorkflowToken000000000000000"
DISPATCH_TOKEN = "github_pat_actCloudDispatchToken0000000000"
UPSTREAM_PR = 17
PROVIDER = "projects/123456789012/locations/global/workloadIdentityPools/github/providers/meshkit"
WRITER = "meshkit-publish@meshkit-demo.iam.gserviceaccount.com"
READER = "meshkit-read@meshkit-demo.iam.gserviceaccount.com"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
READ_CLIENT_ID = "66666666-7777-8888-9999-000000000000"
TENANT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


@dataclass(frozen=True)
class Cloud:
    """What a repository configures for one cloud (its variables), and what the job logs say when it logs in."""

    backend: str
    variables: dict[str, str]
    writer_login: str
    reader_login: str
    loom_config: str


CLOUDS = {
    "gcs": Cloud(
        "gcs",
        {
            "MESHKIT_GCP_WORKLOAD_IDENTITY_PROVIDER": PROVIDER,
            "MESHKIT_GCP_SERVICE_ACCOUNT": WRITER,
            "MESHKIT_GCP_READ_SERVICE_ACCOUNT": READER,
        },
        f"authenticated to Google Cloud as {WRITER} through {PROVIDER}",
        f"authenticated to Google Cloud as {READER} through {PROVIDER}",
        "config dbt_loom.gcs.config.yml",
    ),
    "azure": Cloud(
        "azure",
        {
            "MESHKIT_AZURE_CLIENT_ID": CLIENT_ID,
            "MESHKIT_AZURE_READ_CLIENT_ID": READ_CLIENT_ID,
            "MESHKIT_AZURE_TENANT_ID": TENANT_ID,
            "MESHKIT_AZURE_STORAGE_ACCOUNT": AZURITE_ACCOUNT,
        },
        f"logged in to Azure as application {CLIENT_ID} in tenant {TENANT_ID}",
        f"logged in to Azure as application {READ_CLIENT_ID} in tenant {TENANT_ID}",
        "config dbt_loom.azure.config.yml",
    ),
}


def emulator_env(store: Store) -> dict[str, str]:
    """Only what points meshkit and dbt-loom at the emulator (the credentials come from the login steps)."""
    if isinstance(store, GCSBucket):
        return {"STORAGE_EMULATOR_HOST": store.endpoint}
    assert isinstance(store, AzureContainer)
    return {
        "AZURE_STORAGE_USE_EMULATOR": "true",
        "AZURITE_BLOB_STORAGE_URL": store.endpoint,
        "AZURE_STORAGE_CONNECTION_STRING": store.connection_string,  # dbt-loom's Azure client
    }


class CloudMesh:
    """One cloud's scenario state: act's HOME, the emulator's bucket or container, the GitHub API, main."""

    def __init__(self, root: Path, cloud: Cloud, store: Store, github: GitHubAPI) -> None:
        self.root = root
        self.cloud = cloud
        self.store = store
        self.github = github
        self.act_home = ActHome(home=root / "act-home", cache_store=root / "actions-cache")
        self.act_home.home.mkdir(parents=True)
        self.main = make_workspace(root / "main")
        self.head = git(self.main, "rev-parse", "HEAD")
        github.import_branch(GITHUB_REPOSITORY, self.main, "main")

    def act(self, workspace: Path, event_name: str, workflow: str, event: dict[str, Any]) -> ActRun:
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
            env={"GITHUB_API_URL": self.github.base_url, **emulator_env(self.store)},
            variables={"MESHKIT_REGISTRY": self.store.url(), **self.cloud.variables},
            secrets={"GITHUB_TOKEN": WORKFLOW_TOKEN, "MESHKIT_DISPATCH_TOKEN": DISPATCH_TOKEN},
            repositories={GITHUB_REPOSITORY: workspace},
        )

    def read_json(self, key: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.store.read(f"registry/{key}"))
        return data

    def branch(self, name: str) -> Path:
        workspace = self.root / name
        shutil.copytree(self.main, workspace, symlinks=True)
        git(workspace, "checkout", "--quiet", "-b", name)
        return workspace


@pytest.fixture(scope="module", params=sorted(CLOUDS))
def cloud_mesh(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudMesh]:
    cloud = CLOUDS[request.param]
    with new_store(request, cloud.backend) as store, GitHubAPI() as github:
        github.add_repository(GITHUB_REPOSITORY, pull_requests=[UPSTREAM_PR])
        github.add_token(WORKFLOW_TOKEN, write=True)
        github.add_token(DISPATCH_TOKEN, write=True)
        yield CloudMesh(tmp_path_factory.mktemp(f"act-{cloud.backend}"), cloud, store, github)
        assert github.violations == [], "requests GitHub's OpenAPI description rejects"


def test_main_publishes_to_the_cloud_registry_and_dispatches(cloud_mesh: CloudMesh) -> None:
    mesh = cloud_mesh
    run = mesh.act(mesh.main, "push", "upstream.yml", {"ref": "refs/heads/main", "after": mesh.head})

    assert run.returncode == 0, run.log[-8000:]
    assert run.job_succeeded(f"{UP}/publish"), run.log[-4000:]
    assert mesh.cloud.writer_login in run.log and mesh.cloud.reader_login not in run.log
    assert "assumed role" not in run.log  # no AWS login for another cloud's registry
    metadata = mesh.read_json("dbt_up/prod/latest/metadata.json")
    assert metadata["git_commit"] == mesh.head
    assert any(key.startswith("registry/dbt_up/prod/history/") for key in mesh.store.object_keys("registry/"))
    [dispatch] = mesh.github.dispatches
    assert dispatch.client_payload["sha256"] == metadata["sha256"]
    assert dispatch.client_payload["key"] == "dbt_up/prod/latest/manifest.json"
    assert list(mesh.act_home.cache_store.glob("meshkit-dbt-partial-parse-v1-*-dbt_up-*.tar"))


def test_the_dispatch_revalidates_both_downstreams_through_the_cloud(cloud_mesh: CloudMesh) -> None:
    mesh = cloud_mesh
    [dispatch] = mesh.github.dispatches
    event = {"action": dispatch.event_type, "client_payload": dispatch.client_payload}

    run = mesh.act(mesh.main, "repository_dispatch", "downstream.yml", event)

    assert run.returncode == 0, run.log[-8000:]
    assert run.job_succeeded(f"{DOWN}/consume") and run.job_succeeded(f"{LOOM}/consume"), run.log[-4000:]
    assert mesh.cloud.writer_login in run.log
    assert "meshkit sync: dbt_up@prod unchanged:" in run.log
    # dbt-loom's own client for this cloud read the contract (its gcs or azure config, chosen by the scheme).
    assert f"dbt-loom reads the registry at {mesh.store.url()}, env prod, {mesh.cloud.loom_config}" in run.log
    sha256 = dispatch.client_payload["sha256"]
    for downstream, approach in (("dbt_down", "mesh-source"), ("dbt_down_loom", "dbt-loom")):
        record = mesh.read_json(f"dbt_up/prod/consumers/{downstream}.json")
        assert record["contract_sha256"] == sha256 and record["git_commit"] == mesh.head
        assert {use["via"] for use in record["uses"]} == {approach}


def test_a_breaking_pull_request_names_the_cloud_consumers(cloud_mesh: CloudMesh) -> None:
    mesh = cloud_mesh
    pr = mesh.branch("drop-status")
    commit_dropped_column(pr, "public_orders", "status")
    parses_before = saved_parses(mesh.act_home)

    run = mesh.act(pr, "pull_request", "upstream.yml", pull_request_event(UPSTREAM_PR, pr))

    assert run.returncode != 0
    assert run.job_failed(f"{UP}/check") and run.job_succeeded(f"{UP}/comment"), run.log[-8000:]
    assert mesh.cloud.reader_login in run.log and mesh.cloud.writer_login not in run.log
    # Main's parse is restored and, made in another act folder for a project with seeds, not reused.
    assert "cache restored from key: meshkit-dbt-partial-parse-v1-Linux-X64-dbt_up-" in run.log
    assert "not reusing the saved parse: it was made in " in run.log
    assert saved_parses(mesh.act_home) == parses_before
    [comment] = mesh.github.comments(GITHUB_REPOSITORY, UPSTREAM_PR)
    assert "column-removed: `status`" in comment["body"]
    assert "dbt\\_down (meshkit-demo/mesh): " in comment["body"]
    assert "dbt\\_down\\_loom (meshkit-demo/mesh): " in comment["body"]
