"""The `meshkit` command: parse, run one subcommand, map the outcome to an exit code.

Exit codes (the same for every subcommand): meshkit.errors.EXIT_CODES.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NoReturn

from meshkit import __version__
from meshkit.cli.common import COMMANDS
from meshkit.contract.words import printable
from meshkit.errors import EXIT_BUG, EXIT_CODES, EXIT_INPUT, EXIT_INTERRUPTED, MeshkitError

EXIT_CODES_HELP = "exit codes:\n" + "".join(f"  {code.code}  {code.summary}\n" for code in EXIT_CODES)


def build_parser(load: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the subcommands in `load` (default: all) import their module and define their options.

    The others are listed by name and summary, which is all `meshkit --help` shows: so neither it nor
    one subcommand pays for importing every other one (the catalog's Jinja, the GitHub client, ...).
    """
    chosen = set(COMMANDS) if load is None else set(load)
    parser = argparse.ArgumentParser(
        prog="meshkit",
        description="dbt Mesh for dbt-core: publish public contracts, sync sources, validate lineage, "
        "check for breaking changes, catalog the mesh, notify consumers, comment on PRs, "
        "propose contract bumps and set a repository up (init).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"meshkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        if name not in chosen:
            subparsers.add_parser(name, help=command.summary, add_help=False)
            continue
        sub = importlib.import_module(command.module).add_parser(subparsers)
        sub.epilog = EXIT_CODES_HELP
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def _is_utf8(word: str) -> bool:
    """False for an argument holding bytes the locale could not decode (Python keeps them as surrogates)."""
    try:
        word.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _command_in(argv: Sequence[str]) -> list[str]:
    """The subcommand argv names, found the way argparse will: the first word that is not an option."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return [first] if first in COMMANDS else []


# CPython's default (700 allocations) runs a full collection every few hundred thousand objects, and each
# one walks everything alive: building a 20,000-model catalog spent half its time there. One command's
# data has no cycles to find, so collect far less often while it runs.
_GC_THRESHOLD = (100_000, 20, 20)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.set_threshold(*_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """environ (default os.environ) reaches subcommands as args.environ, so tests inject it."""
    words = list(sys.argv[1:] if argv is None else argv)
    undecodable = next((word for word in words if not _is_utf8(word)), None)
    if undecodable is not None:
        shown = printable(os.fsencode(undecodable).decode("ascii", "backslashreplace"))
        print(
            f"meshkit: error: argument '{shown}' is not UTF-8: rename the path (or pass it as UTF-8)", file=sys.stderr
        )
        return EXIT_INPUT
    args = build_parser(_command_in(words)).parse_args(words)
    args.environ = os.environ if environ is None else environ
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        with _fewer_collections():
            return run(args)
    except MeshkitError as error:
        print(f"meshkit {args.command}: error: {printable(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("meshkit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_INPUT
    except Exception:
        import traceback  # only a bug pays for it

        traceback.print_exc()
        print(
            f"meshkit {args.command}: internal error (exit {EXIT_BUG}); please report it with the traceback above",
            file=sys.stderr,
        )
        return EXIT_BUG


def entry() -> NoReturn:
    """The `meshkit` command: main(), then out of the process without tearing the interpreter down.

    Freeing everything a command built (the models of a 20,000-model contract, the modules) takes longer than
    some commands' work and gives the user nothing: files are closed by then, meshkit registers no exit
    handler, and the streams are flushed here. Tests call main() in-process and keep the normal exit."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a reader that stopped early (`| head`), or a stream already closed
        code = code or EXIT_INPUT
    os._exit(code)
