"""Loaded by the publishers the fault tests start (this folder is put first on their PYTHONPATH).

It stops a publisher at one write boundary, without changing any meshkit code: an audit hook sees
each local registry write land (`os.replace` raises the `os.rename` audit event) and botocore's
`before-send` event sees each S3 PutObject or DeleteObject leave. Before the Nth of them it writes
MESHKIT_FAULT_MARKER and waits until MESHKIT_FAULT_GO exists (a stall) or for ever (to be killed).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

_AT = int(os.environ.get("MESHKIT_FAULT_AT", "0") or 0)
_MARKER = os.environ.get("MESHKIT_FAULT_MARKER", "")
_GO = os.environ.get("MESHKIT_FAULT_GO", "")
_seen = 0


def _boundary(what: str) -> None:
    global _seen
    _seen += 1
    if _seen != _AT:
        return
    Path(_MARKER).write_text(what)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if _GO and Path(_GO).exists():
            return
        time.sleep(0.01)


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "os.rename" and "/.tmp-" in str(args[0]):  # a registry object landing, not any rename
        _boundary(f"local {args[1]}")


def _before_send(request: object, **_: object) -> None:
    method = getattr(request, "method", "")
    if method in ("PUT", "DELETE"):
        _boundary(f"s3 {method} {getattr(request, 'url', '')}")


if _AT:
    sys.addaudithook(_audit)
    if os.environ.get("MESHKIT_FAULT_S3"):
        import boto3

        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-send.s3", _before_send)
