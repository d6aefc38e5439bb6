"""The documentation site (docs/, mkdocs.yml) and the README: built strictly, the reference generated from the
code and current, and every example proven: shell blocks run against the demo mesh, YAML and JSON blocks
are checked by the tool that reads them, links resolve."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from markdown.extensions.toc import slugify

from meshkit.cli import build_parser
from meshkit.cli.common import COMMANDS
from meshkit.errors import EXIT_CODES
from meshkit.mesh.config import parse_mesh_config
from support.doc_examples import DOCS, REASONS, Block, all_blocks, blocks
from support.helpers import BIN, REPO, clean_env, run

GENERATOR = REPO / "scripts" / "gen_reference.py"
README = REPO / "README.md"
MARKER_WORDS = {"run", "exit", "output", "not-run", "tested-by"}
LANGUAGES = {"bash", "text", "yaml", "json", "markdown"}
BLOCKS = all_blocks()


def _mkdocs(root: Path, site: Path) -> Any:
    return run(
        [BIN / "mkdocs", "build", "--strict", "--site-dir", site], cwd=root, env=clean_env(NO_MKDOCS_2_WARNING="1")
    )


# ------------------------------------------------------------------------------------------- the site and reference


def test_the_site_builds_strictly_with_every_page(tmp_path: Path) -> None:
    result = _mkdocs(REPO, tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    for page in DOCS.rglob("*.md"):
        relative = page.relative_to(DOCS).with_suffix("")
        folder = relative.parent if relative.name == "index" else relative
        assert (tmp_path / "site" / folder / "index.html").is_file(), f"{page} was not built"
    index = (tmp_path / "site" / "index.html").read_text()
    assert "fonts.googleapis.com" not in index, "the site must load nothing from another host"


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """Control: the strict build above could fail."""
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy2(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "index.md").open("a") as index:
        index.write("\n[gone](concepts/registry.md#no-such-section)\n")
    result = _mkdocs(tmp_path, tmp_path / "site")
    assert result.returncode != 0
    assert "does not contain an anchor '#no-such-section'" in result.stderr


def test_the_reference_pages_are_current() -> None:
    result = run([sys.executable, GENERATOR, "--check"], cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_a_stale_reference_page_fails_the_check_and_nothing_is_written(tmp_path: Path) -> None:
    shutil.copytree(DOCS / "reference", tmp_path / "reference")
    page = tmp_path / "reference" / "actions.md"
    stale = page.read_text().replace("`fail-on-breaking`", "`fail-on-break`")
    page.write_text(stale)
    result = run([sys.executable, GENERATOR, "--check", "--docs-dir", tmp_path], cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.strip() == f"{page} is out of date: run `make reference` and commit it"
    assert page.read_text() == stale


def _load_yaml(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def test_the_reference_names_every_option_input_secret_schema_and_exit_code() -> None:
    """The generator is complete, not only consistent with itself."""
    cli = (DOCS / "reference" / "cli.md").read_text()
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        assert f"## meshkit {name}\n" in cli
        for action in sub._actions:
            if action.help != "==SUPPRESS==":
                for option in action.option_strings:
                    assert f"`{option}`" in cli, f"meshkit {name} {option}"
    assert set(subparsers.choices) == set(COMMANDS)
    actions = (DOCS / "reference" / "actions.md").read_text()
    for path in sorted((REPO / ".github" / "actions").glob("*/action.yml")):
        action = _load_yaml(path)
        assert f"## {path.parent.name}\n" in actions
        for name in [*action.get("inputs", {}), *action.get("outputs", {})]:
            assert f"| `{name}` |" in actions, f"{path.parent.name}: {name}"
    workflows = (DOCS / "reference" / "workflows.md").read_text()
    for name in ("meshkit-upstream.yml", "meshkit-downstream.yml"):
        call = _load_yaml(REPO / ".github" / "workflows" / name)["on"]["workflow_call"]
        assert f"## {name}\n" in workflows
        for key in [*call["inputs"], *call["secrets"]]:
            assert f"| `{key}` |" in workflows, f"{name}: {key}"
    schemas = (DOCS / "reference" / "json-schemas.md").read_text()
    for path in sorted((REPO / "meshkit" / "schemas").glob("*.json")):
        assert f"## {json.loads(path.read_text())['$id']} " in schemas
    codes = (DOCS / "reference" / "exit-codes.md").read_text()
    for code in EXIT_CODES:
        assert f"| `{code.code}` |" in codes


# ------------------------------------------------------------------------------------------------- the examples


def test_every_block_says_its_language_and_every_marker_is_known() -> None:
    for block in BLOCKS:
        assert block.lang in LANGUAGES, f"{block.where}: a fenced block needs one of {sorted(LANGUAGES)}"
        assert set(block.marker) <= MARKER_WORDS, f"{block.where}: {block.marker}"
        if "not-run" in block.marker:
            assert block.lang == "bash" and block.marker["not-run"] in REASONS, f"{block.where}: {block.marker}"
        if "tested-by" in block.marker:
            test = REPO / block.marker["tested-by"]
            assert test.is_file() and Path(block.page).name in test.read_text(), f"{block.where}: {block.marker}"
        if "output" in block.marker:
            assert block.lang == "text", block.where


def test_most_shell_blocks_run() -> None:
    bash = [block for block in BLOCKS if block.lang == "bash"]
    running = [block for block in bash if block.runs]
    assert len(running) >= 20 and len(running) > len(bash) / 2, (len(running), len(bash))


RUN_PAGES = sorted({block.page for block in BLOCKS if block.runs})


@pytest.mark.dbt
@pytest.mark.parametrize("page", RUN_PAGES)
def test_the_shell_examples_run_against_the_demo_mesh(page: str, mesh: Path) -> None:
    """Each page's bash blocks, in order, in one fresh copy of the built demo mesh."""
    printed: str | None = None
    for block in blocks(REPO / page):
        if block.runs:
            result = run(["bash", "-euo", "pipefail", "-c", block.text], cwd=mesh, env=clean_env(), timeout=300)
            printed = result.stdout + result.stderr
            assert result.returncode == block.exit_code, f"{block.where}: exit {result.returncode}\n{printed}"
            assert "Traceback" not in printed, f"{block.where}\n{printed}"
        elif "output" in block.marker:
            assert printed is not None, f"{block.where}: an output block follows no block that ran"
            for line in filter(str.strip, block.text.splitlines()):
                assert line.strip() in printed, f"{block.where}: {line.strip()!r} not printed:\n{printed}"


def _yaml_kind(document: Any) -> str:
    if isinstance(document, dict) and "jobs" in document:
        return "workflow"
    if isinstance(document, list) and all(isinstance(s, dict) and ("uses" in s or "run" in s) for s in document):
        return "steps"
    if isinstance(document, dict) and "projects" in document:
        return "meshkit.yml"
    if isinstance(document, dict) and "manifests" in document:
        return "dbt-loom"
    if isinstance(document, dict) and "models" in document:
        return "dbt properties"
    raise AssertionError(f"a YAML example of an unknown kind: {document!r}")


def _actionlint(workflow: str, tmp_path: Path) -> None:
    path = tmp_path / ".github" / "workflows" / "example.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow)
    result = run([BIN / "actionlint", "-no-color", "-shellcheck=", path], cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


STEPS_JOB = (
    "on: push\npermissions: {}\njobs:\n  example:\n    runs-on: ubuntu-latest\n    permissions: {}\n    steps:\n"
)
YAML_BLOCKS = [block for block in BLOCKS if block.lang == "yaml"]


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: b.where)
def test_the_yaml_examples_are_what_their_reader_accepts(block: Block, tmp_path: Path) -> None:
    document = yaml.safe_load(block.text)
    kind = _yaml_kind(document)
    if kind == "workflow":
        _actionlint(block.text, tmp_path)
    elif kind == "steps":
        _actionlint(STEPS_JOB + "".join(f"      {line}\n" for line in block.text.splitlines()), tmp_path)
    elif kind == "meshkit.yml":
        parse_mesh_config(block.text, Path(block.where))
    elif kind == "dbt-loom":
        for manifest in document["manifests"]:
            assert {"name", "type", "config"} <= set(manifest), block.where
    else:
        for model in document["models"]:
            assert isinstance(model["name"], str), block.where
            for version in model.get("versions", []):
                assert "v" in version, block.where


def _schemas() -> dict[str, dict[str, Any]]:
    loaded = (json.loads(path.read_text()) for path in (REPO / "meshkit" / "schemas").glob("*.schema.json"))
    return {schema["$id"]: schema for schema in loaded}


JSON_BLOCKS = [block for block in BLOCKS if block.lang == "json"]


@pytest.mark.parametrize("block", JSON_BLOCKS, ids=lambda b: b.where)
def test_the_json_examples_validate(block: Block) -> None:
    document = json.loads(block.text)
    if "$schema" in document:  # the reference's copy of a schema
        jsonschema.Draft202012Validator.check_schema(document)
        assert _schemas()[document["$id"]] == document, block.where
    elif str(document.get("schema", "")).startswith("meshkit-"):
        schema = _schemas()[document["schema"]]
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], f"{block.where}: {errors}"
    else:
        assert document["Version"] == "2012-10-17", f"{block.where}: a JSON example of an unknown kind"
        statements = document["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            assert statement["Effect"] in ("Allow", "Deny") and statement["Action"], block.where


def test_the_json_examples_cover_every_schema() -> None:
    """Each committed schema appears, whole, on the reference page, so a change to one is a change there."""
    shown = {json.loads(b.text).get("$id") for b in JSON_BLOCKS}
    assert set(_schemas()) <= shown


# ----------------------------------------------------------------------------------------------------- the README


def _anchors(page: Path) -> set[str]:
    text = page.read_text()
    ids = set(re.findall(r"\{#([\w-]+)\}", text))
    for heading in re.findall(r"^#{1,6} (.+?)(?: \{#[\w-]+\})?$", text, re.MULTILINE):
        ids.add(slugify(re.sub(r"[`*]", "", heading), "-"))
    return ids


def test_the_readme_is_short_and_its_links_resolve() -> None:
    text = README.read_text()
    assert len(text.encode()) <= 8 * 1024
    assert "make demo" in text and "make test" in text
    assert "python3 validate_lineage.py --all" in text, "the proof of concept's commands keep their section"
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert len(links) >= 10
    for link in links:
        if link.startswith(("https://", "http://")):
            continue
        target, _, anchor = link.partition("#")
        path = REPO / target if target else README
        assert path.exists(), f"README links to {link}, which does not exist"
        if anchor:
            assert anchor in _anchors(path), f"README links to {link}: no such heading"
