"""Loaded by the publishers the fault tests start (this folder is put first on their PYTHONPATH).

It stops a publisher at one write boundary, without changing any meshkit code: an audit hook sees
each local registry write land (`os.replace` raises the `os.rename` audit event) and botocore's
`before-send` event sees each S3 PutObject or DeleteObject leave. Before the Nth of them it writes
MESHKIT_FAULT_MARKER and waits until MESHKIT_FAULT_GO exists (a stall) or for ever (to be killed).

With MESHKIT_FAULT_FAIL set, the Nth write and every one after it fail instead, as on a full disk
(ENOSPC from the rename) or a store that refuses writes (the connection to S3 fails, retries included).

With MESHKIT_FAULT_TEMP set, a local registry's writes are counted where each begins, when its temporary
file is created, outside the lock a conditional write holds for its compare-and-rename: a publisher stopped
there between its two history writes holds no lock.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

_AT = int(os.environ.get("MESHKIT_FAULT_AT", "0") or 0)
_MARKER = os.environ.get("MESHKIT_FAULT_MARKER", "")
_GO = os.environ.get("MESHKIT_FAULT_GO", "")
_FAIL = bool(os.environ.get("MESHKIT_FAULT_FAIL"))
_AT_TEMP = bool(os.environ.get("MESHKIT_FAULT_TEMP"))
_seen = 0


class _Refused(Exception):
    """Raised where a write must fail: turned into the backend's own error below."""


def _boundary(what: str) -> None:
    global _seen
    _seen += 1
    if _FAIL:
        if _seen >= _AT:
            if _MARKER:
                Path(_MARKER).write_text(what)
            raise _Refused(what)
        return
    if _seen != _AT:
        return
    Path(_MARKER).write_text(what)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if _GO and Path(_GO).exists():
            return
        time.sleep(0.01)


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _AT_TEMP:
        if event == "tempfile.mkstemp" and "/.tmp-" in str(args[0]):  # a registry write beginning
            _boundary(f"local {args[0]}")
        return
    if event == "os.rename" and "/.tmp-" in str(args[0]):  # a registry object landing, not any rename
        try:
            _boundary(f"local {args[1]}")
        except _Refused:
            raise OSError(errno.ENOSPC, "No space left on device", str(args[1])) from None


def _before_send(request: object, **_: object) -> None:
    method = getattr(request, "method", "")
    if method in ("PUT", "DELETE"):
        url = str(getattr(request, "url", ""))
        try:
            _boundary(f"s3 {method} {url}")
        except _Refused:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url=url) from None


if _AT:
    sys.addaudithook(_audit)
    if os.environ.get("MESHKIT_FAULT_S3"):
        import boto3

        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-send.s3", _before_send)
