"""meshkit publish."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meshkit.cli.common import add_format_option, add_registry_options, registry_from
from meshkit.errors import EXIT_OK, InputError
from meshkit.gitinfo import current_commit
from meshkit.publish import PublishRequest, publish
from meshkit.report import FORMATS_BASIC, render_publish


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "publish",
        help="publish a project's public contract to the registry",
        description=(
            "Publish the public models of a built dbt project (target/manifest.json) to "
            "{registry}/{project}/{env}/latest/ and history/{timestamp}/, as a contract manifest "
            "with SQL stripped. An unchanged contract is not republished."
        ),
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="dbt project folder (default: .)")
    parser.add_argument("--project", help="expected dbt project name (default: from dbt_project.yml)")
    add_registry_options(parser)
    parser.add_argument("--force", action="store_true", help="add a history entry even if the contract is unchanged")
    parser.add_argument("--full", action="store_true", help="publish the unstripped manifest (with SQL) instead")
    parser.add_argument("--git-commit", help="commit to record (default: $GITHUB_SHA or git rev-parse HEAD)")
    add_format_option(parser, FORMATS_BASIC)
    parser.set_defaults(run=run)
    return parser


def project_name_from(project_dir: Path) -> str:
    import yaml

    path = project_dir / "dbt_project.yml"
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{project_dir} is not a dbt project (no dbt_project.yml): pass --project-dir") from None
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise InputError(f"{path} has no project name: pass --project")
    return name


def run(args: argparse.Namespace) -> int:
    project_dir: Path = args.project_dir
    request = PublishRequest(
        project_dir=project_dir,
        project=args.project or project_name_from(project_dir),
        env=args.env,
        full=args.full,
        force=args.force,
        git_commit=args.git_commit or current_commit(project_dir),
    )
    result = publish(request, registry_from(args))
    sys.stdout.write(render_publish(result, args.format))
    return EXIT_OK
