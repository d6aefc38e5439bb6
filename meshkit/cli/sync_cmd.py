"""meshkit sync."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meshkit.cli.common import (
    COMMANDS,
    add_config_option,
    add_fallback_option,
    add_format_option,
    add_registry_options,
    fallback_envs,
    registry_from,
)
from meshkit.errors import EXIT_FINDINGS, EXIT_OK
from meshkit.mesh.config import (
    UpstreamRef,
    check_includes,
    configured_fallback,
    configured_includes,
    configured_upstreams,
    find_mesh_config,
    parse_includes,
)
from meshkit.mesh.dbt_project import project_name_from
from meshkit.mesh.fallback import env_chain
from meshkit.mesh.sync import sync
from meshkit.report.render import FORMATS_BASIC, render_sync


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sync",
        help=COMMANDS["sync"].summary,
        description=(
            "Fetch the latest contract of each upstream and write models/_mesh_<upstream>.yml: "
            "one dbt source per upstream, one table per public model version (`m_v1`, `m_v2`, "
            "and `m` for the latest version). By default only the tables the project reads: those its "
            "source('<upstream>', '<table>') calls name, found by parsing the .sql, .py and .yml files "
            "under its model, macro, snapshot, test, analysis and seed paths (dbt_packages/ and target/ "
            "are not read), plus those included with --include or meshkit.yml's include lists. Where a "
            "call's names are not constants or a file cannot be parsed, every table of the upstream(s) "
            "concerned is written, with a note. --all writes every table. Output is deterministic; a "
            "file already current for the registry's contract and this selection is left alone, "
            "without fetching the manifest. The upstreams are those given with --upstream, else those "
            "meshkit.yml lists under projects.<project>.upstreams."
        ),
    )
    parser.add_argument(
        "--project-dir", type=Path, default=Path("."), help="downstream dbt project folder (default: .)"
    )
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME[@ENV]",
        help="upstream project to sync; repeatable; @ENV overrides --env for that upstream "
        "(default: the upstreams meshkit.yml lists for this project)",
    )
    add_config_option(parser)
    parser.add_argument(
        "--only",
        metavar="NAME@ENV",
        help="sync only this upstream, and only if it is one of this project's upstreams at that env; "
        "otherwise do nothing and exit 0 (what a repository_dispatch from that upstream runs)",
    )
    add_registry_options(parser)
    add_fallback_option(parser)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a generated file is missing or stale (the CI guard)",
    )
    parser.add_argument(
        "--models-dir", default="models", help="folder inside the project for the files (default: models)"
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="[UPSTREAM.]TABLE",
        help="also write this source table, e.g. one the project reads in a way sync cannot see; "
        "repeatable; UPSTREAM. may be left out when one upstream is synced (added to the "
        "include lists in meshkit.yml)",
    )
    parser.add_argument(
        "--all",
        dest="every",
        action="store_true",
        help="write every table of the contract, not only those the project reads",
    )
    add_format_option(parser, FORMATS_BASIC)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    check_includes(args.include)
    config = find_mesh_config(args.config, Path.cwd())
    # meshkit.yml's include lists apply however the upstreams are chosen, so that every run writes the same file.
    project = project_name_from(args.project_dir) if config is not None or not args.upstream else None
    if args.upstream:
        upstreams = [UpstreamRef.parse(text, args.env) for text in args.upstream]
    else:
        upstreams = configured_upstreams(config, str(project), args.env)
    everyone = upstreams
    fallback = fallback_envs(args.fallback_env, configured_fallback(config, project))
    if args.only:
        wanted = UpstreamRef.parse(args.only, args.env)
        # A publish to any env the upstream may be read from (its own, or a fallback env) concerns the project.
        chosen = [u for u in upstreams if u.project == wanted.project and wanted.env in env_chain(u.env, fallback)]
        if not chosen:
            reads = ", ".join(f"{u.project}@{u.env}" for u in upstreams)
            note = (
                f"{wanted.project}@{wanted.env} is not an upstream of this project (it reads {reads}): nothing to sync"
            )
            sys.stdout.write(render_sync([], args.format, note=note))
            return EXIT_OK
        upstreams = chosen
    configured = configured_includes(config, project) if project is not None else {}
    include = {name: tables for name, tables in configured.items() if name in {u.project for u in upstreams}}
    for name, tables in parse_includes(args.include, upstreams, everyone).items():
        include[name] = tuple(dict.fromkeys(include.get(name, ()) + tables))
    outcomes = sync(
        args.project_dir,
        upstreams,
        registry_from(args),
        check=args.check,
        models_dir=args.models_dir,
        include=include,
        every=args.every,
        fallback=fallback,
    )
    sys.stdout.write(render_sync(outcomes, args.format))
    return EXIT_FINDINGS if any(o.is_finding for o in outcomes) else EXIT_OK
