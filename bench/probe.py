"""Runs `meshkit` in this process and counts what it reads: files opened and S3 requests.

Files are seen through a Python audit hook on the `open` event (no monkeypatching); S3
requests through botocore's event hooks on boto3's default session, which meshkit's
S3Registry uses when it calls boto3.client. Counting slows the command down, so the bench
never times this wrapper: it runs it once per command, after the timed runs.

Usage: MESHKIT_BENCH_COUNTS=out.json [MESHKIT_BENCH_S3=1] python bench/probe.py MESHKIT-ARGS...
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

_opens: list[tuple[str, bool]] = []  # (path, for writing)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Record every open of a named file; stat nothing here (the hook must not open files itself)."""
    if event != "open":
        return
    path, mode, flags = args
    if isinstance(path, int):
        return
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(mode, str):
        writing = any(c in mode for c in "wax+")
    else:
        writing = bool((flags or 0) & _WRITE_FLAGS)
    _opens.append((os.path.abspath(str(path)), writing))


_s3: dict[str, Any] = {"requests": 0, "by_operation": {}, "bytes_up": 0, "bytes_down": 0}


def _on_send(request: Any, event_name: str = "", **_: Any) -> None:
    """One call per HTTP request sent, retries included."""
    operation = event_name.rsplit(".", 1)[-1]
    _s3["requests"] += 1
    _s3["by_operation"][operation] = _s3["by_operation"].get(operation, 0) + 1
    _s3["bytes_up"] += int(request.headers.get("Content-Length") or 0)


def _on_get(parsed: Any = None, **_: Any) -> None:
    if isinstance(parsed, dict):
        _s3["bytes_down"] += int(parsed.get("ContentLength") or 0)


def _code_roots() -> tuple[str, ...]:
    """Where Python code and package data live: opens there are imports, not meshkit's input."""
    import meshkit

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.abspath(meshkit.__file__))}
    return tuple(os.path.join(r, "") for r in roots)


def _summary() -> dict[str, Any]:
    roots = _code_roots()
    reads: list[dict[str, Any]] = []
    writes: list[str] = []
    code = 0
    for path, writing in _opens:
        if path.startswith(roots) or path.startswith(("/dev/", "/proc/", "/sys/")):
            code += 1
        elif writing:
            writes.append(path)
        else:
            size = os.path.getsize(path) if os.path.isfile(path) else 0
            reads.append({"path": path, "bytes": size})
    return {
        "files_read": len(reads),
        "distinct_files_read": len({r["path"] for r in reads}),
        "bytes_read": sum(r["bytes"] for r in reads),
        "largest_read_bytes": max((r["bytes"] for r in reads), default=0),
        "files_written": len(writes),
        "code_opens": code,
        "reads": reads,
        "writes": writes,
        "s3": _s3 if os.environ.get("MESHKIT_BENCH_S3") else None,
    }


def main() -> int:
    sys.addaudithook(_audit)
    if os.environ.get("MESHKIT_BENCH_S3"):
        import boto3

        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-send.s3", _on_send)
        boto3.DEFAULT_SESSION.events.register("after-call.s3.GetObject", _on_get)
    from meshkit.cli import main as meshkit_main

    try:
        code = meshkit_main(sys.argv[1:])
    except SystemExit as exit_:  # --help, and argparse's usage errors
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    summary = _summary()
    summary["exit_code"] = code
    with open(os.environ["MESHKIT_BENCH_COUNTS"], "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main())
