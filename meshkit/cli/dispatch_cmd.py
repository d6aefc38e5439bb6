"""meshkit dispatch: tell consumer repositories that a new contract was published.

Sends a repository_dispatch to each; the payload names the contract (project, env,
sha256 and registry keys), never carries it: consumers read it from the registry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from meshkit.cli.common import COMMANDS, add_config_option, add_format_option, add_registry_options, registry_from
from meshkit.contract.names import check_env, check_project, check_repository, unique_repositories
from meshkit.errors import EXIT_INPUT, EXIT_OK, GitHubError, InputError
from meshkit.github.dispatch import DEFAULT_EVENT_TYPE, check_event_type, dispatch_payload, send_dispatch
from meshkit.mesh.config import consumer_repositories, find_mesh_config
from meshkit.registry.published import read_latest
from meshkit.report.render import FORMATS_BASIC, dispatch_json


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "dispatch",
        help=COMMANDS["dispatch"].summary,
        description=(
            "Send a repository_dispatch event to every consumer repository of a project: those "
            "given with --repository and those listed in meshkit.yml under projects.PROJECT.consumers "
            "(`self` is $GITHUB_REPOSITORY). The client_payload names the registry's latest contract "
            "(project, env, sha256, keys, commit); it never carries the manifest. "
            "The token comes from GITHUB_TOKEN or GH_TOKEN, the API from GITHUB_API_URL."
        ),
    )
    parser.add_argument("--project", required=True, help="the published project whose consumers to notify")
    add_registry_options(parser)
    parser.add_argument(
        "--repository",
        action="append",
        default=[],
        metavar="OWNER/REPO",
        help="a repository to notify; repeatable; added to the consumers in the config file",
    )
    add_config_option(parser)
    parser.add_argument(
        "--event-type",
        default=DEFAULT_EVENT_TYPE,
        help=f"repository_dispatch event type (default: {DEFAULT_EVENT_TYPE})",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; send nothing (no token needed)"
    )
    parser.add_argument(
        "--allow-no-consumers",
        action="store_true",
        help="exit 0 with a notice when no consumer is listed (a project not consumed yet); default: that is an error",
    )
    add_format_option(parser, FORMATS_BASIC)
    parser.set_defaults(run=run)
    return parser


def targets(args: argparse.Namespace, project: str) -> list[str]:
    given = [check_repository(name) for name in args.repository]
    config = find_mesh_config(args.config, Path.cwd())
    found = unique_repositories(given + consumer_repositories(config, project, args.environ.get("GITHUB_REPOSITORY")))
    if not found and not args.allow_no_consumers:
        raise InputError(
            f"no consumer repositories for {project}: list them in meshkit.yml under "
            f"projects.{project}.consumers or pass --repository"
        )
    return found


def run(args: argparse.Namespace) -> int:
    from meshkit.github.api import GitHubClient

    event_type = check_event_type(args.event_type)
    project, env = check_project(args.project), check_env(args.env)
    repositories = targets(args, project)
    published = read_latest(registry_from(args), project, env)
    payload = dispatch_payload(published)
    if not repositories:
        if args.format == "json":
            sys.stdout.write(dispatch_json(event_type, payload, []))
        else:
            print(f"no consumer repositories of {project} are listed: nothing to notify")
        return EXIT_OK
    client = None if args.dry_run else GitHubClient.from_env(args.environ)

    outcomes: list[dict[str, Any]] = []
    for repository in repositories:
        if client is None:
            outcomes.append({"repository": repository, "status": "dry-run", "error": None})
            continue
        try:
            send_dispatch(client, repository, event_type, payload)
        except GitHubError as exc:
            outcomes.append({"repository": repository, "status": "failed", "error": str(exc)})
        else:
            outcomes.append({"repository": repository, "status": "sent", "error": None})

    if args.format == "json":
        sys.stdout.write(dispatch_json(event_type, payload, outcomes))
    else:
        what = f"{event_type} for {project}/{env} (sha256 {published.sha256[:12]})"
        lines = [
            f"{'would dispatch' if o['status'] == 'dry-run' else 'dispatched'} {what} to {o['repository']}"
            for o in outcomes
            if o["status"] != "failed"
        ]
        if client is None:
            lines.append("client_payload: " + orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode())
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
    failed = [o for o in outcomes if o["status"] == "failed"]
    for outcome in failed:
        print(
            f"meshkit dispatch: error: not dispatched to {outcome['repository']}: {outcome['error']}", file=sys.stderr
        )
    return EXIT_INPUT if failed else EXIT_OK
