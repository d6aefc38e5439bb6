"""Options shared by subcommands, so they are spelled and documented once."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import NamedTuple

from meshkit.contract.names import check_env, check_repository
from meshkit.errors import InputError
from meshkit.files import write_atomically
from meshkit.registry import REGISTRY_ENV, REGISTRY_FORMS, Registry, open_registry


class Command(NamedTuple):
    """A subcommand: the module that defines it, imported only when it runs, and its summary for `meshkit --help`."""

    module: str
    summary: str


COMMANDS: dict[str, Command] = {
    "publish": Command("meshkit.cli.publish_cmd", "publish a project's public contract to the registry"),
    "sync": Command("meshkit.cli.sync_cmd", "generate dbt sources for upstream public models"),
    "validate": Command(
        "meshkit.cli.validate_cmd", "check that cross-project dependencies resolve to public contracts"
    ),
    "check": Command(
        "meshkit.cli.check_cmd", "find breaking changes to a project's public contract, and the consumers they break"
    ),
    "lineage": Command(
        "meshkit.cli.lineage_cmd", "trace one model or column across the mesh: where it comes from, who reads it"
    ),
    "catalog": Command("meshkit.cli.catalog_cmd", "write the whole mesh as one self-contained HTML page"),
    "dispatch": Command("meshkit.cli.dispatch_cmd", "notify consumer repositories of a publish (repository_dispatch)"),
    "comment": Command("meshkit.cli.comment_cmd", "create or update the PR comment of a markdown report"),
    "bump-pr": Command(
        "meshkit.cli.bump_pr_cmd", "open or update the contract-bump pull request for regenerated mesh sources"
    ),
    "init": Command("meshkit.cli.init_cmd", "write a repository's meshkit.yml and its caller workflow"),
}


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="mesh config file (default: meshkit.yml in the current directory, if there is one)",
    )


def add_registry_options(parser: argparse.ArgumentParser, *, with_env: bool = True) -> None:
    parser.add_argument(
        "--registry",
        metavar="URL",
        help=f"the registry: {REGISTRY_FORMS}, or abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX "
        f"(default: ${REGISTRY_ENV})",
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="the object store's endpoint, for S3-compatible stores and emulators (default: AWS_ENDPOINT_URL_S3 / "
        "AWS_ENDPOINT_URL for s3://, STORAGE_EMULATOR_HOST for gs://, AZURITE_BLOB_STORAGE_URL with "
        "AZURE_STORAGE_USE_EMULATOR=true for az://, else the cloud's own)",
    )
    if with_env:
        parser.add_argument(
            "--env", default="prod", help="registry environment, e.g. prod, staging, dev (default: prod)"
        )


def add_fallback_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fallback-env",
        action="append",
        default=[],
        metavar="ENV",
        help="when an upstream has no contract in the env asked for, read it from ENV; repeatable, tried in "
        "order, e.g. --env dev --fallback-env staging --fallback-env prod; reports name the env read "
        "(default: meshkit.yml's projects.<project>.fallback_envs)",
    )


def fallback_envs(given: list[str], configured: tuple[str, ...]) -> tuple[str, ...]:
    """--fallback-env when given (each checked), else meshkit.yml's list."""
    return tuple(dict.fromkeys(check_env(env) for env in given)) if given else configured


def add_format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    parser.add_argument("--format", choices=choices, default="text", help="output format (default: text)")


def add_consumer_age_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--consumer-max-age-days",
        type=int,
        default=30,
        metavar="N",
        help="flag consumer records not refreshed within N days as stale (default: 30)",
    )


def add_markdown_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--markdown-output",
        type=Path,
        metavar="PATH",
        help="also write the markdown report (the PR comment) to PATH, whatever --format is",
    )


def write_markdown_output(path: Path | None, render_markdown: Callable[[], str]) -> None:
    """CI wants annotations on stdout and the PR comment in a file from one run, not two runs that could differ."""
    if path is not None:
        write_atomically(path, render_markdown().encode())


def registry_from(args: argparse.Namespace) -> Registry:
    return open_registry(args.registry, endpoint_url=args.endpoint_url)


def target_repository(given: str | None, environ: Mapping[str, str]) -> str:
    """--repository, else $GITHUB_REPOSITORY: the repository a GitHub call is about."""
    repository = given or environ.get("GITHUB_REPOSITORY") or ""
    if not repository:
        raise InputError("no repository: pass --repository OWNER/REPO (or set GITHUB_REPOSITORY)")
    return check_repository(repository, what="--repository" if given else "GITHUB_REPOSITORY")


def recording_repository(environ: Mapping[str, str]) -> str | None:
    """The repository a consumer record names: $GITHUB_REPOSITORY in Actions, none elsewhere."""
    repository = (environ.get("GITHUB_REPOSITORY") or "").strip()
    return check_repository(repository, what="GITHUB_REPOSITORY") if repository else None


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
