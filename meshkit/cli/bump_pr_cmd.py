"""meshkit bump-pr: propose the sources `meshkit sync` regenerated as one pull request per upstream."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meshkit.cli.common import COMMANDS, add_format_option, target_repository
from meshkit.errors import EXIT_OK, InputError
from meshkit.mesh.config import UpstreamRef
from meshkit.mesh.dbt_project import project_name_from
from meshkit.report.render import FORMATS_BASIC, bump_pr_json


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bump-pr",
        help=COMMANDS["bump-pr"].summary,
        description=(
            "After `meshkit sync` regenerated models/_mesh_<upstream>.yml for a new contract, open a pull "
            "request with the file on branch meshkit/sync-<upstream>-<env>, or update the open one (one fresh "
            "commit on the base branch), or close it when the base branch already has the file. The body "
            "carries the validation report. Run it from the repository's root; it commits through GitHub's "
            "API (no git push). The token comes from GITHUB_TOKEN or GH_TOKEN, the API from GITHUB_API_URL."
        ),
    )
    parser.add_argument(
        "--project-dir", type=Path, default=Path("."), help="downstream dbt project folder (default: .)"
    )
    parser.add_argument(
        "--upstream", required=True, metavar="NAME@ENV", help="the upstream whose sources meshkit sync regenerated"
    )
    parser.add_argument(
        "--models-dir", default="models", help="folder of the generated file in the project (default: models)"
    )
    parser.add_argument(
        "--repository", metavar="OWNER/REPO", help="the downstream repository (default: $GITHUB_REPOSITORY)"
    )
    parser.add_argument("--base", metavar="BRANCH", help="branch the PR targets (default: $GITHUB_REF_NAME)")
    parser.add_argument(
        "--validation",
        type=Path,
        metavar="FILE",
        help="markdown report of `meshkit validate` against the new sources, for the PR body",
    )
    parser.add_argument(
        "--validation-failed",
        action="store_true",
        help="the build or validation against the new sources failed: the PR says so in its title and body",
    )
    add_format_option(parser, FORMATS_BASIC)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from meshkit.github.api import GitHubClient
    from meshkit.github.bump_pr import bump_pr
    from meshkit.github.bump_request import bump_request

    environ = args.environ
    repository = target_repository(args.repository, environ)
    base = args.base or environ.get("GITHUB_REF_NAME") or ""
    if not base:
        raise InputError("no base branch: pass --base BRANCH (or set GITHUB_REF_NAME)")
    if "@" not in args.upstream:
        raise InputError(f"--upstream {args.upstream!r} must name its env: NAME@ENV, as meshkit sync was given it")
    upstream = UpstreamRef.parse(args.upstream, "")
    request = bump_request(
        repository=repository,
        base=base,
        upstream=upstream,
        project_dir=args.project_dir,
        project=project_name_from(args.project_dir),
        models_dir=args.models_dir,
        root=Path.cwd(),
        validation=args.validation,
        validation_failed=args.validation_failed,
    )
    result = bump_pr(GitHubClient.from_env(environ), request)
    if args.format == "json":
        sys.stdout.write(bump_pr_json(result))
    else:
        where = f"{result.repository}#{result.pr}" if result.pr else result.repository
        text = {
            "opened": f"opened {where} from {result.branch}: {result.url}",
            "updated": f"updated {where} ({result.branch} at {(result.commit or '')[:12]}): {result.url}",
            "unchanged": f"{where} already proposes these sources: {result.url}",
            "closed": f"closed {where}: {result.base} already has these sources",
            "up-to-date": f"{result.base} already has these sources: no pull request needed",
        }[result.action]
        sys.stdout.write(text + "\n")
    return EXIT_OK
