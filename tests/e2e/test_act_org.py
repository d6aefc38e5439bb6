"""Adopt anywhere, proven: a three-repository organisation, none of them meshkit's, on PostgreSQL.

acme-data/orders publishes `orders_core` (its project in transform/); acme-data/finance reads it
through generated sources (project at the root), acme-data/growth through dbt-loom (project in
dbt/). Each repository holds only its dbt project (tests/org/) and what `meshkit init`, run from a
meshkit checkout that calls itself meshkit-dev/meshkit, wrote for it: meshkit.yml and a caller
workflow pinned to that checkout's commit. act runs those callers in host mode; they call the
reusable workflows of meshkit-dev/meshkit at that commit (served by act's --local-repository).

The warehouse is a real PostgreSQL server with one login role and schema per team; the dbt
stack comes from each repository's requirements-dbt.txt (dbt-postgres, dbt-loom); the registry
is moto's S3 server under a non-default prefix; GitHub's API is the local OpenAPI-checked server,
and the test routes each repository_dispatch it records to the repository it names.

The scenario builds on itself in file order: an upstream merge publishes, both consumers run on
their dispatch, a new upstream column gives finance one contract-bump pull request, and an
upstream pull request dropping a column gets one sticky comment naming both consumer repositories.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from support.act_runner import (
    ActHome,
    ActRun,
    commit_all,
    git,
    make_git_repository,
    make_workspace,
    run_act,
    step_seconds,
)
from support.github_api import GitHubAPI
from support.helpers import REPO, clean_env, run
from support.pgserver import PostgresServer, postgres_server  # noqa: F401  (session fixture)
from support.s3server import moto_server  # noqa: F401  (session fixture)

pytestmark = pytest.mark.act

ORG = Path(__file__).parents[1] / "org"
MESHKIT = "meshkit-dev/meshkit"
BUCKET = "acme-mesh"
PREFIX = "mesh/contracts"
REGISTRY = f"s3://{BUCKET}/{PREFIX}"
ACCOUNT = "arn:aws:iam::210987654321:role"
DISPATCH_TOKEN = "github_pat_acmeDispatch0000000000000000000"
UPSTREAM_PR = 21
EVENT_TYPE = "meshkit-upstream-published"
BUMP_BRANCH = "meshkit/sync-orders_core-prod"


class Team:
    """One team's repository: its workspace, its GitHub token, its warehouse role."""

    def __init__(self, org: Org, full_name: str, folder: str, project: str, init_args: list[str]) -> None:
        self.full_name, self.project = full_name, project
        self.role = full_name.split("/")[1]
        self.password = f"pg-{self.role}-Secret-7f3a"
        self.token = f"ghs_{self.role}WorkflowToken{'0' * 20}"
        self.workflow = f"meshkit-{project}.yml"
        self.workspace = org.root / self.role
        self.pg_port = org.pg.port
        shutil.copytree(ORG / folder, self.workspace)
        make_git_repository(self.workspace, full_name, f"{project}: the dbt project")
        done = run(
            [
                sys.executable,
                "-m",
                "meshkit",
                "init",
                *init_args,
                "--registry",
                REGISTRY,
                "--aws-role",
                f"{ACCOUNT}/acme-mesh-{self.role}",
                "--aws-read-role",
                f"{ACCOUNT}/acme-mesh-read",
            ],
            cwd=self.workspace,
            env={**clean_env(), "PYTHONPATH": str(org.meshkit)},
        )
        assert done.returncode == 0, done.stderr
        self.init_output = done.stdout
        self.head = commit_all(self.workspace, "meshkit init")

    @property
    def warehouse_env(self) -> str:
        return "\n".join(
            [
                f"ACME_PG_HOST={PostgresServer.host}",
                f"ACME_PG_PORT={self.pg_port}",
                f"ACME_PG_USER={self.role}",
                f"ACME_PG_PASSWORD={self.password}",
            ]
        )


class Org:
    """The organisation's shared services and its three repositories."""

    def __init__(self, root: Path, pg: PostgresServer, moto_endpoint: str, github: GitHubAPI) -> None:
        self.root, self.pg, self.moto_endpoint, self.github = root, pg, moto_endpoint, github
        self.act_home = ActHome(home=root / "act-home", cache_store=root / "actions-cache")
        self.act_home.home.mkdir(parents=True)
        self.timings: dict[str, float] = {}
        self.logs: dict[str, str] = {}
        self.s3 = boto3.client(
            "s3",
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.s3.create_bucket(Bucket=BUCKET)
        # meshkit as a team would fetch it: a checkout of meshkit-dev/meshkit at one commit.
        self.meshkit = make_workspace(root / "meshkit", MESHKIT)
        self.meshkit_sha = git(self.meshkit, "rev-parse", "HEAD")
        self.orders = Team(
            self,
            "acme-data/orders",
            "orders",
            "orders_core",
            [
                "--role",
                "upstream",
                "--project-dir",
                "transform",
                "--consumer",
                "acme-data/finance",
                "--consumer",
                "acme-data/growth",
            ],
        )
        # finance consumes orders_core and publishes revenue_by_status, which growth reads: a chain.
        self.finance = Team(
            self,
            "acme-data/finance",
            "finance",
            "finance_marts",
            ["--role", "both", "--upstream", "orders_core", "--consumer", "acme-data/growth"],
        )
        self.growth = Team(
            self,
            "acme-data/growth",
            "growth",
            "growth_analytics",
            ["--role", "downstream", "--project-dir", "dbt", "--approach", "dbt-loom", "--upstream", "orders_core"],
        )
        self.teams = {team.full_name: team for team in (self.orders, self.finance, self.growth)}
        for team in self.teams.values():
            pg.psql(f"create role {team.role} login password '{team.password}'")
            github.add_repository(team.full_name, pull_requests=[UPSTREAM_PR] if team is self.orders else [])
            github.add_token(team.token, write=True)
            github.import_branch(team.full_name, team.workspace, "main")
        github.add_token(DISPATCH_TOKEN, write=True)
        pg.psql("create database acme owner orders")
        for team, schema in ((self.orders, "orders_core"), (self.finance, "finance"), (self.growth, "growth")):
            pg.psql(f"create schema {schema} authorization {team.role}", database="acme")
        pg.psql("grant usage on schema orders_core to finance, growth", database="acme")
        pg.psql("grant usage on schema finance to growth", database="acme")

    def act(
        self, team: Team, event_name: str, event: dict[str, Any], *, label: str, workspace: Path | None = None
    ) -> ActRun:
        owner, name = team.full_name.split("/")
        event = {
            "repository": {
                "full_name": team.full_name,
                "name": name,
                "default_branch": "main",
                "owner": {"login": owner},
            },
            **event,
        }
        secrets = {"GITHUB_TOKEN": team.token, "MESHKIT_WAREHOUSE_ENV": team.warehouse_env}
        if team is not self.growth:  # the publishers notify their consumers
            secrets["MESHKIT_DISPATCH_TOKEN"] = DISPATCH_TOKEN
        started = time.monotonic()
        result = run_act(
            workspace or team.workspace,
            self.act_home,
            event_name=event_name,
            workflow=team.workflow,
            event=event,
            env={"GITHUB_API_URL": self.github.base_url, "AWS_ENDPOINT_URL": self.moto_endpoint},
            variables={},
            secrets=secrets,
            repositories={MESHKIT: self.meshkit},
            served={f"{MESHKIT}@{self.meshkit_sha}": self.meshkit},
            extra_roots=(self.meshkit,),
            timeout=1200,
        )
        label = label if label not in self.timings else f"{label} #{sum(k.startswith(label) for k in self.timings) + 1}"
        self.timings[label] = round(time.monotonic() - started, 1)
        self.logs[label] = result.log
        assert team.password not in result.log, "the warehouse secret leaked into the log"
        assert DISPATCH_TOKEN not in result.log and team.token not in result.log
        return result

    def push(self, team: Team) -> ActRun:
        return self.act(
            team,
            "push",
            {"ref": "refs/heads/main", "after": git(team.workspace, "rev-parse", "HEAD")},
            label=f"push {team.role}",
        )

    def deliver_dispatches(self, since: int) -> dict[str, ActRun]:
        """Route each recorded repository_dispatch to the repository it names, as GitHub does."""
        runs = {}
        for dispatch in self.github.dispatches[since:]:
            team = self.teams[dispatch.repository]
            event = {"action": dispatch.event_type, "client_payload": dispatch.client_payload}
            runs[team.full_name] = self.act(team, "repository_dispatch", event, label=f"dispatch {team.role}")
        return runs

    def read_json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}")["Body"].read())


@pytest.fixture(scope="module")
def org(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    moto_server: str,
) -> Iterator[Org]:
    with GitHubAPI() as github:
        org = Org(tmp_path_factory.mktemp("org"), postgres_server, moto_server, github)
        yield org
        # The run times are reported, never asserted: artifacts/act-org-timings.json.
        (REPO / "artifacts").mkdir(exist_ok=True)
        (REPO / "artifacts" / "act-org-timings.json").write_text(json.dumps(org.timings, indent=2) + "\n")
        assert github.violations == [], "requests GitHub's OpenAPI description rejects"


UP = "upstream/meshkit upstream"
DOWN = "downstream/meshkit downstream"


def test_init_pinned_every_repository_to_the_running_meshkit(org: Org) -> None:
    for team in org.teams.values():
        text = (team.workspace / ".github" / "workflows" / team.workflow).read_text()
        jobs = 2 if team is org.finance else 1  # finance consumes and publishes
        assert f"uses: {MESHKIT}/.github/workflows/" in text and text.count(org.meshkit_sha) == 2 * jobs
        assert not (team.workspace / ".github" / "actions").exists()  # nothing of meshkit is copied in
    assert (org.growth.workspace / "dbt" / "dbt_loom.config.yml").is_file()
    assert (
        "dbt-requirements: transform/requirements-dbt.txt"
        in (org.orders.workspace / ".github/workflows/meshkit-orders_core.yml").read_text()
    )


def test_an_upstream_merge_builds_publishes_and_notifies_both_consumer_repositories(org: Org) -> None:
    run_ = org.push(org.orders)

    assert run_.returncode == 0, run_.log[-8000:]
    assert run_.job_succeeded(f"{UP}/publish") and not run_.job_ran(f"{UP}/check")
    assert f"assumed role {ACCOUNT}/acme-mesh-orders as session meshkit-publish-" in run_.log
    assert "meshkit build: dbt build (in transform)" in run_.log
    metadata = org.read_json("orders_core/prod/latest/metadata.json")
    assert metadata["git_commit"] == org.orders.head and metadata["dbt_version"].startswith("1.11.")
    # Built in the team's schema, by the team's role, with grants to the consumer roles only.
    assert org.pg.psql("select count(*) from orders_core.public_orders", database="acme") == "4"
    assert (
        org.pg.psql("select tableowner from pg_tables where tablename = 'public_orders'", database="acme") == "orders"
    )
    assert [(d.repository, d.event_type, d.token) for d in org.github.dispatches] == [
        ("acme-data/finance", EVENT_TYPE, DISPATCH_TOKEN),
        ("acme-data/growth", EVENT_TYPE, DISPATCH_TOKEN),
    ]
    assert org.github.dispatches[0].client_payload["sha256"] == metadata["sha256"]


def test_each_consumer_repository_runs_on_its_dispatch_and_records_what_it_reads(org: Org) -> None:
    # The finance team adopted meshkit: it generated its sources once and committed them.
    env = clean_env(
        AWS_ENDPOINT_URL=org.moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    synced = run([sys.executable, "-m", "meshkit", "sync", "--registry", REGISTRY], cwd=org.finance.workspace, env=env)
    assert synced.returncode == 0, synced.stderr
    org.finance.head = commit_all(org.finance.workspace, "meshkit sync: orders_core sources")
    org.github.import_branch(org.finance.full_name, org.finance.workspace, "main")

    runs = org.deliver_dispatches(0)

    assert sorted(runs) == ["acme-data/finance", "acme-data/growth"]
    for run_ in runs.values():
        assert run_.returncode == 0, run_.log[-8000:]
        assert run_.job_succeeded(f"{DOWN}/consume")
    # finance's committed sources are current: its bump job finds nothing to propose; growth has no file to bump.
    assert "meshkit sync: orders_core@prod unchanged:" in runs["acme-data/finance"].log
    assert "meshkit bump-pr: orders_core@prod up-to-date" in runs["acme-data/finance"].log
    assert not runs["acme-data/growth"].job_ran(f"{DOWN}/bump")
    assert org.github.pull_requests(org.finance.full_name) == []
    assert f"dbt-loom reads the registry at {REGISTRY}, env prod" in runs["acme-data/growth"].log
    # Both built their models in PostgreSQL from the upstream's public table.
    assert (
        org.pg.psql("select revenue from finance.revenue_by_status where status = 'shipped'", database="acme")
        == "62.00"
    )
    assert org.pg.psql("select count(*) from growth.active_customers", database="acme") == "3"
    for team, via in ((org.finance, "mesh-source"), (org.growth, "dbt-loom")):
        record = org.read_json(f"orders_core/prod/consumers/{team.project}.json")
        assert (record["repository"], record["git_commit"]) == (team.full_name, team.head)
        assert {use["via"] for use in record["uses"]} == {via}
        assert "model.orders_core.public_orders" in {use["unique_id"] for use in record["uses"]}


def test_a_new_upstream_column_gives_finance_one_contract_bump_pull_request(org: Org) -> None:
    public = org.orders.workspace / "transform" / "models" / "marts"
    (public / "public_orders.sql").write_text(
        "select order_id, customer_id, status, amount, (amount * 0.1)::numeric(10, 2) as discount\n"
        "from {{ ref('stg_orders') }}\n"
    )
    yml = (public / "_public.yml").read_text()
    (public / "_public.yml").write_text(
        yml.replace(
            "      - name: amount\n        data_type: numeric(10, 2)\n",
            "      - name: amount\n        data_type: numeric(10, 2)\n"
            "      - name: discount\n        data_type: numeric(10, 2)\n        description: Loyalty discount.\n",
            1,
        )
    )
    org.orders.head = commit_all(org.orders.workspace, "public_orders: add discount")
    before = len(org.github.dispatches)

    published = org.push(org.orders)
    assert published.returncode == 0, published.log[-8000:]
    runs = org.deliver_dispatches(before)

    finance = runs["acme-data/finance"]
    assert finance.returncode == 0, finance.log[-8000:]
    assert finance.job_succeeded(f"{DOWN}/consume") and finance.job_succeeded(f"{DOWN}/bump"), finance.log[-8000:]
    assert "meshkit sync: orders_core@prod written:" in finance.log
    [pull] = org.github.pull_requests(org.finance.full_name)
    assert (pull["head"]["ref"], pull["base"]["ref"], pull["state"]) == (BUMP_BRANCH, "main", "open")
    assert pull["title"].startswith("meshkit: finance_marts sync sources to orders_core@prod contract ")
    assert "**Validation passed:**" in pull["body"] and "`model.orders_core.public_orders`" in pull["body"]
    proposed = org.github.file_at(org.finance.full_name, BUMP_BRANCH, "models/_mesh_orders_core.yml")
    assert proposed is not None and b"name: discount" in proposed
    assert b"name: discount" not in (org.finance.workspace / "models" / "_mesh_orders_core.yml").read_bytes()
    growth = runs["acme-data/growth"]
    assert growth.returncode == 0 and growth.job_succeeded(f"{DOWN}/consume"), growth.log[-8000:]
    assert org.github.pull_requests(org.growth.full_name) == []  # dbt-loom follows the contract by itself


def test_the_middle_project_publishes_its_provenance_and_its_consumer_reads_through_it(org: Org) -> None:
    before = len(org.github.dispatches)
    published = org.push(org.finance)

    assert published.returncode == 0, published.log[-8000:]
    assert published.job_succeeded(f"{UP}/publish") and published.job_succeeded(f"{DOWN}/consume")
    contract = org.read_json("finance_marts/prod/latest/manifest.json")
    assert sorted(contract["nodes"]) == ["model.finance_marts.revenue_by_status"]  # not orders_core's
    provenance = contract["meshkit"]["provenance"]["model.finance_marts.revenue_by_status"]
    orders = {"project": "orders_core", "node": "model.orders_core.public_orders"}
    assert provenance["columns"] == {
        "orders": [],
        "revenue": [{**orders, "column": "amount"}],
        "status": [{**orders, "column": "status"}],
    }
    assert [d.repository for d in org.github.dispatches[before:]] == ["acme-data/growth"]

    # growth starts reading finance's contract too: init again with both upstreams, and a model reading it.
    growth = org.growth.workspace
    again = run(
        [sys.executable, "-m", "meshkit", "init", "--role", "downstream", "--project-dir", "dbt", "--approach",
         "dbt-loom", "--upstream", "orders_core", "--upstream", "finance_marts", "--registry", REGISTRY,
         "--aws-role", f"{ACCOUNT}/acme-mesh-growth", "--aws-read-role", f"{ACCOUNT}/acme-mesh-read"],
        cwd=growth,
        env={**clean_env(), "PYTHONPATH": str(org.meshkit)},
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    (growth / "dbt" / "models" / "status_revenue.sql").write_text(
        "select status, revenue from {{ ref('finance_marts', 'revenue_by_status') }} where orders > 0\n"
    )
    org.growth.head = commit_all(growth, "status_revenue: read finance_marts")
    org.github.import_branch(org.growth.full_name, growth, "main")
    runs = org.deliver_dispatches(before)

    assert runs["acme-data/growth"].returncode == 0, runs["acme-data/growth"].log[-8000:]
    record = org.read_json("finance_marts/prod/consumers/growth_analytics.json")
    [use] = record["uses"]
    assert [(r["model"], r["columns"]) for r in use["readers"]] == [
        ("model.growth_analytics.status_revenue", ["orders", "revenue", "status"])
    ]


def test_an_upstream_pr_dropping_a_column_gets_one_sticky_comment_naming_both_consumer_repositories(org: Org) -> None:
    branch = org.root / "orders-drop-status"
    shutil.copytree(org.orders.workspace, branch, symlinks=True)
    git(branch, "checkout", "--quiet", "-b", "drop-status")
    public = branch / "transform" / "models" / "marts"
    (public / "public_orders.sql").write_text(
        (public / "public_orders.sql").read_text().replace("customer_id, status, amount", "customer_id, amount")
    )
    (public / "_public.yml").write_text(
        (public / "_public.yml").read_text().replace("      - name: status\n        data_type: text\n", "", 1)
    )
    head = commit_all(branch, "public_orders: drop status")
    event = {
        "action": "opened",
        "number": UPSTREAM_PR,
        "pull_request": {"number": UPSTREAM_PR, "head": {"ref": "drop-status", "sha": head}, "base": {"ref": "main"}},
    }

    checked = org.act(org.orders, "pull_request", event, label="pull_request orders", workspace=branch)

    assert checked.returncode != 0
    assert checked.job_failed(f"{UP}/check") and checked.job_succeeded(f"{UP}/comment"), checked.log[-8000:]
    assert "meshkit build: dbt parse (in transform)" in checked.log and "meshkit build: dbt build" not in checked.log
    assert f"assumed role {ACCOUNT}/acme-mesh-read as session meshkit-check-" in checked.log
    [comment] = org.github.comments(org.orders.full_name, UPSTREAM_PR)
    body = comment["body"]
    assert body.splitlines()[0] == "<!-- meshkit:check:orders_core -->"
    assert "column-removed: `status`" in body
    assert "finance\\_marts (acme-data/finance)" in body and "growth\\_analytics (acme-data/growth)" in body
    # Through finance's published provenance, growth's reader of revenue_by_status.status, with its path.
    assert (
        "status\\_revenue (via orders\\_core.public\\_orders.status → "
        "finance\\_marts.revenue\\_by\\_status.status)" in body
    )
    # What a PR-check job costs: `dbt parse` against the publish job's `dbt build`, both from act's step times.
    [parse] = step_seconds(checked.log, f"{UP}/check", "./.meshkit/.github/actions/build")
    [build] = step_seconds(org.logs["push orders"], f"{UP}/publish", "./.meshkit/.github/actions/build")
    org.timings["pr-check job: dbt parse step"] = parse
    org.timings["publish job: dbt build step"] = build
