"""A registry in a local folder (or a shared mount).

Writes go to a temporary file in the target folder and are renamed into place, so
a reader never sees a torn file. A lock file serialises the conditional writes of
concurrent publishers on one machine, for a bounded time; a failed condition is a
ConflictError, never a silent overwrite. A killed writer's temporary file is swept
by a later publish.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from meshkit.errors import ConflictError, RegistryError
from meshkit.files import new_file_mode, read_regular
from meshkit.registry import Blob, Listed, layout, seconds_from_env

_LOCK_NAME = ".meshkit.lock"
_TMP_PREFIX = ".tmp-"
LOCK_TIMEOUT_SECONDS = 60.0
LOCK_TIMEOUT_VARIABLE = "MESHKIT_LOCK_TIMEOUT_SECONDS"
_LOCK_POLL_SECONDS = 0.02


class LocalRegistry:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        """The file for key, symbolic links resolved, refused unless it lies inside the registry folder."""
        path = os.path.realpath(os.path.join(self.url, key))
        if not path.startswith(self.url.rstrip(os.sep) + os.sep) or path == self.url:
            raise RegistryError(f"registry key {key!r} escapes the registry folder")
        return Path(path)

    def get(self, key: str) -> Blob | None:
        path = self._path(key)
        try:
            data = read_regular(path, layout.size_limit(key))
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            raise RegistryError(
                f"cannot read {path}: a file stands where the registry needs a folder; "
                "the registry is damaged: move that file away and republish"
            ) from None
        except OSError as exc:
            raise RegistryError(f"cannot read {path}: {exc.strerror}") from None
        return Blob(data=data)

    def _open_lock(self) -> int:
        """The lock file's descriptor: never through a symlink, never a FIFO or device (which could block or escape)."""
        path = self.root / _LOCK_NAME
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, flags, new_file_mode())
        except OSError as exc:
            why = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
            raise RegistryError(f"cannot use the registry lock {path}: {why}; remove it and rerun") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RegistryError(f"cannot use the registry lock {path}: it is not a regular file; remove it and rerun")
        return fd

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with os.fdopen(self._open_lock(), "r+b") as handle:
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
                self._rename(tmp_name, path)  # unconditional: the rename alone is atomic
                return
            with self._locked():  # held only to compare and rename: microseconds
                current = self.get(key)
                if if_absent and current is not None:
                    raise ConflictError(f"{path} already exists; another publisher wrote it first")
                if if_match is not None and (current is None or current.etag != if_match):
                    raise ConflictError(f"{path} changed while this publish ran; another publisher won the race")
                self._rename(tmp_name, path)
        finally:
            if tmp_name is not None:  # every failure path removes its temporary file
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)

    @staticmethod
    def _rename(tmp_name: str, path: Path) -> None:
        try:
            os.replace(tmp_name, path)
        except OSError as exc:
            raise RegistryError(f"cannot write {path}: {exc.strerror}") from None

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

    def listing(self, prefix: str) -> list[Listed]:
        """Every regular file under prefix (hidden names and symbolic links left out), sorted by key.

        os.walk and one lstat per file: a registry of a few projects holds thousands of files, and pathlib's
        rglob costs several times as much per file."""
        base = self._path(prefix) if prefix else self.root
        root = str(self.root) + os.sep
        found = []

        def refuse(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError):  # a folder removed by a sweeper while we listed is no error
                raise RegistryError(f"cannot list {base}: {exc.strerror}")

        try:
            if not base.is_dir():
                return []
        except OSError as exc:
            raise RegistryError(f"cannot list {base}: {exc.strerror}") from None
        for folder, _, names in os.walk(base, onerror=refuse):
            for name in names:
                if name.startswith("."):
                    continue
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except FileNotFoundError:  # removed by a sweeper while we listed
                    continue
                except OSError as exc:
                    raise RegistryError(f"cannot list {base}: {exc.strerror}") from None
                if stat.S_ISREG(info.st_mode):
                    found.append(Listed(path[len(root) :].replace(os.sep, "/"), info.st_size, info.st_mtime))
        return sorted(found, key=lambda item: item.key)

    def list(self, prefix: str) -> list[str]:
        return [item.key for item in self.listing(prefix)]
