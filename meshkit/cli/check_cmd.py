"""meshkit check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meshkit.cli.common import (
    COMMANDS,
    add_config_option,
    add_consumer_age_option,
    add_fallback_option,
    add_format_option,
    add_markdown_output_option,
    add_registry_options,
    fallback_envs,
    iso_date,
    registry_from,
    write_markdown_output,
)
from meshkit.mesh.check import check
from meshkit.mesh.config import configured_fallback, find_mesh_config
from meshkit.mesh.dbt_project import project_name_from
from meshkit.report.check import check_markdown, render_check
from meshkit.report.render import FORMATS_REPORT


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "check",
        help=COMMANDS["check"].summary,
        description=(
            "Compare a new build's public models (target/manifest.json) with the registry's latest contract "
            "for --env, classify every change with dbt's contract rules plus access, relation and "
            "latest_version, and name each downstream project and model that a breaking change reaches, "
            "from the consumer records downstreams write with `meshkit validate --record-consumer`. "
            "Removing a model or version past its deprecation_date is a planned removal, not an error."
        ),
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="dbt project folder (default: .)")
    parser.add_argument("--project", help="expected dbt project name (default: from dbt_project.yml)")
    parser.add_argument(
        "--manifest",
        type=Path,
        metavar="PATH",
        help="the new build's manifest (default: PROJECT_DIR/target/manifest.json)",
    )
    add_registry_options(parser)
    add_fallback_option(parser)
    add_config_option(parser)
    parser.add_argument("--warn-only", action="store_true", help="report breaking changes but exit 0")
    add_consumer_age_option(parser)
    parser.add_argument("--today", type=iso_date, help=argparse.SUPPRESS)
    add_format_option(parser, FORMATS_REPORT)
    add_markdown_output_option(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    project_dir: Path = args.project_dir
    project = args.project or project_name_from(project_dir)
    given = fallback_envs(args.fallback_env, ())
    fallback = given or configured_fallback(find_mesh_config(args.config, Path.cwd()), project)
    report = check(
        registry=registry_from(args),
        project_dir=project_dir,
        project=project,
        env=args.env,
        fallback=fallback,
        manifest_path=args.manifest,
        today=args.today,
        warn_only=args.warn_only,
        consumer_max_age_days=args.consumer_max_age_days,
    )
    sys.stdout.write(render_check(report, args.format, project_dir=project_dir))
    write_markdown_output(args.markdown_output, lambda: check_markdown(report))
    return report.exit_code
