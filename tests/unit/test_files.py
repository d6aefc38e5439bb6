"""meshkit.files: bounded reads of regular files only; atomic writes with the umask's permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from meshkit.contract.words import printable, text_lines
from meshkit.errors import InputError
from meshkit.files import read_regular, write_atomically


def test_a_regular_file_under_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_regular(path, 10) == b"x" * 10


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 11)
    with pytest.raises(OSError, match="limit") as caught:
        read_regular(path, 10)
    assert caught.value.strerror and "larger than meshkit's" in caught.value.strerror


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_special_files_are_refused_without_blocking(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "special"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = Path("/dev/zero")
    with pytest.raises(OSError) as caught:
        read_regular(path, 1 << 20)
    assert caught.value.strerror == "not a regular file (a folder, FIFO or device)"


def test_a_missing_file_is_still_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "absent", 10)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_umasks_mode(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        write_atomically(tmp_path / "out" / "new.txt", b"data")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out" / "new.txt").stat().st_mode) == mode


def test_a_fifo_output_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "out"
    os.mkfifo(path)
    with pytest.raises(InputError, match="exists and is not a regular file"):
        write_atomically(path, b"data")
    assert stat.S_ISFIFO(path.stat().st_mode) and os.listdir(tmp_path) == ["out"]


def test_printable_escapes_every_line_breaker() -> None:
    assert printable("a\nb\rc\td\x1be\x7ff\x85g\u2028h\u2029i") == "a\\nb\\rc\\td\\x1be\\x7ff\\x85g\\u2028h\\u2029i"
    assert printable("plain ünïcode ✓") == "plain ünïcode ✓"
    assert text_lines(["one", "two\n::error::x"]) == "one\ntwo\\n::error::x\n"
