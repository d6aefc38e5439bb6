"""meshkit comment: one sticky PR comment per report, updated in place on every push.

The body's first line is the marker `meshkit validate/check --format markdown` writes;
it is how the comment is found again. A fork PR's read-only token is a warning, not a
failure: the report is still in the job summary.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from meshkit.cli.common import COMMANDS, add_format_option, target_repository
from meshkit.errors import EXIT_OK, InputError
from meshkit.files import SMALL_FILE_LIMIT, read_regular, read_regular_text
from meshkit.github.annotations import escape_data
from meshkit.report.markdown import COMMENT_BUDGET, first_line, fit_text, is_comment_marker
from meshkit.report.render import FORMATS_BASIC, comment_json


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a pull request number: {text!r}")
    return int(text)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "comment",
        help=COMMANDS["comment"].summary,
        description=(
            "Post a `meshkit validate|check --format markdown` report as a pull request comment, "
            "or update the comment that starts with the same marker line. Bodies over GitHub's "
            "65,536-character limit are cut on whole lines with a visible notice. A read-only "
            "token (a fork's PR) is a warning and exit 0. The token comes from GITHUB_TOKEN or "
            "GH_TOKEN, the API from GITHUB_API_URL."
        ),
    )
    parser.add_argument(
        "--body-file",
        type=Path,
        required=True,
        metavar="FILE",
        help="the markdown to post; its first line must be a meshkit marker",
    )
    parser.add_argument("--repository", metavar="OWNER/REPO", help="repository of the PR (default: $GITHUB_REPOSITORY)")
    parser.add_argument(
        "--pr",
        type=_positive_int,
        metavar="N",
        help="pull request number (default: from the event at $GITHUB_EVENT_PATH)",
    )
    add_format_option(parser, FORMATS_BASIC)
    parser.set_defaults(run=run)
    return parser


def event_pr_number(environ: Mapping[str, str]) -> int:
    """pull_request.number, issue.number or number of the workflow's event."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise InputError(
            "no pull request number: pass --pr N (or run in a pull_request workflow, which sets GITHUB_EVENT_PATH)"
        )
    try:
        event = orjson.loads(read_regular(Path(path), SMALL_FILE_LIMIT))
    except OSError as exc:
        raise InputError(
            f"cannot read the event file {path} (GITHUB_EVENT_PATH): {exc.strerror}: pass --pr N"
        ) from None
    except orjson.JSONDecodeError:
        raise InputError(f"the event file {path} (GITHUB_EVENT_PATH) is not JSON: pass --pr N") from None
    candidates: list[Any] = []
    if isinstance(event, dict):
        for key in ("pull_request", "issue"):
            if isinstance(event.get(key), dict):
                candidates.append(event[key].get("number"))
        candidates.append(event.get("number"))
    for number in candidates:
        if isinstance(number, int) and not isinstance(number, bool) and number > 0:
            return number
    raise InputError(
        f"no pull request number in the event at {path} (GITHUB_EVENT_PATH): pass --pr N or run on a pull_request event"
    )


def read_body(path: Path) -> tuple[str, str]:
    """The body, cut to fit, and its marker line."""
    try:
        body = read_regular_text(path)
    except UnicodeDecodeError:
        raise InputError(f"the comment body {path} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(
            f"cannot read the comment body {path}: {exc.strerror}: write it with "
            "`meshkit check --format markdown > FILE` (or validate) first"
        ) from None
    marker = first_line(body)
    if not is_comment_marker(marker):
        raise InputError(
            f"the comment body {path} has no meshkit marker on its first line: render it with --format markdown"
        )
    return fit_text(body, COMMENT_BUDGET), marker


def run(args: argparse.Namespace) -> int:
    from meshkit.github.api import GitHubClient
    from meshkit.github.comment import upsert_comment

    environ = args.environ
    repository = target_repository(args.repository, environ)
    pr = args.pr or event_pr_number(environ)
    body, marker = read_body(args.body_file)
    client = GitHubClient.from_env(environ)
    result = upsert_comment(client, repository, pr, marker, body)

    where = f"{repository}#{pr}"
    if result.action == "skipped":
        warning = (
            f"the token cannot write to {where} (a fork's read-only token?); comment not posted — "
            "the report is in the job summary"
        )
        if environ.get("GITHUB_ACTIONS") == "true":
            print(f"::warning::{escape_data('meshkit comment: ' + warning)}", file=sys.stderr)
        else:
            print(f"meshkit comment: warning: {warning}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(comment_json(result))
    elif result.action == "skipped":
        sys.stdout.write(f"skipped comment on {where}: the token is read-only\n")
    else:
        duplicates = ""
        if result.duplicates:
            noun = "comment" if result.duplicates == 1 else "comments"
            duplicates = f" ({result.duplicates} duplicate {noun} with the same marker left in place)"
        sys.stdout.write(f"{result.action} comment {result.comment_id} on {where}: {result.url}{duplicates}\n")
    return EXIT_OK
