"""Reading input files and writing output files: bounded, regular files only, never half-written.

Inputs come from other teams and from CI steps: a FIFO or /dev/zero in place of a manifest must not
hang meshkit or fill memory, so every input is opened without blocking and read only if it is a
regular file under its limit. Outputs are written beside the target and renamed into place, with the
permissions the umask gives (a registry on a shared mount must stay readable to the team).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from meshkit.errors import InputError

MANIFEST_LIMIT = 4 << 30  # a dbt manifest or contract: ~180 MB at 20,000 models
SMALL_FILE_LIMIT = 64 << 20  # meshkit.yml, dbt_project.yml, event payloads, report bodies, generated sources


def _limit_text(limit: int) -> str:
    return f"{limit >> 30} GiB" if limit >= 1 << 30 else f"{limit >> 20} MiB"


def read_regular(path: Path, limit: int) -> bytes:
    """path's bytes, like Path.read_bytes, but an OSError (strerror says why) unless it is a regular file under limit.

    FileNotFoundError still means missing, so callers keep their own hint for that case."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO opens without waiting for a writer
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a folder, FIFO or device)", str(path))
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than meshkit's {_limit_text(limit)} limit for it", str(path))
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:  # grew while we read
            raise OSError(errno.EFBIG, f"larger than meshkit's {_limit_text(limit)} limit for it", str(path))
        return data
    finally:
        os.close(fd)


def is_regular_file(path: Path) -> bool:
    """Path.is_file(), except that a path meshkit cannot even look at (a name too long, no permission) is one
    clear InputError instead of an OSError: only a missing file is False."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def read_regular_text(path: Path, limit: int = SMALL_FILE_LIMIT) -> str:
    """UTF-8 text of a regular file (UnicodeDecodeError when it is not UTF-8)."""
    return read_regular(path, limit).decode("utf-8")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """What open() would give a new file: 0666 less the umask (mkstemp's 0600 would hide it from the team)."""
    return 0o666 & ~_umask()


def _is_stdout(info: os.stat_result) -> bool:
    try:
        return os.path.samestat(info, os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError):
        return False


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside the target, then rename: readers see the old file or the new one, never a torn one.

    An existing regular file keeps its permissions; a new one gets the umask's. A path that exists but is
    not a regular file is refused (a FIFO, a device, a folder), unless it is this process's stdout (such as
    /dev/stdout), which is written in place.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        if _is_stdout(info):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return
        raise InputError(
            f"cannot write {path}: it exists and is not a regular file; pass a file path (or - for stdout)"
        )
    mode = stat.S_IMODE(info.st_mode) if info is not None else new_file_mode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as tmp:
                os.fchmod(tmp.fileno(), mode)
                tmp.write(data)
            os.replace(tmp_name, path)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
