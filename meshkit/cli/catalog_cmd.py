"""meshkit catalog."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from meshkit.cli.common import COMMANDS, add_consumer_age_option, add_registry_options, iso_date, registry_from
from meshkit.contract.dates import utc_today
from meshkit.contract.names import check_env
from meshkit.contract.words import plural
from meshkit.errors import EXIT_OK
from meshkit.files import write_atomically
from meshkit.report.catalog import build_catalog, catalog_json
from meshkit.report.explorer import render_explorer


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "catalog",
        help=COMMANDS["catalog"].summary,
        description=(
            "Read every project and env in the registry and write the mesh explorer: one self-contained HTML "
            "page with search over models, columns, descriptions, groups, owners and projects; project, env, "
            "model, version and column views with permalinks; a lineage graph of the whole mesh, of one "
            "model across projects and of one column; each model's contract, versions, deprecations, "
            "consumers and publish history with the changes between publishes in check's words; and, for "
            "each column, the consumer models that check would name if it were removed. The page fetches "
            "nothing when viewed (inline data, style and scripts, locked down by a Content-Security-Policy), "
            "so it works from a file, a CI artefact or GitHub Pages."
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
        help="where to write the page: a file, a folder (ending in /, or existing) for FOLDER/index.html, "
        "or - for stdout (default: meshkit-catalog.html)",
    )
    add_consumer_age_option(parser)
    parser.add_argument("--today", type=iso_date, help=argparse.SUPPRESS)
    parser.add_argument(
        "--format",
        choices=("html", "json"),
        default="html",
        help="html page, or the catalog's data as compact JSON, schema meshkit-catalog/3 (default: html)",
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
    data = catalog_json(catalog) + b"\n" if args.format == "json" else render_explorer(catalog)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    output = Path(args.output)
    try:
        is_folder = output.is_dir()
    except OSError:  # a name too long, say: writing it below says what is wrong, in one line
        is_folder = False
    if args.output.endswith(("/", os.sep)) or is_folder:
        output = output / ("index.html" if args.format == "html" else "catalog.json")
    write_atomically(output, data)
    print(
        f"wrote {output}: {plural(len(catalog.projects), 'published project')}, "
        f"{plural(len(catalog.entries), 'env')}, {plural(catalog.model_versions, 'public model version')}, "
        f"{plural(len(catalog.downstreams), 'consumer-only project')}",
        file=sys.stderr,
    )
    return EXIT_OK
