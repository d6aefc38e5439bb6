"""meshkit publish."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from meshkit.cli.common import (
    COMMANDS,
    add_config_option,
    add_fallback_option,
    add_format_option,
    add_registry_options,
    fallback_envs,
    recording_repository,
    registry_from,
)
from meshkit.contract.dates import utc_today
from meshkit.contract.manifest import load_manifest, require_project
from meshkit.contract.names import check_env
from meshkit.errors import EXIT_OK, InputError
from meshkit.github.gitinfo import current_commit
from meshkit.mesh.config import configured_fallback, find_mesh_config
from meshkit.mesh.dbt_project import project_name_from
from meshkit.mesh.publish import PublishRequest, publish
from meshkit.report.render import FORMATS_BASIC, PUBLISH_SCHEMA, render_publish, to_json


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "publish",
        help=COMMANDS["publish"].summary,
        description=(
            "Publish the public models of a built dbt project (target/manifest.json) to "
            "{registry}/{project}/{env}/latest/ and history/{timestamp}/, as a contract manifest "
            "with SQL stripped. An unchanged contract is not republished. A project that also consumes "
            "records, beside the public nodes, which upstream public columns each public column derives "
            "from (its provenance), read from the contracts of its upstreams in the registry, so a change "
            "upstream reaches its own consumers."
        ),
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="dbt project folder (default: .)")
    parser.add_argument("--project", help="expected dbt project name (default: from dbt_project.yml)")
    add_registry_options(parser)
    add_fallback_option(parser)
    add_config_option(parser)
    parser.add_argument("--force", action="store_true", help="add a history entry even if the contract is unchanged")
    parser.add_argument("--full", action="store_true", help="publish the unstripped manifest (with SQL) instead")
    parser.add_argument(
        "--consumer",
        action="store_true",
        help="publish this downstream's consumer records ({upstream}/{env}/consumers/{project}.json) "
        "instead of a contract: what it reads from each upstream, via what, from which models",
    )
    parser.add_argument("--git-commit", help="commit to record (default: $GITHUB_SHA or git rev-parse HEAD)")
    add_format_option(parser, FORMATS_BASIC)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.consumer:
        return _run_consumer(args)
    project_dir: Path = args.project_dir
    project = args.project or project_name_from(project_dir)
    request = PublishRequest(
        project_dir=project_dir,
        project=project,
        env=args.env,
        full=args.full,
        force=args.force,
        git_commit=args.git_commit or current_commit(project_dir),
        fallback=_fallback(args, project),
    )
    result = publish(request, registry_from(args))
    sys.stdout.write(render_publish(result, args.format))
    return EXIT_OK


def _fallback(args: argparse.Namespace, project: str) -> tuple[str, ...]:
    given = fallback_envs(args.fallback_env, ())
    return given or configured_fallback(find_mesh_config(args.config, Path.cwd()), project)


def _run_consumer(args: argparse.Namespace) -> int:
    if args.full or args.force:
        raise InputError("--consumer records what a project reads; it takes no --full or --force")
    project_dir: Path = args.project_dir
    project = args.project or project_name_from(project_dir)
    env = check_env(args.env)
    registry = registry_from(args)
    manifest = load_manifest(
        project_dir / "target" / "manifest.json", build_hint=f"run `dbt build` (or `dbt parse`) in {project_dir} first"
    )
    require_project(manifest, project)
    from meshkit.mesh.recording import Recording, validate_and_record  # only consumers pay for validation

    recording = Recording(
        datetime.now(timezone.utc), args.git_commit or current_commit(project_dir), recording_repository(args.environ)
    )
    report, keys = validate_and_record(
        registry,
        [manifest],
        env=env,
        today=utc_today(),
        recording=recording,
        fallback_for=lambda _: _fallback(args, project),
    )
    uses = sum(1 for dep in report.projects[0].dependencies if dep.contract_id)
    if args.format == "json":
        sys.stdout.write(
            to_json(
                "publish",
                {
                    "schema": PUBLISH_SCHEMA,
                    "consumer": project,
                    "env": env,
                    "registry": registry.url,
                    "keys": keys,
                    "uses": uses,
                },
            )
        )
    else:
        lines = [f"recorded {project} as a consumer in {registry.url}/{key}" for key in keys]
        sys.stdout.write("\n".join(lines or [f"{project} reads no public model of any upstream in {env}"]) + "\n")
    return EXIT_OK
