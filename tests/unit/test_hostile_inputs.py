"""Property: no manifest, contract, pointer, metadata or consumer record, however mangled, makes meshkit crash.

Hypothesis mutates real files (a dbt manifest, a downstream manifest and a published registry) in
structure, types and strings, and nests values up to thousands of levels deep, then runs the commands
that read them through the real CLI entry point. Every outcome must be an exit code of 0, 1 or 2 with
no traceback: exit 3 is meshkit's bug code. Publishes from clocks a day behind or ahead, and registries
holding only their pointers, must leave every reader working.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshkit.cli import main
from meshkit.contract.build import sha256_hex
from meshkit.mesh.publish import PublishRequest, publish
from meshkit.registry.local import LocalRegistry

DATA = Path(__file__).parents[1] / "data"
HOSTILE_TEXT = [
    "{{ env_var('AWS_SECRET') }}",
    "a\n::error::x",
    "@acme/team",
    "../../etc",
    "x" * 5000,
    "\x00\x1b[31m",
    "",
]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(HOSTILE_TEXT),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document (down to depth 6), so a mutation can hit any field meshkit reads."""
    yield prefix
    if depth >= 6:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from paths(item, (*prefix, index), depth + 1)


DEEP = "\x00deep:{}\x00"  # stands for a value nested that deep, spliced into the bytes (orjson writes 255 at most)


def _nested(depth: int, kind: int) -> bytes:
    opener, closer = (b"[", b"]") if kind % 2 else (b'{"k":', b"}")
    return opener * depth + b"0" + closer * depth


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> bytes:
    """The document with one to three places replaced, deleted, given a hostile string or nested deep; or garbage."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from([b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"nodes": 1}']))
    doc = orjson.loads(orjson.dumps(document))
    places = [p for p in paths(doc) if p]
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(places))
        parent = doc
        try:
            for key in place[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "hostile", "deep"]))
            if action == "delete" and isinstance(parent, dict):
                parent.pop(place[-1], None)
            elif action == "deep":
                parent[place[-1]] = DEEP.format(draw(st.sampled_from([65, 300, 990, 1100, 5000])))
            else:
                parent[place[-1]] = draw(JSON if action == "replace" else st.sampled_from(HOSTILE_TEXT))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the path
    raw = orjson.dumps(doc)
    for depth in (65, 300, 990, 1100, 5000):
        marker = orjson.dumps(DEEP.format(depth))
        raw = raw.replace(marker, _nested(depth, draw(st.integers(0, 1))) if marker in raw else marker)
    return raw


def run(*argv: str | Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv], environ={})
    return code, err.getvalue()


def assert_no_crash(*argv: str | Path) -> int:
    code, err = run(*argv)
    assert code in (0, 1, 2) and "Traceback" not in err, (argv, code, err)
    return code


def project(root: Path, name: str, manifest: bytes) -> Path:
    folder = root / name
    (folder / "target").mkdir(parents=True, exist_ok=True)
    (folder / "models").mkdir(exist_ok=True)
    (folder / "dbt_project.yml").write_text(f"name: {name}\nversion: '1.0'\nprofile: {name}\n")
    (folder / "target" / "manifest.json").write_bytes(manifest)
    return folder


SHOP = orjson.loads((DATA / "manifest_shop.json").read_bytes())
DOWN = orjson.loads((DATA / "manifest_down_sources.json").read_bytes())


@contextlib.contextmanager
def published() -> Iterator[Path]:
    """A scratch folder holding `registry`, with shop published to prod from the real manifest."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        shop = project(root, "shop", orjson.dumps(SHOP))
        assert run("publish", "--project-dir", shop, "--registry", root / "registry")[0] == 0
        yield root


@given(st.data())
@SETTINGS
def test_a_mangled_upstream_manifest_never_crashes_publish_or_check(data: st.DataObject) -> None:
    with published() as root:
        bad = project(root, "bad", data.draw(mutated(SHOP)))
        assert_no_crash("publish", "--project-dir", bad, "--project", "shop", "--registry", root / "fresh")
        assert_no_crash("check", "--project-dir", bad, "--project", "shop", "--registry", root / "registry")
        # whatever publish accepted, every reader can read
        if (root / "fresh").exists():
            down = project(root, "down", orjson.dumps(DOWN))
            (down / "models" / "x.sql").write_text("select * from {{ source('shop', 'orders') }}")
            for argv in (
                ("sync", "--project-dir", down, "--upstream", "shop"),
                ("validate", "--manifest", down / "target" / "manifest.json"),
                ("catalog", "--output", root / "catalog.html"),
                ("catalog", "--format", "json", "--output", root / "catalog.json"),
            ):
                code, err = run(*argv, "--registry", root / "fresh")
                assert code in (0, 1) or (code == 2 and argv[0] == "validate"), (argv, code, err)
                assert "Traceback" not in err, err


@given(st.data())
@SETTINGS
def test_a_mangled_downstream_manifest_never_crashes_validate(data: st.DataObject) -> None:
    with published() as root:
        down = project(root, "down", data.draw(mutated(DOWN)))
        for fmt in ("text", "json", "markdown", "github"):
            assert_no_crash(
                "validate",
                "--manifest",
                down / "target" / "manifest.json",
                "--registry",
                root / "registry",
                "--format",
                fmt,
            )


REGISTRY_FILES = ["latest/pointer.json", "latest/metadata.json", "history-metadata", "history-manifest", "consumer"]


@given(st.data(), st.sampled_from(REGISTRY_FILES), st.booleans())
@SETTINGS
def test_a_hand_edited_registry_never_crashes_a_reader(data: st.DataObject, which: str, consistent: bool) -> None:
    """consistent: the edit also fixes up the recorded sha256, as a careful vandal would, so readers decode it."""
    with published() as root:
        env_root = root / "registry" / "shop" / "prod"
        down = project(root, "down", orjson.dumps(DOWN))
        (down / "models" / "x.sql").write_text("select * from {{ source('shop', 'orders') }}")
        recorded = assert_no_crash(
            "validate",
            "--manifest",
            down / "target" / "manifest.json",
            "--registry",
            root / "registry",
            "--record-consumer",
            "--git-commit",
            "abc1234",
        )
        assert recorded == 0
        stamp = next((env_root / "history").iterdir()).name
        target = {
            "latest/pointer.json": env_root / "latest" / "pointer.json",
            "latest/metadata.json": env_root / "latest" / "metadata.json",
            "history-metadata": env_root / "history" / stamp / "metadata.json",
            "history-manifest": env_root / "history" / stamp / "manifest.json",
            "consumer": env_root / "consumers" / "down.json",
        }[which]
        new = data.draw(mutated(orjson.loads(target.read_bytes())))
        target.write_bytes(new)
        if consistent and which == "history-manifest":
            digest = sha256_hex(new)
            for meta in (env_root / "history" / stamp / "metadata.json", env_root / "latest" / "pointer.json"):
                doc = orjson.loads(meta.read_bytes())
                doc["sha256"] = digest
                meta.write_bytes(orjson.dumps(doc))
            shutil.copy(target, env_root / "latest" / "manifest.json")
        shop = project(root, "shop", orjson.dumps(SHOP))
        for argv in (
            ("check", "--project-dir", shop),
            ("sync", "--project-dir", down, "--upstream", "shop"),
            ("validate", "--manifest", down / "target" / "manifest.json"),
            ("catalog", "--output", root / "catalog.html"),
            ("catalog", "--format", "json", "--output", root / "catalog.json"),
            ("publish", "--project-dir", shop),
        ):
            assert_no_crash(*argv, "--registry", root / "registry")


SHIFTS = [-2 * 86400, -86400, -3600, 0, 3600, 86400, 2 * 86400]  # seconds a publisher's clock is off


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(SHIFTS)), min_size=2, max_size=6))
@SETTINGS
def test_publishes_from_any_clocks_in_turn_each_become_latest(steps: list[tuple[int, int]]) -> None:
    """Each publish that changes the contract becomes latest, whatever its clock or the previous one's said."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        registry = LocalRegistry(root / "registry")
        real = datetime.now(timezone.utc)
        for variant, shift in steps:
            doc = orjson.loads(orjson.dumps(SHOP))
            doc["nodes"]["model.shop.orders"]["description"] = f"variant {variant}"
            shop = project(root, f"shop{variant}", orjson.dumps(doc))
            request = PublishRequest(shop, "shop", "prod", now=real + timedelta(seconds=shift))
            result = publish(request, registry)
            pointer = orjson.loads((root / "registry/shop/prod/latest/pointer.json").read_bytes())
            if result.status == "published":
                assert result.superseded_by is None and pointer["history_id"] == result.history_id
            else:
                assert pointer["history_id"] == result.history_id  # unchanged: the current latest
            real += timedelta(milliseconds=5)
        down = project(root, "down", orjson.dumps(DOWN))
        for argv in (
            ("check", "--project-dir", shop, "--project", "shop"),
            ("sync", "--project-dir", down, "--upstream", "shop"),
        ):
            assert run(*argv, "--registry", root / "registry")[0] == 0


@given(st.sampled_from(["copies", "copies and consumers"]), st.booleans())
@SETTINGS
def test_a_registry_holding_only_pointers_is_read_by_every_command(which: str, legacy_pointer: bool) -> None:
    """What a first publish killed right after its pointer leaves; legacy_pointer: as an older meshkit wrote it."""
    with published() as root:
        latest = root / "registry" / "shop" / "prod" / "latest"
        for name in ("manifest.json", "metadata.json"):
            (latest / name).unlink()
        if legacy_pointer:
            pointer = orjson.loads((latest / "pointer.json").read_bytes())
            for key in ("sequence", "based_on", "stored_at"):
                pointer.pop(key)
            (latest / "pointer.json").write_bytes(orjson.dumps(pointer))
        down = project(root, "down", orjson.dumps(DOWN))
        (down / "models" / "x.sql").write_text("select * from {{ source('shop', 'orders') }}")
        shop = project(root, "shop", orjson.dumps(SHOP))
        for argv in (
            ("check", "--project-dir", shop),
            ("sync", "--project-dir", down, "--upstream", "shop"),
            ("validate", "--manifest", down / "target" / "manifest.json"),
            ("catalog", "--format", "json", "--output", root / "catalog.json"),
        ):
            code, err = run(*argv, "--registry", root / "registry")
            assert code == 0, (argv, err)
        assert [e["project"] for e in orjson.loads((root / "catalog.json").read_bytes())["entries"]] == ["shop"]
