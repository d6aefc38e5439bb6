"""meshkit.report.catalog: which registry folders become catalog entries."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path

from meshkit.mesh.publish import PublishRequest, publish
from meshkit.registry.local import LocalRegistry
from meshkit.report.catalog import build_catalog

DATA = Path(__file__).parents[1] / "data"


def _publish(registry: LocalRegistry, tmp_path: Path, env: str) -> None:
    project = tmp_path / "shop"
    if not project.exists():
        (project / "target").mkdir(parents=True)
        (project / "dbt_project.yml").write_text("name: shop\n")
        shutil.copy(DATA / "manifest_shop.json", project / "target" / "manifest.json")
    publish(
        PublishRequest(
            project_dir=project, project="shop", env=env, git_commit=None, now=datetime(2025, 1, 1, tzinfo=timezone.utc)
        ),
        registry,
    )


def test_every_valid_env_name_is_catalogued_and_foreign_folders_are_skipped(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    _publish(registry, tmp_path, "prod")
    _publish(registry, tmp_path, "staging-eu")  # a legal env name (check_env allows '-')
    foreign = tmp_path / "registry" / "up$x" / "prod" / "latest"  # not a project name: never published by meshkit
    foreign.mkdir(parents=True)
    (foreign / "metadata.json").write_text("{}")

    catalog = build_catalog(registry, today=date(2025, 1, 2))

    assert [(e.project, e.env, e.problem) for e in catalog.entries] == [
        ("shop", "prod", None),
        ("shop", "staging-eu", None),
    ]
