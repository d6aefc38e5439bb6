"""The JavaScript meshkit ships inside the explorer page is exactly what npm's lock pins.

meshkit/assets/vendor/VENDORED.json names, for each vendored file, its npm package, version, the lock's
integrity and the file's sha256. The file must hash to that sha256, the lock (tests/js/package-lock.json)
must pin that version with that integrity, and the copy `npm ci` installed from the locked tarball (npm
checks the integrity) must be byte for byte the vendored file. The licence travels with it.
"""

from __future__ import annotations

import hashlib
import json
from fnmatch import fnmatch

import pytest
import tomllib

from support.helpers import REPO

VENDOR = REPO / "meshkit" / "assets" / "vendor"
JS = REPO / "tests" / "js"
VENDORED = json.loads((VENDOR / "VENDORED.json").read_text(encoding="utf-8"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", sorted(VENDORED))
def test_the_vendored_file_is_the_one_the_lock_pins(name: str) -> None:
    pin = VENDORED[name]
    vendored = (VENDOR / name).read_bytes()
    assert sha256(vendored) == pin["sha256"], f"{name} changed without VENDORED.json"
    lock = json.loads((JS / "package-lock.json").read_text(encoding="utf-8"))
    locked = lock["packages"][f"node_modules/{pin['package']}"]
    assert (locked["version"], locked["integrity"]) == (pin["version"], pin["integrity"])
    assert json.loads((JS / "package.json").read_text())["dependencies"][pin["package"]] == pin["version"]
    installed = JS / "node_modules" / pin["package"] / pin["file"]
    if not installed.is_file():
        pytest.fail(
            f"{installed.relative_to(REPO)} is missing: run `npm ci` in tests/js (make test does)", pytrace=False
        )
    assert sha256(installed.read_bytes()) == pin["sha256"], "the locked package's file differs from the vendored copy"
    assert json.loads((installed.parents[1] / "package.json").read_text())["version"] == pin["version"]


@pytest.mark.parametrize("name", sorted(VENDORED))
def test_the_licence_ships_beside_it(name: str) -> None:
    pin = VENDORED[name]
    licence = (VENDOR / pin["license_file"]).read_text(encoding="utf-8")
    installed = JS / "node_modules" / pin["package"] / "LICENSE.md"
    assert licence == installed.read_text(encoding="utf-8")
    assert "Eclipse Public License" in licence
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    assert f"{pin['package']} {pin['version']}" in readme and pin["license"] in readme


def test_the_wheel_carries_the_vendored_files() -> None:
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["meshkit"]
    for path in VENDOR.iterdir():
        relative = path.relative_to(REPO / "meshkit").as_posix()
        assert any(fnmatch(relative, g) for g in globs), relative
