"""One error family and one exit-code map, so every subcommand fails the same way.

Exit codes: 0 ok, 1 the check found problems, 2 usage or input error, 3 a bug.
Only exit 3 ever shows a traceback.
"""

from __future__ import annotations

from typing import NamedTuple

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class ExitCode(NamedTuple):
    """One exit code, described once: `summary` is the line `--help` prints, `meaning` the reference's."""

    code: int
    summary: str
    meaning: str


EXIT_CODES = (
    ExitCode(EXIT_OK, "success", "success (warnings may be printed)"),
    ExitCode(
        EXIT_FINDINGS,
        "the check found problems",
        "the check found problems (broken lineage, stale generated sources, breaking contract changes unless "
        "`--warn-only`)",
    ),
    ExitCode(
        EXIT_INPUT,
        "usage or input error (the message says what to fix)",
        "usage or input error: a bad flag, a missing or corrupt manifest, the wrong project, no public models, an "
        "unsafe name, an upstream project or env missing from the registry (sync), a corrupt or damaged registry "
        "entry, an unreachable registry, a registry lock held too long, a GitHub call refused. One line on stderr "
        "says what to do; nothing is partially written",
    ),
    ExitCode(
        EXIT_BUG,
        "internal error in meshkit (please report it)",
        "a bug in meshkit: the only case that prints a traceback",
    ),
    ExitCode(EXIT_INTERRUPTED, "interrupted (Ctrl-C)", "interrupted (Ctrl-C or SIGINT): `meshkit: interrupted`"),
)


class MeshkitError(Exception):
    """An expected failure: the message is one line that says what to do."""

    exit_code = EXIT_INPUT


class InputError(MeshkitError):
    """A file, flag or name the user gave us is wrong."""


class ManifestError(InputError):
    """A dbt manifest is missing, corrupt or not the one expected."""


class UnsafeNameError(InputError):
    """A name could escape a path or SQL quoting."""


class RegistryError(MeshkitError):
    """The registry could not be reached or read."""


class NotPublishedError(RegistryError):
    """The registry has no contract for this project and env."""


class IntegrityError(RegistryError):
    """A registry object does not match its recorded sha256."""


class ConflictError(RegistryError):
    """Another publisher changed the registry while we were writing."""


class GitHubError(MeshkitError):
    """The GitHub API refused or failed a request; the message names the call and the fix."""


class ReadOnlyTokenError(GitHubError):
    """A 403 "Resource not accessible by integration": a fork PR's read-only GITHUB_TOKEN, not a misconfiguration."""
