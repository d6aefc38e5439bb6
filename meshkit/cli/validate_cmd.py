"""meshkit validate."""

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
    add_markdown_output_option,
    add_registry_options,
    fallback_envs,
    iso_date,
    recording_repository,
    registry_from,
    write_markdown_output,
)
from meshkit.contract.dates import utc_today
from meshkit.contract.names import check_env
from meshkit.errors import InputError
from meshkit.github.gitinfo import current_commit
from meshkit.mesh.config import configured_fallback, find_mesh_config
from meshkit.mesh.recording import Recording, validate_and_record
from meshkit.mesh.validate import load_targets
from meshkit.report.render import FORMATS_REPORT, render_validate, validate_markdown


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "validate",
        help=COMMANDS["validate"].summary,
        description=(
            "Every cross-project parent in a downstream manifest's parent_map (model.<up>.* from "
            "dbt-loom, source.<down>.<up>.* from meshkit sync) must be a public model of the "
            "upstream's latest contract. Warns about deprecated or soon-deprecated versions. "
            "With --record-consumer (run it on the main branch), also records in the registry what each "
            "validated project consumes, which `meshkit check` uses to name the consumers a change breaks."
        ),
    )
    which = parser.add_argument_group("what to validate (at least one)")
    which.add_argument(
        "--all",
        action="store_true",
        dest="all_projects",
        help="every dbt project directly under --root that has target/manifest.json",
    )
    which.add_argument(
        "--project", action="append", default=[], metavar="NAME", help="the project in --root/NAME (repeatable)"
    )
    which.add_argument(
        "--manifest",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a downstream manifest.json (repeatable)",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="folder holding the dbt projects (default: .)")
    add_registry_options(parser)
    add_fallback_option(parser)
    add_config_option(parser)
    parser.add_argument(
        "--deprecation-window-days",
        type=int,
        default=30,
        metavar="N",
        help="warn when a consumed version is deprecated within N days (default: 30)",
    )
    parser.add_argument(
        "--record-consumer",
        action="store_true",
        help="write {upstream}/{env}/consumers/{project}.json for each upstream a project reads",
    )
    parser.add_argument("--git-commit", help="commit to record (default: $GITHUB_SHA or git rev-parse HEAD)")
    parser.add_argument("--today", type=iso_date, help=argparse.SUPPRESS)
    add_format_option(parser, FORMATS_REPORT)
    add_markdown_output_option(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not (args.all_projects or args.project or args.manifest):
        raise InputError("nothing to validate: pass --all, --project NAME or --manifest PATH")
    env = check_env(args.env)
    given = fallback_envs(args.fallback_env, ())
    config = None if given else find_mesh_config(args.config, Path.cwd())
    registry = registry_from(args)
    manifests, skipped = load_targets(
        root=args.root, manifest_paths=args.manifest, projects=args.project, all_projects=args.all_projects
    )
    recording = None
    if args.record_consumer:
        recording = Recording(
            datetime.now(timezone.utc), args.git_commit or current_commit(args.root), recording_repository(args.environ)
        )
    report, keys = validate_and_record(
        registry,
        manifests,
        env=env,
        today=args.today or utc_today(),
        window_days=args.deprecation_window_days,
        skipped=skipped,
        recording=recording,
        fallback_for=lambda project: given or configured_fallback(config, project),
    )
    sys.stdout.write(render_validate(report, args.format))
    write_markdown_output(args.markdown_output, lambda: validate_markdown(report))
    for key in keys:
        print(f"recorded consumer {registry.url}/{key}", file=sys.stderr)
    return report.exit_code
