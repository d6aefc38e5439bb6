"""Every real manifest in ../shared/real-manifests: 45 that teams committed to public repositories (dbt 0.19 to
1.12 and dbt Fusion 2.0, 14 adapters), read where they are, never copied into the project.

Each of dbt 1.6 or newer (manifest schema v10+) is published, checked, synced and rendered in the catalog,
as it is and with every model that declares columns made public; each older one is refused with one line
that names the dbt that wrote it and the oldest meshkit reads. The commands run in this process
(`meshkit.cli.main`), as the CLI runs them, so the 45 x 2 x 4 runs take seconds, not minutes.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from meshkit.cli import main
from support.helpers import REPO

CORPUS_VARIABLE = "MESHKIT_REAL_MANIFESTS"


def corpus_root() -> Path:
    """The corpus beside the repository (../shared, where the project keeps it), or where the variable says."""
    candidates = [os.environ.get(CORPUS_VARIABLE, ""), REPO.parent / "shared" / "real-manifests"]
    candidates.append(Path("/work/shared/real-manifests"))  # this workplace's copy, for a clone made elsewhere
    for candidate in candidates:
        if candidate and (Path(candidate) / "index.csv").is_file():
            return Path(candidate)
    raise AssertionError(f"the real-manifest corpus is not at ../shared/real-manifests: set {CORPUS_VARIABLE}")


@dataclass(frozen=True)
class Case:
    folder: str
    schema: int  # 0: older than dbt's versioned schemas
    dbt_version: str
    adapter: str
    models_with_columns: int
    public_models: int

    @property
    def supported(self) -> bool:
        return self.schema >= 10


def _cases() -> list[Case]:
    with (corpus_root() / "index.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Case(
            row["dir"],
            int(row["schema"].lstrip("v") or 0),
            row["dbt_version"],
            row["adapter"],
            int(row["models_with_columns"]),
            int(row["public_models"]),
        )
        for row in rows
    ]


CASES = _cases()


def test_the_corpus_is_the_one_described():
    """45 manifests, of which the supported ones are the dbt 1.6+ and Fusion ones: the test below covers each."""
    assert len(CASES) == 45
    assert sum(case.supported for case in CASES) == 30
    assert {case.adapter for case in CASES if case.supported} >= {"bigquery", "snowflake", "databricks", "duckdb"}
    assert sum(case.schema == 20 for case in CASES) == 2  # dbt Fusion 2.0
    assert sum(case.supported and case.models_with_columns > 0 for case in CASES) == 24
    # published when made public: 23, as one project's only documented models are its installed packages'
    assert sum(case.supported and _own_models_with_columns(_manifest(case)) > 0 for case in CASES) == 23


def _manifest(case: Case) -> dict:
    return json.loads(gzip.decompress((corpus_root() / case.folder / "manifest.json.gz").read_bytes()))


def _own_models_with_columns(manifest: dict) -> int:
    own = manifest["metadata"].get("project_name")
    return sum(
        1
        for uid, node in manifest["nodes"].items()
        if node.get("resource_type") == "model" and node.get("columns") and (not own or uid.split(".")[1] == own)
    )


def _made_public(manifest: dict) -> dict:
    """Every model that declares columns, public: what a team adopting meshkit would do first."""
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("columns"):
            node["access"] = "public"
            if isinstance(node.get("config"), dict):
                node["config"]["access"] = "public"
    return manifest


def _public_models(manifest: dict) -> list[dict]:
    def access(node: dict) -> object:
        return node.get("access") or (node.get("config") or {}).get("access")

    own = manifest["metadata"].get("project_name")
    return [
        n
        for uid, n in manifest["nodes"].items()
        if n.get("resource_type") in ("model", "seed", "snapshot")
        and access(n) == "public"
        and (not own or uid.split(".")[1] == own)  # an installed package's models are the package's, not published
    ]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), environ={})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _project(tmp_path: Path, case: Case, manifest: dict) -> Path:
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_bytes((corpus_root() / case.folder / "dbt_project.yml").read_bytes())
    (project / "target" / "manifest.json").write_text(json.dumps(manifest))
    return project


@pytest.mark.parametrize("made_public", [False, True], ids=["as-is", "public"])
@pytest.mark.parametrize("case", CASES, ids=[case.folder for case in CASES])
def test_every_supported_manifest_publishes_checks_syncs_and_renders(
    case: Case, made_public: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _manifest(case)
    if made_public:
        manifest = _made_public(manifest)
    project = _project(tmp_path, case, manifest)
    registry = str(tmp_path / "registry")
    name = manifest["metadata"].get("project_name") or "x"
    code, out, err = _run(capsys, "publish", "--project-dir", str(project), "--registry", registry, "--format", "json")

    if not case.supported:
        assert code == 2 and not out
        line = err.strip()
        assert "\n" not in line and "Traceback" not in err
        assert line.endswith(
            "meshkit reads manifests of dbt 1.6 or newer (schema v10+)"
            + ("" if case.schema == 0 else "; rebuild it with dbt 1.6 or newer")
        ), line
        if case.schema:
            assert f"is a dbt {case.dbt_version} manifest (schema v{case.schema}), older than meshkit supports" in line
        return

    public = _public_models(manifest)
    assert bool(public) == (_own_models_with_columns(manifest) > 0 if made_public else case.public_models > 0)
    if not public:  # nothing declares columns (or nothing is public as it is): one clear line, nothing written
        assert code == 2, err
        assert err.strip() == (
            f"meshkit publish: error: dbt project {name!r} has no public models (set `access: public` on the "
            "models consumers may use); nothing to publish"
        )
        assert not Path(registry).exists()
        return
    assert code == 0, err
    published = json.loads(out)
    assert published["status"] == "published" and len(published["public_models"]) == len(public)

    code, out, err = _run(capsys, "check", "--project-dir", str(project), "--registry", registry, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["changes"] == []  # the same build against its own contract

    downstream = tmp_path / "downstream"
    (downstream / "models").mkdir(parents=True)
    (downstream / "dbt_project.yml").write_text("name: downstream\nversion: '1'\nprofile: downstream\n")
    code, out, err = _run(
        capsys, "sync", "--project-dir", str(downstream), "--upstream", name, "--registry", registry, "--all",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    [synced] = json.loads(out)["upstreams"]
    written = yaml.safe_load((downstream / "models" / f"_mesh_{name}.yml").read_text())
    tables = [table for source in written["sources"] for table in source["tables"]]
    assert synced["tables"] == len(tables) >= len(public)
    for opener in ("{{", "{%", "{#"):
        assert opener not in json.dumps(written)

    page = tmp_path / "catalog.html"
    code, out, err = _run(capsys, "catalog", "--registry", registry, "--output", str(page))
    assert code == 0, err
    html = page.read_text()
    assert '<p class="problem">' not in html  # the env rendered as cards, not as a problem
    for node in public:
        assert node["unique_id"] in html
