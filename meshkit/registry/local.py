"""A registry in a local folder (or a shared mount).

Writes go to a temporary file in the target folder and are renamed into place, so
a reader never sees a torn file. A lock file serialises the conditional writes of
concurrent publishers on one machine, for a bounded time; a failed condition is a
ConflictError, never a silent overwrite. A killed writer's temporary file is swept
by a later publish.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from meshkit.errors import ConflictError, RegistryError
from meshkit.files import MANIFEST_LIMIT, new_file_mode, read_regular
from meshkit.registry import Blob, seconds_from_env

_LOCK_NAME = ".meshkit.lock"
_TMP_PREFIX = ".tmp-"
LOCK_TIMEOUT_SECONDS = 60.0
LOCK_TIMEOUT_VARIABLE = "MESHKIT_LOCK_TIMEOUT_SECONDS"
_LOCK_POLL_SECONDS = 0.02


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalRegistry:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise RegistryError(f"registry key {key!r} escapes the registry folder")
        return path

    def get(self, key: str) -> Blob | None:
        path = self._path(key)
        try:
            data = read_regular(path, MANIFEST_LIMIT)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        except OSError as exc:
            raise RegistryError(f"cannot read {path}: {exc.strerror}") from None
        return Blob(data=data, etag=_etag(data))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(self.root / _LOCK_NAME, "a+b")  # noqa: SIM115 - opened here so its error is ours, closed below
        except OSError as exc:
            raise RegistryError(f"cannot use registry folder {self.root}: {exc.strerror}") from None
        with handle:
            timeout = seconds_from_env(LOCK_TIMEOUT_VARIABLE, LOCK_TIMEOUT_SECONDS)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RegistryError(
                            f"the registry lock {self.root / _LOCK_NAME} was held for over "
                            f"{timeout:g} s: another process is stuck holding it; "
                            "stop it (or remove the lock file) and rerun"
                        ) from None
                    time.sleep(_LOCK_POLL_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> None:
        path = self._path(key)
        tmp_name: str | None = None
        try:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
                with os.fdopen(fd, "wb") as tmp:
                    os.fchmod(tmp.fileno(), new_file_mode())  # readable by the team, as the umask allows
                    tmp.write(data)
                    tmp.flush()
                    os.fsync(tmp.fileno())
            except OSError as exc:
                raise RegistryError(f"cannot write {path}: {exc.strerror}") from None
            if not (if_absent or if_match is not None):
                try:
                    os.replace(tmp_name, path)  # unconditional: the rename alone is atomic
                except OSError as exc:
                    raise RegistryError(f"cannot write {path}: {exc.strerror}") from None
                return
            with self._locked():  # held only to compare and rename: microseconds
                current = self.get(key)
                if if_absent and current is not None:
                    raise ConflictError(f"{path} already exists; another publisher wrote it first")
                if if_match is not None and (current is None or current.etag != if_match):
                    raise ConflictError(f"{path} changed while this publish ran; another publisher won the race")
                os.replace(tmp_name, path)
        finally:
            if tmp_name is not None:  # every failure path removes its temporary file
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # the entry's folder, once empty
                path.parent.rmdir()
        except OSError as exc:
            raise RegistryError(f"cannot remove {path}: {exc.strerror}") from None

    def sweep(self, prefix: str, max_age_seconds: float) -> int:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return 0
        cutoff = time.time() - max_age_seconds
        removed = 0
        for path in base.rglob(f"{_TMP_PREFIX}*"):
            with contextlib.suppress(OSError):  # another sweeper, or a writer finishing
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")
        )
