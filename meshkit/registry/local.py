"""A registry in a local folder (or a shared mount).

Writes go to a temporary file in the target folder and are renamed into place, so
a reader never sees a torn file. A lock file serialises concurrent publishers on
one machine; conditional writes make a lost race an error, not a silent overwrite.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from meshkit.errors import ConflictError, RegistryError
from meshkit.files import MANIFEST_LIMIT, new_file_mode, read_regular
from meshkit.registry import Blob

_LOCK_NAME = ".meshkit.lock"


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
            fcntl.flock(handle, fcntl.LOCK_EX)
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
                fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
                with os.fdopen(fd, "wb") as tmp:
                    os.fchmod(tmp.fileno(), new_file_mode())  # readable by the team, as the umask allows
                    tmp.write(data)
                    tmp.flush()
                    os.fsync(tmp.fileno())
            except OSError as exc:
                raise RegistryError(f"cannot write {path}: {exc.strerror}") from None
            with self._locked():
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

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")
        )
