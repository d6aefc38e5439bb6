"""meshkit lineage."""

from __future__ import annotations

import argparse
import sys

from meshkit.cli.common import (
    COMMANDS,
    add_consumer_age_option,
    add_format_option,
    add_registry_options,
    iso_date,
    registry_from,
)
from meshkit.contract.dates import utc_today
from meshkit.contract.names import check_env
from meshkit.errors import EXIT_OK
from meshkit.mesh.trace import trace
from meshkit.report.trace import FORMATS_LINEAGE, render_lineage


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "lineage",
        help=COMMANDS["lineage"].summary,
        description=(
            "Print where one public model or column comes from across the mesh (the upstream public columns "
            "it derives from, through every project that publishes in between, from the provenance in their "
            "contracts) and who reads it (the consumer models `meshkit check` would name if it were removed, "
            "with the path through other projects). For a consumer's own model, the upstream columns it reads."
        ),
    )
    parser.add_argument(
        "target", metavar="[PROJECT.]MODEL[.COLUMN]", help="e.g. finance_mid.revenue_daily.amount, or orders"
    )
    parser.add_argument("--project", help="the project of MODEL, when its name alone is ambiguous")
    parser.add_argument(
        "--version", dest="model_version", metavar="N", help="a version of a versioned model (default: latest)"
    )
    add_registry_options(parser)
    add_consumer_age_option(parser)
    parser.add_argument("--today", type=iso_date, help=argparse.SUPPRESS)
    add_format_option(parser, FORMATS_LINEAGE)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    result = trace(
        registry_from(args),
        args.target,
        env=check_env(args.env),
        today=args.today or utc_today(),
        project=args.project,
        version=args.model_version,
        max_age_days=args.consumer_max_age_days,
    )
    sys.stdout.write(render_lineage(result, args.format))
    return EXIT_OK
