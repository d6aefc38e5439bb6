"""meshkit init."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meshkit.cli.common import COMMANDS, add_format_option
from meshkit.errors import EXIT_FINDINGS, EXIT_OK
from meshkit.report.render import FORMATS_BASIC, init_json


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "init",
        help=COMMANDS["init"].summary,
        description=(
            "Set a repository up for the mesh, run from its root: write meshkit.yml (this project's consumers "
            "or upstreams, merged into the file when there is one), the caller workflow "
            ".github/workflows/meshkit-<project>.yml calling meshkit's reusable workflows pinned to the meshkit "
            "commit this command runs from, and for a dbt-loom downstream a dbt_loom.config.yml reading the "
            "registry. Review the diff and commit it. Rerun it to change a setting or to upgrade meshkit."
        ),
    )
    parser.add_argument(
        "--role",
        required=True,
        choices=("upstream", "downstream", "both"),
        help="upstream publishes a contract, downstream reads upstreams, both does both",
    )
    parser.add_argument("--project-dir", default=".", help="the dbt project folder in the repository (default: .)")
    parser.add_argument("--project", help="dbt project name (default: the name in dbt_project.yml)")
    parser.add_argument(
        "--registry",
        required=True,
        metavar="URL",
        help="the registry: s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX (or a folder on a "
        "self-hosted runner); the cloud's OIDC login is written for it",
    )
    parser.add_argument("--endpoint-url", default="", metavar="URL", help="S3-compatible endpoint (MinIO, R2, ...)")
    parser.add_argument("--env", default="prod", help="registry environment (default: prod)")
    parser.add_argument(
        "--approach",
        default="sources",
        choices=("sources", "dbt-loom"),
        help="downstream: read upstreams through generated sources or dbt-loom (default: sources)",
    )
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME[@ENV]",
        help="downstream: an upstream project this one reads (repeatable)",
    )
    parser.add_argument(
        "--consumer",
        action="append",
        default=[],
        metavar="OWNER/REPO",
        help="upstream: a repository to notify after a publish (repeatable)",
    )
    parser.add_argument(
        "--dbt-requirements",
        metavar="PATH",
        help="requirements file of the dbt stack the workflow installs, e.g. dbt-postgres==1.11.0 "
        "(default: requirements-dbt.txt in the project or the root, if there is one, "
        "else the runner's dbt)",
    )
    parser.add_argument(
        "--profiles-dir",
        default="",
        metavar="DIR",
        help="folder holding profiles.yml (default: dbt's own lookup, the project folder first)",
    )
    parser.add_argument("--aws-role", default="", metavar="ARN", help="IAM role the workflow assumes through OIDC")
    parser.add_argument(
        "--aws-read-role", default="", metavar="ARN", help="read-only IAM role for pull requests (default: --aws-role)"
    )
    parser.add_argument("--aws-region", default="us-east-1", help="region of the registry bucket (default: us-east-1)")
    parser.add_argument(
        "--gcp-workload-identity-provider",
        default="",
        metavar="NAME",
        help="gs:// registry: the Workload Identity Federation provider, "
        "projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER",
    )
    parser.add_argument(
        "--gcp-service-account", default="", metavar="EMAIL", help="gs:// registry: the service account that writes"
    )
    parser.add_argument(
        "--gcp-read-service-account",
        default="",
        metavar="EMAIL",
        help="gs:// registry: the read-only service account for pull requests (default: --gcp-service-account)",
    )
    parser.add_argument(
        "--gcp-project", default="", metavar="ID", help="gs:// registry: the project dbt-loom's GCS client bills to"
    )
    parser.add_argument(
        "--azure-client-id",
        default="",
        metavar="GUID",
        help="az:// registry: the application azure/login uses to write",
    )
    parser.add_argument(
        "--azure-read-client-id",
        default="",
        metavar="GUID",
        help="az:// registry: the read-only application for pull requests (default: --azure-client-id)",
    )
    parser.add_argument("--azure-tenant-id", default="", metavar="GUID", help="az:// registry: the Entra tenant")
    parser.add_argument(
        "--azure-storage-account",
        default="",
        metavar="NAME",
        help="az:// registry: the storage account (taken from an abfss://CONTAINER@ACCOUNT.dfs.core.windows.net URL)",
    )
    parser.add_argument(
        "--default-branch",
        metavar="BRANCH",
        help="the branch that publishes and records (default: origin's HEAD, else the current branch)",
    )
    parser.add_argument(
        "--meshkit-repository",
        metavar="OWNER/REPO",
        help="where meshkit's workflows live (default: origin of the running meshkit checkout)",
    )
    parser.add_argument(
        "--meshkit-ref",
        metavar="SHA",
        help="meshkit commit to pin (default: the commit of the running meshkit checkout)",
    )
    parser.add_argument(
        "--workflow",
        metavar="PATH",
        help="the caller workflow to write (default: .github/workflows/meshkit-<project>.yml)",
    )
    parser.add_argument(
        "--config", default="meshkit.yml", metavar="PATH", help="the mesh config (default: meshkit.yml)"
    )
    parser.add_argument(
        "--pages",
        action="store_true",
        help="upstream: after each publish, deploy the mesh explorer (meshkit catalog of the whole registry) to "
        "this repository's GitHub Pages, through meshkit-explorer.yml (Settings → Pages → Source: GitHub Actions)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a file differs from what init would write (a CI drift guard)",
    )
    add_format_option(parser, FORMATS_BASIC)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from meshkit.github.init import InitRequest, apply_init, plan_init

    root = Path.cwd()
    plan = plan_init(
        InitRequest(
            root=root,
            role=args.role,
            project_dir=args.project_dir,
            registry=args.registry,
            project=args.project,
            env=args.env,
            endpoint_url=args.endpoint_url,
            approach=args.approach,
            upstreams=tuple(args.upstream),
            consumers=tuple(args.consumer),
            dbt_requirements=args.dbt_requirements,
            profiles_dir=args.profiles_dir,
            aws_role=args.aws_role,
            aws_read_role=args.aws_read_role,
            aws_region=args.aws_region,
            gcp_workload_identity_provider=args.gcp_workload_identity_provider,
            gcp_service_account=args.gcp_service_account,
            gcp_read_service_account=args.gcp_read_service_account,
            gcp_project=args.gcp_project,
            azure_client_id=args.azure_client_id,
            azure_read_client_id=args.azure_read_client_id,
            azure_tenant_id=args.azure_tenant_id,
            azure_storage_account=args.azure_storage_account,
            default_branch=args.default_branch,
            meshkit_repository=args.meshkit_repository,
            meshkit_ref=args.meshkit_ref,
            workflow=args.workflow,
            config=args.config,
            pages=args.pages,
        )
    )
    if not args.check:
        apply_init(plan, root)
    if args.format == "json":
        sys.stdout.write(init_json(plan, check=args.check))
    else:
        verbs = {
            "created": "would create" if args.check else "created",
            "updated": "would update" if args.check else "updated",
            "unchanged": "unchanged",
            "kept": "kept (edited by hand)",
        }
        lines = [f"meshkit init: {plan.project} as {plan.role}, pinned to {plan.meshkit_repository}@{plan.meshkit_ref}"]
        lines += [f"  {verbs[f.status]:<13} {f.path}" for f in plan.files]
        lines += [f"  note: {note}" for note in plan.notes]
        if plan.changed and not args.check:
            lines.append("Review the diff (git diff), commit it, and set the secrets the workflow's header names.")
        sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FINDINGS if args.check and plan.changed else EXIT_OK
