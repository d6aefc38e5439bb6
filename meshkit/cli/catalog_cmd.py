"""meshkit catalog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meshkit.cli.common import COMMANDS, add_consumer_age_option, add_registry_options, iso_date, registry_from
from meshkit.contract.dates import utc_today
from meshkit.contract.names import check_env
from meshkit.contract.words import plural
from meshkit.errors import EXIT_OK
from meshkit.files import write_atomically
from meshkit.report.catalog import build_catalog
from meshkit.report.catalog_page import render_catalog_html
from meshkit.report.render import catalog_json


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "catalog",
        help=COMMANDS["catalog"].summary,
        description=(
            "Read every project and env in the registry and write one static HTML page: public models with "
            "columns, types, contract and versions, deprecations, each model's consumers, the publish history "
            "as a timeline, and the mesh-wide lineage. The page fetches nothing when viewed (inline CSS, SVG "
            "and script, locked down by a Content-Security-Policy)."
        ),
    )
    add_registry_options(parser, with_env=False)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="ENV",
        help="only these envs (repeatable; default: every env in the registry)",
    )
    parser.add_argument(
        "--output",
        "-o",
        default="meshkit-catalog.html",
        metavar="PATH",
        help="where to write the page, or - for stdout (default: meshkit-catalog.html)",
    )
    add_consumer_age_option(parser)
    parser.add_argument("--today", type=iso_date, help=argparse.SUPPRESS)
    parser.add_argument(
        "--format",
        choices=("html", "json"),
        default="html",
        help="html page, or the catalog's data as JSON (default: html)",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    envs = [check_env(env) for env in args.env]
    catalog = build_catalog(
        registry_from(args),
        today=args.today or utc_today(),
        consumer_max_age_days=args.consumer_max_age_days,
        envs=envs,
    )
    if args.format == "json":
        text = catalog_json(catalog)
    else:
        text = render_catalog_html(catalog)
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    output = Path(args.output)
    write_atomically(output, text.encode("utf-8"))
    models = sum(len(e.models) for e in catalog.entries)
    print(
        f"wrote {output}: {plural(len(catalog.projects), 'published project')}, "
        f"{plural(len(catalog.entries), 'env')}, {plural(models, 'public model version')}, "
        f"{plural(len(catalog.downstreams), 'consumer-only project')}",
        file=sys.stderr,
    )
    return EXIT_OK
