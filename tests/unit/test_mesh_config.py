"""Unit tests for meshkit.yml: strict parsing, `self`, duplicates, and the repository's own file."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshkit.errors import InputError
from meshkit.mesh.config import (
    MeshConfig,
    ProjectConfig,
    UpstreamRef,
    configured_upstreams,
    consumer_repositories,
    find_mesh_config,
    load_mesh_config,
    parse_mesh_config,
)

REPO = Path(__file__).resolve().parents[2]
PATH = Path("meshkit.yml")


def test_the_repositorys_meshkit_yml():
    config = load_mesh_config(REPO / "meshkit.yml")
    assert config.projects == {"dbt_up": ProjectConfig(("self",)), "dbt_down": ProjectConfig(upstreams=("dbt_up",)),
                               "dbt_down_loom": ProjectConfig(upstreams=("dbt_up",))}
    assert consumer_repositories(config, "dbt_up", "acme/mesh") == ["acme/mesh"]
    assert consumer_repositories(config, "dbt_down", "acme/mesh") == []


def test_consumers_resolve_self_and_drop_duplicates():
    config = parse_mesh_config(
        "version: 1\nprojects:\n  up:\n    consumers: [team/a, self, Team/A, me/repo, other/b]\n  quiet:\n", PATH,
    )
    assert config.projects["quiet"] == ProjectConfig(())
    assert consumer_repositories(config, "up", "me/repo") == ["team/a", "me/repo", "other/b"]
    assert consumer_repositories(None, "up", "me/repo") == []


def test_self_needs_github_repository():
    config = MeshConfig(PATH, {"up": ProjectConfig(("self",))})
    with pytest.raises(InputError) as caught:
        consumer_repositories(config, "up", None)
    assert str(caught.value) == (
        "meshkit.yml lists self as a consumer of up but GITHUB_REPOSITORY is not set: "
        "set it to OWNER/REPO or pass --repository"
    )
    with pytest.raises(InputError, match=r"^GITHUB_REPOSITORY 'nope' is not a GitHub repository"):
        consumer_repositories(config, "up", "nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "meshkit.yml is not a meshkit config: expected a mapping with version: 1 and projects"),
        ("- a\n", "meshkit.yml is not a meshkit config: expected a mapping with version: 1 and projects"),
        ("version: [\n", "meshkit.yml is not valid YAML (line 2): fix the file"),
        ("projects: {}\n", "meshkit.yml: version must be 1 (found None)"),
        ("version: 2\n", "meshkit.yml: version must be 1 (found 2)"),
        ("version: true\n", "meshkit.yml: version must be 1 (found True)"),
        ("version: '1'\n", "meshkit.yml: version must be 1 (found '1')"),
        ("version: 1\nprojets: {}\n", "meshkit.yml: unknown key 'projets' at the top level: expected version, projects"),
        ("version: 1\nprojects: [up]\n", "meshkit.yml: projects must be a mapping of project name to its consumers"),
        ("version: 1\nprojects:\n  up:\n    consumer: [a/b]\n",
         "meshkit.yml: unknown key 'consumer' in projects.up: expected consumers, upstreams"),
        ("version: 1\nprojects:\n  up: [a/b]\n",
         "meshkit.yml: projects.up must be a mapping with consumers and/or upstreams lists"),
        ("version: 1\nprojects:\n  down:\n    upstreams: up\n",
         "meshkit.yml: projects.down.upstreams must be a list of NAME or NAME@ENV"),
        ("version: 1\nprojects:\n  down:\n    upstreams: ['up@../x']\n",
         "meshkit.yml: projects.down.upstreams: env name '../x' is not allowed: use letters, digits, '_' and '-' "
         "(for example prod, staging, dev)"),
        ("version: 1\nprojects:\n  down:\n    upstreams: [7]\n",
         "meshkit.yml: projects.down.upstreams: 7 is not NAME or NAME@ENV"),
        ("version: 1\nprojects:\n  down:\n    upstreams: [up-stream]\n",
         "meshkit.yml: projects.down.upstreams: upstream name 'up-stream' is not allowed: use letters, digits and '_' "
         "(starting with a letter or '_'), as dbt project names do"),
        ("version: 1\nprojects:\n  up:\n    consumers: a/b\n",
         "meshkit.yml: projects.up.consumers must be a list of OWNER/REPO or self"),
        ("version: 1\nprojects:\n  up:\n    consumers: [a/b/c]\n",
         "meshkit.yml: consumer in projects.up.consumers 'a/b/c' is not a GitHub repository: "
         "use OWNER/REPO (letters, digits, '-', '.', '_')"),
        ("version: 1\nprojects:\n  up:\n    consumers: [o/..]\n",
         "meshkit.yml: consumer in projects.up.consumers 'o/..' is not a GitHub repository: "
         "use OWNER/REPO (letters, digits, '-', '.', '_')"),
        ("version: 1\nprojects:\n  up:\n    consumers: [7]\n",
         "meshkit.yml: consumer in projects.up.consumers 7 is not a GitHub repository: "
         "use OWNER/REPO (letters, digits, '-', '.', '_')"),
        ("version: 1\nprojects:\n  ../up: {}\n",
         "meshkit.yml: project name '../up' is not allowed: use letters, digits and '_' "
         "(starting with a letter or '_'), as dbt project names do"),
    ],
)
def test_config_errors(text, expected):
    with pytest.raises(InputError) as caught:
        parse_mesh_config(text, PATH)
    assert str(caught.value) == expected
    assert "\n" not in str(caught.value)


def test_configured_upstreams_take_the_default_env_unless_given():
    config = parse_mesh_config("version: 1\nprojects:\n  down:\n    upstreams: [up, other@staging]\n", PATH)
    assert configured_upstreams(config, "down", "prod") == [UpstreamRef("up", "prod"), UpstreamRef("other", "staging")]
    for missing in (config, None):
        with pytest.raises(InputError) as caught:
            configured_upstreams(missing, "elsewhere", "prod")
        assert str(caught.value) == (
            "no upstreams for elsewhere: pass --upstream NAME[@ENV] or list them in meshkit.yml under "
            "projects.elsewhere.upstreams")


def test_find_mesh_config(tmp_path: Path):
    assert find_mesh_config(None, tmp_path) is None
    (tmp_path / "meshkit.yml").write_text("version: 1\n")
    assert find_mesh_config(None, tmp_path) == MeshConfig(tmp_path / "meshkit.yml", {})
    with pytest.raises(InputError, match=r"^config file .*other.yml does not exist: pass --config"):
        find_mesh_config(tmp_path / "other.yml", tmp_path)


def test_unreadable_files(tmp_path: Path):
    (tmp_path / "bin.yml").write_bytes(b"version: 1\n\xff\n")
    with pytest.raises(InputError, match=r"bin.yml is not UTF-8 text: fix the file$"):
        load_mesh_config(tmp_path / "bin.yml")
    with pytest.raises(InputError, match=r"^cannot read config file .*: Is a directory$"):
        load_mesh_config(tmp_path)
