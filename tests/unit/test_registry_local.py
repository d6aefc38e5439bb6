"""Unit tests for the local folder registry and for choosing a registry backend from its URL."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshkit.errors import ConflictError, InputError, RegistryError
from meshkit.registry import REGISTRY_ENV, open_registry, resolve_registry_url
from meshkit.registry.local import LocalRegistry

KEY = "shop/prod/latest/manifest.json"


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _tmp_leftovers(root: Path) -> list[str]:
    return [str(p) for p in root.rglob(".tmp-*")]


def test_get_missing_returns_none(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    assert registry.get(KEY) is None
    assert not (tmp_path / "reg").exists()  # reading creates nothing


def test_get_below_a_file_is_a_damaged_registry(tmp_path):
    """A file where a project's folder belongs is damage (fail closed), never "not published yet"."""
    registry = LocalRegistry(tmp_path)
    registry.put("shop", b"x")
    with pytest.raises(
        RegistryError, match=r"a file stands where the registry needs a folder; the registry is damaged"
    ):
        registry.get("shop/prod/latest/manifest.json")
    assert registry.get("other/prod/latest/manifest.json") is None  # missing is still None


def test_put_then_get(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    registry.put(KEY, b'{"a": 1}\n')
    blob = registry.get(KEY)
    assert blob is not None and blob.data == b'{"a": 1}\n'
    assert blob.etag == hashlib.sha256(b'{"a": 1}\n').hexdigest()
    assert (tmp_path / "reg" / KEY).read_bytes() == b'{"a": 1}\n'
    assert registry.url == str((tmp_path / "reg").resolve())
    assert _tmp_leftovers(tmp_path) == []


def test_put_overwrites_without_conditions(tmp_path):
    registry = LocalRegistry(tmp_path)
    registry.put(KEY, b"one")
    registry.put(KEY, b"two")
    assert registry.get(KEY).data == b"two"


def test_put_if_absent_on_existing_conflicts_and_keeps_old_bytes(tmp_path):
    registry = LocalRegistry(tmp_path)
    registry.put(KEY, b"old", if_absent=True)
    with pytest.raises(ConflictError) as caught:
        registry.put(KEY, b"new", if_absent=True)
    assert str(caught.value) == f"{tmp_path.resolve() / KEY} already exists; another publisher wrote it first"
    assert caught.value.exit_code == 2
    assert registry.get(KEY).data == b"old"
    assert _tmp_leftovers(tmp_path) == []


def test_put_if_match_wrong_etag_conflicts(tmp_path):
    registry = LocalRegistry(tmp_path)
    registry.put(KEY, b"old")
    with pytest.raises(ConflictError, match=r"changed while this publish ran; another publisher won the race$"):
        registry.put(KEY, b"new", if_match="0" * 64)
    assert registry.get(KEY).data == b"old"
    assert _tmp_leftovers(tmp_path) == []


def test_put_if_match_on_missing_object_conflicts(tmp_path):
    registry = LocalRegistry(tmp_path)
    with pytest.raises(ConflictError):
        registry.put(KEY, b"new", if_match=hashlib.sha256(b"old").hexdigest())
    assert registry.get(KEY) is None
    assert _tmp_leftovers(tmp_path) == []


def test_put_if_match_right_etag(tmp_path):
    registry = LocalRegistry(tmp_path)
    registry.put(KEY, b"old")
    etag = registry.get(KEY).etag
    registry.put(KEY, b"new", if_match=etag)
    assert registry.get(KEY).data == b"new"
    with pytest.raises(ConflictError):  # the old etag is now stale
        registry.put(KEY, b"newer", if_match=etag)
    assert registry.get(KEY).data == b"new"


def test_list_is_sorted_and_skips_lock_and_dot_files(tmp_path):
    registry = LocalRegistry(tmp_path)
    for key in (
        "shop/prod/latest/metadata.json",
        "a/b.json",
        "shop/dev/latest/manifest.json",
        "shop/prod/latest/manifest.json",
    ):
        registry.put(key, b"x", if_absent=True)  # a conditional write: the lock file appears
    (tmp_path / "shop" / "prod" / ".tmp-abandoned").write_bytes(b"partial")
    (tmp_path / ".DS_Store").write_bytes(b"")
    assert (tmp_path / ".meshkit.lock").is_file()
    assert registry.list("") == [
        "a/b.json",
        "shop/dev/latest/manifest.json",
        "shop/prod/latest/manifest.json",
        "shop/prod/latest/metadata.json",
    ]
    assert registry.list("shop/prod/") == ["shop/prod/latest/manifest.json", "shop/prod/latest/metadata.json"]
    assert registry.list("shop/prod") == ["shop/prod/latest/manifest.json", "shop/prod/latest/metadata.json"]
    assert registry.list("nope/") == []


def test_list_of_missing_root_is_empty(tmp_path):
    assert LocalRegistry(tmp_path / "nothing").list("") == []


@pytest.mark.parametrize("key", ["../x", "shop/../../x", "..", "", ".", "/etc/passwd", "shop/../.."])
def test_key_escaping_root_is_rejected(tmp_path, key):
    registry = LocalRegistry(tmp_path / "reg")
    with pytest.raises(RegistryError, match="escapes the registry folder"):
        registry.get(key)
    with pytest.raises(RegistryError, match="escapes the registry folder"):
        registry.put(key, b"x")
    assert not (tmp_path / "x").exists()
    assert _files(tmp_path) == []


def test_key_through_symlink_out_of_root_is_rejected(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "reg"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(RegistryError, match="escapes the registry folder"):
        LocalRegistry(root).put("link/x.json", b"x")
    assert list(outside.iterdir()) == []


def test_put_where_parent_is_a_file_fails_cleanly(tmp_path):
    registry = LocalRegistry(tmp_path)
    registry.put("shop", b"a file")
    with pytest.raises(RegistryError, match=r"^cannot write "):
        registry.put("shop/prod/latest/manifest.json", b"x")
    assert registry.get("shop").data == b"a file"
    assert _tmp_leftovers(tmp_path) == []


def test_put_onto_a_directory_fails_without_leftovers(tmp_path):
    registry = LocalRegistry(tmp_path)
    registry.put("shop/prod/latest/manifest.json", b"x")
    with pytest.raises(RegistryError):
        registry.put("shop/prod", b"x")
    assert _tmp_leftovers(tmp_path) == []
    assert registry.list("") == ["shop/prod/latest/manifest.json"]


# --- choosing a backend -------------------------------------------------------------------------


def test_open_registry_local_path_and_file_url(tmp_path):
    registry = open_registry(str(tmp_path / "reg"))
    assert isinstance(registry, LocalRegistry)
    assert registry.url == str((tmp_path / "reg").resolve())
    via_url = open_registry(f"file://{tmp_path / 'reg'}")
    assert isinstance(via_url, LocalRegistry)
    assert via_url.url == registry.url


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix"])
def test_open_registry_s3_without_bucket(url):
    with pytest.raises(InputError) as caught:
        open_registry(url)
    assert str(caught.value) == f"registry URL {url!r} has no bucket: use s3://BUCKET/PREFIX"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("url", ["gcs://x", "azure://c/p", "https://example.com/reg"])
def test_open_registry_unsupported_scheme(url):
    with pytest.raises(InputError) as caught:
        open_registry(url)
    assert str(caught.value) == (
        f"unsupported registry URL {url!r}: use a folder path, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or "
        "az://CONTAINER/PREFIX"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("gs://", "registry URL 'gs://' has no bucket: use gs://BUCKET/PREFIX"),
        ("gs:///prefix", "registry URL 'gs:///prefix' has no bucket: use gs://BUCKET/PREFIX"),
        (
            "az:///prefix",
            "registry URL 'az:///prefix' names no valid container: 3-63 lowercase letters, digits and single hyphens",
        ),
        (
            "az://Bad_Container/p",
            "registry URL 'az://Bad_Container/p' names no valid container: 3-63 lowercase letters, digits and "
            "single hyphens",
        ),
        (
            "abfss://c@x/p",
            "registry URL 'abfss://c@x/p' is not az://CONTAINER/PREFIX or "
            "abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX",
        ),
    ],
)
def test_open_registry_cloud_url_without_a_place(url, message):
    with pytest.raises(InputError) as caught:
        open_registry(url)
    assert str(caught.value) == message


def test_resolve_registry_url_explicit_wins():
    assert resolve_registry_url("/some/where") == "/some/where"


_ENV_PROBE = """
import json
from meshkit.errors import InputError
from meshkit.registry import open_registry, resolve_registry_url
out = {}
try:
    open_registry(None)
except InputError as exc:
    out["open"] = str(exc)
try:
    out["resolve"] = resolve_registry_url(None)
except InputError as exc:
    out["resolve"] = "InputError: " + str(exc)
print(json.dumps(out))
"""


def _probe(env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", _ENV_PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _env_without_registry(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != REGISTRY_ENV}
    env.update(extra)
    return env


def test_no_registry_and_no_env_variable_is_an_input_error():
    message = (
        "no registry given: pass --registry (a folder path, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or "
        "az://CONTAINER/PREFIX) or set MESHKIT_REGISTRY"
    )
    assert _probe(_env_without_registry()) == {"open": message, "resolve": "InputError: " + message}


def test_registry_from_env_variable(tmp_path):
    out = _probe(_env_without_registry(MESHKIT_REGISTRY=str(tmp_path)))
    assert out == {"resolve": str(tmp_path)}  # open_registry(None) succeeded: no "open" error recorded


def test_a_fifo_lock_file_is_one_clear_error_not_a_hang(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    (tmp_path / "reg").mkdir()
    os.mkfifo(tmp_path / "reg" / ".meshkit.lock")
    with pytest.raises(RegistryError) as caught:
        registry.put("shop/prod/latest/pointer.json", b"{}", if_absent=True)
    assert str(caught.value) == (
        f"cannot use the registry lock {registry.root}/.meshkit.lock: it is not a regular file; remove it and rerun"
    )
    assert registry.get("shop/prod/latest/pointer.json") is None  # nothing half-done, no temp file left
    assert not list((tmp_path / "reg").rglob(".tmp-*"))


def test_a_symlinked_lock_file_is_refused_and_nothing_is_created_outside(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    (tmp_path / "reg").mkdir()
    outside = tmp_path / "elsewhere" / "owned"
    outside.parent.mkdir()
    (tmp_path / "reg" / ".meshkit.lock").symlink_to(outside)
    with pytest.raises(RegistryError) as caught:
        registry.put("shop/prod/latest/pointer.json", b"{}", if_absent=True)
    assert str(caught.value) == (
        f"cannot use the registry lock {registry.root}/.meshkit.lock: it is a symbolic link; remove it and rerun"
    )
    assert not outside.exists()


def test_listing_gives_sizes_and_the_files_own_times(tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    registry.put("shop/prod/history/x/manifest.json", b"12345")
    path = tmp_path / "reg" / "shop/prod/history/x/manifest.json"
    os.utime(path, (1_000_000_000, 1_000_000_000))
    [item] = registry.listing("shop/")
    assert (item.key, item.size, item.written_at) == ("shop/prod/history/x/manifest.json", 5, 1_000_000_000)
