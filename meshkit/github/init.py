"""meshkit init: the files that make a repository part of the mesh, for one project and role.

It writes three kinds of file, and nothing else:
- meshkit.yml, with the project's consumers (upstream role) or upstreams (downstream role),
  merged into the file when there is one;
- the caller workflow, a few lines that call meshkit's reusable workflows pinned to the meshkit
  commit that is running, so an upgrade is a rerun of `meshkit init` and a reviewed diff;
- for a dbt-loom downstream, a dbt_loom.config.yml that reads the registry (kept when edited).

Every value that reaches a generated file is checked against a strict pattern first, because
the workflow is YAML that GitHub will run: nothing the user types may change its structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshkit import __version__
from meshkit.contract.names import check_env, check_project, check_repository
from meshkit.errors import InputError
from meshkit.files import SMALL_FILE_LIMIT, is_regular_file, read_regular, write_atomically
from meshkit.github.gitinfo import git_output
from meshkit.mesh.config import CONFIG_FILE, VERSION, MeshConfig, ProjectConfig, UpstreamRef, load_mesh_config
from meshkit.mesh.dbt_project import project_name_from
from meshkit.report.templating import yaml_scalar

ROLES = ("upstream", "downstream", "both")
APPROACHES = ("sources", "dbt-loom")
LOOM_CONFIG = "dbt_loom.config.yml"
LOOM_MARK = "# Written by `meshkit init`"
DBT_REQUIREMENTS = "requirements-dbt.txt"

_PATH = re.compile(r"(?:[A-Za-z0-9_.][A-Za-z0-9._-]*)(?:/[A-Za-z0-9_.][A-Za-z0-9._-]*)*")
_S3 = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:/[A-Za-z0-9._-]+)*/?")
_GS = re.compile(r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](?:/[A-Za-z0-9._-]+)*/?")
_AZ = re.compile(
    r"(?:az://[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}|abfss?://[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}"
    r"@[a-z0-9]{3,24}\.dfs\.core\.windows\.net)(?:/[A-Za-z0-9._-]+)*/?"
)
_ABFS_ACCOUNT = re.compile(r"abfss?://[^@]+@([a-z0-9]{3,24})\.dfs\.core\.windows\.net.*")
_WIF_PROVIDER = re.compile(
    r"projects/[0-9]{1,20}/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32}"
)
_SERVICE_ACCOUNT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com")
_GCP_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STORAGE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_LOCAL_REGISTRY = re.compile(r"/?(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+/?")
_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]")
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}")
_SHA = re.compile(r"[0-9a-f]{40}")
_GITHUB_REMOTE = re.compile(
    r"(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?"
)


def _checked(pattern: re.Pattern[str], value: str, what: str, example: str) -> str:
    parts = value.split("/")
    if not pattern.fullmatch(value) or ".." in parts or (len(parts) > 1 and "." in parts):
        raise InputError(f"{what} {value!r} is not allowed: {example}")
    return value


def check_relative_path(value: str, what: str) -> str:
    """A repository path: relative, no '..', plain characters (it is written into YAML and globs)."""
    if value in ("", "."):
        return "."
    return _checked(
        _PATH, value.rstrip("/"), what, "use a path inside the repository (letters, digits, '.', '_', '-', '/')"
    )


@dataclass(frozen=True)
class InitRequest:
    root: Path
    role: str
    project_dir: str
    registry: str
    project: str | None = None
    env: str = "prod"
    endpoint_url: str = ""
    approach: str = "sources"
    upstreams: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    dbt_requirements: str | None = None
    profiles_dir: str = ""
    aws_role: str = ""
    aws_read_role: str = ""
    aws_region: str = "us-east-1"
    gcp_workload_identity_provider: str = ""
    gcp_service_account: str = ""
    gcp_read_service_account: str = ""
    gcp_project: str = ""
    azure_client_id: str = ""
    azure_read_client_id: str = ""
    azure_tenant_id: str = ""
    azure_storage_account: str = ""
    default_branch: str | None = None
    meshkit_repository: str | None = None
    meshkit_ref: str | None = None
    workflow: str | None = None
    config: str = CONFIG_FILE
    pages: bool = False  # deploy the mesh explorer to GitHub Pages after each publish

    @property
    def publishes(self) -> bool:
        return self.role in ("upstream", "both")

    @property
    def consumes(self) -> bool:
        return self.role in ("downstream", "both")


@dataclass(frozen=True)
class PlannedFile:
    path: str  # relative to the repository root
    content: bytes
    status: str  # created | updated | unchanged | kept


@dataclass
class InitPlan:
    project: str
    role: str
    meshkit_repository: str
    meshkit_ref: str
    files: list[PlannedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[PlannedFile]:
        return [f for f in self.files if f.status in ("created", "updated")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "role": self.role,
            "meshkit_repository": self.meshkit_repository,
            "meshkit_ref": self.meshkit_ref,
            "notes": self.notes,
            "files": [{"path": f.path, "status": f.status} for f in self.files],
        }


def running_meshkit() -> tuple[str | None, str | None]:
    """The repository and commit this meshkit comes from: its git checkout's, or what the wheel's build hook recorded.

    A wheel built from a clean GitHub checkout holds meshkit/_origin.json (setup.py writes it), so
    `meshkit init` straight after `pip install` pins itself with no flags."""
    source = Path(__file__).resolve().parents[2]
    commit = git_output(source, "rev-parse", "HEAD") if (source / ".git").exists() else None
    remote = (git_output(source, "remote", "get-url", "origin") or "") if commit else ""
    found = _GITHUB_REMOTE.fullmatch(remote)
    if commit and _SHA.fullmatch(commit):
        return (found.group(1) if found else None), commit
    return _recorded_origin()


def _recorded_origin() -> tuple[str | None, str | None]:
    import json
    from importlib.resources import files

    try:
        recorded = json.loads((files("meshkit") / "_origin.json").read_text())
    except (OSError, ValueError):
        return None, None
    repository, commit = recorded.get("repository"), recorded.get("commit")
    valid_repository = isinstance(repository, str) and _GITHUB_REMOTE.fullmatch(f"https://github.com/{repository}")
    valid_commit = isinstance(commit, str) and _SHA.fullmatch(commit)
    return (repository if valid_repository else None), (commit if valid_commit else None)


def _meshkit_pin(request: InitRequest) -> tuple[str, str]:
    repository, commit = running_meshkit()
    repository = request.meshkit_repository or repository
    commit = request.meshkit_ref or commit
    if not repository:
        raise InputError(
            "cannot tell which GitHub repository this meshkit comes from: pass --meshkit-repository OWNER/REPO"
        )
    if not commit:
        raise InputError(
            "this meshkit is neither a git checkout nor a wheel that recorded its commit, so its commit is unknown: "
            "pass --meshkit-ref with the full commit SHA of the meshkit release to pin"
        )
    check_repository(repository, what="--meshkit-repository")
    if not _SHA.fullmatch(commit):
        raise InputError(
            f"--meshkit-ref {commit!r} is not a full commit SHA (40 hex digits): pin a commit, not a branch"
        )
    return repository, commit


def _default_branch(root: Path, given: str | None) -> str:
    if given:
        return _checked(_BRANCH, given, "--default-branch", "use a branch name")
    remote_head = git_output(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD") or ""
    if remote_head.startswith("origin/"):
        return remote_head.removeprefix("origin/")
    current = git_output(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    return current if current and _BRANCH.fullmatch(current) else "main"


def _registry(value: str) -> str:
    cloud = value.partition("://")[0]
    pattern = {"s3": _S3, "gs": _GS, "az": _AZ, "abfs": _AZ, "abfss": _AZ}.get(cloud, _LOCAL_REGISTRY)
    return _checked(
        pattern,
        value,
        "--registry",
        "use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX (or a folder on a self-hosted runner)",
    )


@dataclass(frozen=True)
class CloudLogin:
    """The OIDC login of the registry's cloud, as the caller passes it to meshkit's reusable workflows."""

    inputs: dict[str, str]  # reusable workflow input -> value, in the order written
    settings: list[str]  # what to set up in the cloud, for the header comment


def _cloud_login(request: InitRequest, registry: str) -> CloudLogin:
    """Every credential option checked against its pattern, and refused for a registry of another cloud."""
    cloud = registry.partition("://")[0] if "://" in registry else "local"
    gcp = {
        "gcp-workload-identity-provider": (request.gcp_workload_identity_provider, _WIF_PROVIDER, "a WIF provider"),
        "gcp-service-account": (request.gcp_service_account, _SERVICE_ACCOUNT, "a service account email"),
        "gcp-read-service-account": (request.gcp_read_service_account, _SERVICE_ACCOUNT, "a service account email"),
        "gcp-project": (request.gcp_project, _GCP_PROJECT, "a Google Cloud project id"),
    }
    account = request.azure_storage_account
    found = _ABFS_ACCOUNT.fullmatch(registry)
    if found and not account:
        account = found.group(1)
    azure = {
        "azure-client-id": (request.azure_client_id, _GUID, "a client id (GUID)"),
        "azure-read-client-id": (request.azure_read_client_id, _GUID, "a client id (GUID)"),
        "azure-tenant-id": (request.azure_tenant_id, _GUID, "a tenant id (GUID)"),
        "azure-storage-account": (account, _STORAGE_ACCOUNT, "a storage account name (3-24 lowercase letters, digits)"),
    }
    for options, own in ((gcp, "gs"), (azure, "az")):
        for name, (value, pattern, what) in options.items():
            if not value:
                continue
            if cloud not in ((own,) if own == "gs" else ("az", "abfs", "abfss")):
                raise InputError(f"--{name} is only for {own}:// registries, not {registry}")
            _checked(pattern, value, f"--{name}", f"use {what}")
    inputs: dict[str, str] = {}
    settings: list[str] = []
    if cloud == "gs":
        inputs = {name: value for name, (value, _, _) in gcp.items() if value}
        if request.gcp_service_account and not request.gcp_workload_identity_provider:
            raise InputError("--gcp-service-account needs --gcp-workload-identity-provider (the OIDC login)")
        settings = [
            "a Workload Identity Federation pool and provider trusting GitHub's OIDC issuer, and service",
            "accounts with roles/storage.objectUser (write) and roles/storage.objectViewer (read) on the bucket",
        ]
    elif cloud in ("az", "abfs", "abfss"):
        inputs = {name: value for name, (value, _, _) in azure.items() if value}
        if (request.azure_client_id or request.azure_read_client_id) and not request.azure_tenant_id:
            raise InputError("--azure-client-id needs --azure-tenant-id (the Entra tenant azure/login signs in to)")
        if not account:
            raise InputError(
                "an az:// registry needs its storage account: pass --azure-storage-account NAME "
                "(or use abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX)"
            )
        settings = [
            "Entra applications with federated credentials for this repository, with the roles Storage Blob",
            "Data Contributor (write) and Storage Blob Data Reader (read) on the container",
        ]
    return CloudLogin(inputs, settings)


def _dbt_requirements(request: InitRequest, project_dir: str) -> tuple[str, list[str]]:
    if request.dbt_requirements is not None:
        path = check_relative_path(request.dbt_requirements, "--dbt-requirements") if request.dbt_requirements else ""
        if path and not is_regular_file(request.root / path):
            raise InputError(
                f"--dbt-requirements {path} does not exist: write the dbt stack there first, "
                "e.g. dbt-postgres==1.11.0 and dbt-loom==0.9.6, one per line"
            )
        return path, []
    for candidate in (
        f"{project_dir}/{DBT_REQUIREMENTS}" if project_dir != "." else DBT_REQUIREMENTS,
        DBT_REQUIREMENTS,
    ):
        if is_regular_file(request.root / candidate):
            return candidate, []
    return "", [
        f"no {DBT_REQUIREMENTS} found: the workflow uses the runner's own dbt; to install your dbt stack, "
        f"write it in a requirements file (e.g. dbt-postgres==1.11.0) and pass --dbt-requirements"
    ]


def _merged_config(request: InitRequest, project: str, upstreams: tuple[str, ...], consumers: tuple[str, ...]) -> bytes:
    path = request.root / request.config
    config = load_mesh_config(path) if is_regular_file(path) else MeshConfig(path, {})
    old = config.projects.get(project, ProjectConfig())
    projects = dict(config.projects)
    kept_upstreams = upstreams if request.consumes else old.upstreams
    reads = {text.split("@")[0] for text in kept_upstreams}
    projects[project] = ProjectConfig(
        consumers if request.publishes and consumers else old.consumers,
        kept_upstreams,
        {name: tables for name, tables in old.include.items() if name in reads},
    )
    return render_mesh_config(projects)


def render_mesh_config(projects: dict[str, ProjectConfig]) -> bytes:
    lines = [
        "# The mesh as this repository sees it (read by meshkit dispatch and meshkit sync).",
        "#   consumers: repositories notified after a project publishes (OWNER/REPO, or self)",
        "#   upstreams: projects whose contracts a project reads (NAME, or NAME@ENV to pin an env;",
        "#              {upstream: NAME, include: [TABLE, ...]} adds tables its source() calls do not name)",
        f"version: {VERSION}",
        "projects:" if projects else "projects: {}",
    ]
    for name in sorted(projects):
        entry = projects[name]
        lines.append(f"  {name}:" if entry.consumers or entry.upstreams else f"  {name}: {{}}")
        if entry.consumers:
            lines.append("    consumers:")
            lines += [f"      - {yaml_scalar(value)}" for value in entry.consumers]
        if entry.upstreams:
            lines.append("    upstreams:")
        for text in entry.upstreams:
            tables = entry.include.get(text.split("@")[0])
            if not tables:  # the short form, unless a hand-written include list must be kept
                lines.append(f"      - {yaml_scalar(text)}")
                continue
            lines.append(f"      - upstream: {yaml_scalar(text)}")
            lines.append(f"        include: [{', '.join(yaml_scalar(table) for table in tables)}]")
    return ("\n".join(lines) + "\n").encode()


def _planned(root: Path, path: str, content: bytes, *, keep_edited: bool = False) -> PlannedFile:
    target = root / path
    try:
        current = read_regular(target, SMALL_FILE_LIMIT)
    except (FileNotFoundError, NotADirectoryError):
        return PlannedFile(path, content, "created")
    except OSError as exc:
        raise InputError(f"cannot read {target}: {exc.strerror}") from None
    if current == content:
        return PlannedFile(path, content, "unchanged")
    if keep_edited and LOOM_MARK.encode() not in current:
        return PlannedFile(path, current, "kept")
    return PlannedFile(path, content, "updated")


def plan_init(request: InitRequest) -> InitPlan:
    """Check every input, then render every file; nothing is written here."""
    from meshkit.report.templating import init_env

    if request.role not in ROLES:
        raise InputError(f"--role {request.role!r} is not one of {', '.join(ROLES)}")
    is_upstream, is_downstream = request.publishes, request.consumes
    if request.pages and not is_upstream:
        raise InputError("--pages deploys the explorer after a publish: it needs --role upstream or both")
    project_dir = check_relative_path(request.project_dir, "--project-dir")
    if not is_regular_file(request.root / project_dir / "dbt_project.yml"):
        raise InputError(
            f"{project_dir} is not a dbt project (no dbt_project.yml): run meshkit init from the "
            "repository's root and pass --project-dir"
        )
    project = check_project(request.project or project_name_from(request.root / project_dir))
    env = check_env(request.env)
    registry = _registry(request.registry)
    endpoint_url = (
        _checked(_URL, request.endpoint_url, "--endpoint-url", "use http(s)://HOST[:PORT][/PATH]")
        if request.endpoint_url
        else ""
    )
    if request.approach not in APPROACHES:
        raise InputError(f"--approach {request.approach!r} is not one of {', '.join(APPROACHES)}")
    upstreams = tuple(request.upstreams)
    parsed_upstreams = [UpstreamRef.parse(text, env) for text in upstreams]
    if is_downstream and not upstreams:
        raise InputError(
            "a downstream reads at least one upstream: pass --upstream NAME (repeatable, NAME@ENV to pin an env)"
        )
    if not is_downstream and upstreams:
        raise InputError("--upstream is for --role downstream or both")
    consumers = tuple(check_repository(c, what="--consumer") for c in request.consumers)
    if not is_upstream and consumers:
        raise InputError("--consumer is for --role upstream or both")
    profiles_dir = check_relative_path(request.profiles_dir, "--profiles-dir") if request.profiles_dir else ""
    if profiles_dir and not is_regular_file(request.root / profiles_dir / "profiles.yml"):
        raise InputError(f"--profiles-dir {profiles_dir} has no profiles.yml")
    for value, what in ((request.aws_role, "--aws-role"), (request.aws_read_role, "--aws-read-role")):
        if value:
            _checked(_ROLE_ARN, value, what, "use an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME")
    _checked(_REGION, request.aws_region, "--aws-region", "use an AWS region name, e.g. eu-west-1")
    if (request.aws_role or request.aws_read_role) and not registry.startswith("s3://"):
        raise InputError(f"--aws-role is only for s3:// registries, not {registry}")
    login = _cloud_login(request, registry)
    dbt_requirements, notes = _dbt_requirements(request, project_dir)
    branch = _default_branch(request.root, request.default_branch)
    meshkit_repository, meshkit_ref = _meshkit_pin(request)
    workflow = check_relative_path(request.workflow or f".github/workflows/meshkit-{project}.yml", "--workflow")
    config = check_relative_path(request.config, "--config")

    paths: list[str] = []
    if project_dir != ".":
        paths = [f"{project_dir}/**", config, workflow]
        if dbt_requirements and not dbt_requirements.startswith(f"{project_dir}/"):
            paths.append(dbt_requirements)
    roles_text = {
        "upstream": "it publishes its public contract",
        "downstream": f"it reads {', '.join(u.project for u in parsed_upstreams)} through "
        + ("generated sources" if request.approach == "sources" else "dbt-loom"),
        "both": f"it publishes its public contract and reads {', '.join(u.project for u in parsed_upstreams)}",
    }
    caller = (
        init_env()
        .get_template("init/caller.yml.j2")
        .render(
            project=project,
            roles_text=roles_text[request.role],
            version=__version__,
            meshkit_repository=meshkit_repository,
            meshkit_ref=meshkit_ref,
            upstream=is_upstream,
            downstream=is_downstream,
            paths=paths,
            default_branch=branch,
            project_dir=project_dir,
            registry=registry,
            endpoint_url=endpoint_url,
            env=env,
            dbt_requirements=dbt_requirements,
            profiles_dir=profiles_dir,
            approach=request.approach,
            aws_role=request.aws_role,
            aws_read_role=request.aws_read_role,
            aws_region=request.aws_region,
            cloud_inputs=login.inputs,
            cloud_settings=login.settings,
            pages=request.pages,
        )
    )
    _self_check(caller, workflow, meshkit_repository, meshkit_ref)

    plan = InitPlan(project, request.role, meshkit_repository, meshkit_ref, notes=notes)
    plan.files.append(_planned(request.root, config, _merged_config(request, project, upstreams, consumers)))
    plan.files.append(_planned(request.root, workflow, caller.encode()))
    if is_downstream and request.approach == "dbt-loom":
        loom = (
            init_env()
            .get_template("init/dbt_loom.config.yml.j2")
            .render(
                project=project,
                registry=registry,
                cloud=registry.partition("://")[0] if "://" in registry else "local",
                upstreams=[
                    {"project": u.project, "env_text": "${MESHKIT_ENV}" if "@" not in text else u.env}
                    for u, text in zip(parsed_upstreams, upstreams, strict=True)
                ],
            )
        )
        loom_path = LOOM_CONFIG if project_dir == "." else f"{project_dir}/{LOOM_CONFIG}"
        plan.files.append(_planned(request.root, loom_path, loom.encode(), keep_edited=True))
    if is_upstream and not consumers and not is_regular_file(request.root / config):
        plan.notes.append("no --consumer given: nobody is notified after a publish until meshkit.yml lists consumers")
    return plan


def _self_check(text: str, workflow: str, repository: str, ref: str) -> None:
    """The rendered workflow parses, and pins exactly the meshkit commit meant (a guard on the template)."""
    import yaml

    document = yaml.safe_load(text)
    for job in document["jobs"].values():
        if not job["uses"].startswith(f"{repository}/.github/workflows/") or not job["uses"].endswith(f"@{ref}"):
            raise AssertionError(f"{workflow}: job calls {job['uses']!r}")
        if job["with"]["meshkit-ref"] != ref or job["with"]["meshkit-repository"] != repository:
            raise AssertionError(f"{workflow}: meshkit-ref or meshkit-repository differs from the uses: pin")


def apply_init(plan: InitPlan, root: Path) -> None:
    for planned in plan.changed:
        write_atomically(root / planned.path, planned.content)
