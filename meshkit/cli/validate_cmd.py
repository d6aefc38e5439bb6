"""meshkit validate."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from meshkit.cli.common import add_format_option, add_registry_options, registry_from
from meshkit.errors import InputError
from meshkit.report import FORMATS_ALL, render_validate
from meshkit.validate import validate


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "validate",
        help="check that cross-project dependencies resolve to public contracts",
        description=(
            "Every cross-project parent in a downstream manifest's parent_map (model.<up>.* from "
            "dbt-loom, source.<down>.<up>.* from meshkit sync) must be a public model of the "
            "upstream's latest contract. Warns about deprecated or soon-deprecated versions."
        ),
    )
    which = parser.add_argument_group("what to validate (at least one)")
    which.add_argument("--all", action="store_true", dest="all_projects",
                       help="every dbt project directly under --root that has target/manifest.json")
    which.add_argument("--project", action="append", default=[], metavar="NAME",
                       help="the project in --root/NAME (repeatable)")
    which.add_argument("--manifest", action="append", default=[], type=Path, metavar="PATH",
                       help="a downstream manifest.json (repeatable)")
    parser.add_argument("--root", type=Path, default=Path("."), help="folder holding the dbt projects (default: .)")
    add_registry_options(parser)
    parser.add_argument("--deprecation-window-days", type=int, default=30, metavar="N",
                        help="warn when a consumed version is deprecated within N days (default: 30)")
    parser.add_argument("--today", type=_date, help=argparse.SUPPRESS)
    add_format_option(parser, FORMATS_ALL)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not (args.all_projects or args.project or args.manifest):
        raise InputError("nothing to validate: pass --all, --project NAME or --manifest PATH")
    report = validate(
        registry=registry_from(args),
        env=args.env,
        root=args.root,
        manifest_paths=args.manifest,
        projects=args.project,
        all_projects=args.all_projects,
        today=args.today,
        window_days=args.deprecation_window_days,
    )
    sys.stdout.write(render_validate(report, args.format))
    return report.exit_code
