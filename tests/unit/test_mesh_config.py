"""Unit tests for meshkit.yml: strict parsing, `self`, duplicates, and the repository's own file."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshkit.errors import InputError
from meshkit.mesh.config import (
    MeshConfig,
    ProjectConfig,
    UpstreamRef,
    check_includes,
    configured_fallback,
    configured_includes,
    configured_upstreams,
    consumer_repositories,
    find_mesh_config,
    load_mesh_config,
    parse_includes,
    parse_mesh_config,
)

REPO = Path(__file__).resolve().parents[2]
PATH = Path("meshkit.yml")


def test_the_repositorys_meshkit_yml():
    config = load_mesh_config(REPO / "meshkit.yml")
    assert config.projects == {
        "dbt_up": ProjectConfig(("self",)),
        "dbt_down": ProjectConfig(upstreams=("dbt_up",)),
        "dbt_down_loom": ProjectConfig(upstreams=("dbt_up",)),
    }
    assert consumer_repositories(config, "dbt_up", "acme/mesh") == ["acme/mesh"]
    assert consumer_repositories(config, "dbt_down", "acme/mesh") == []


def test_consumers_resolve_self_and_drop_duplicates():
    config = parse_mesh_config(
        "version: 1\nprojects:\n  up:\n    consumers: [team/a, self, Team/A, me/repo, other/b]\n  quiet:\n",
        PATH,
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
        (
            "version: 1\nprojets: {}\n",
            "meshkit.yml: unknown key 'projets' at the top level: expected version, projects",
        ),
        ("version: 1\nprojects: [up]\n", "meshkit.yml: projects must be a mapping of project name to its consumers"),
        (
            "version: 1\nprojects:\n  up:\n    consumer: [a/b]\n",
            "meshkit.yml: unknown key 'consumer' in projects.up: expected consumers, upstreams, fallback_envs",
        ),
        (
            "version: 1\nprojects:\n  down:\n    fallback_envs: prod\n",
            "meshkit.yml: projects.down.fallback_envs must be a list of env names, e.g. [staging, prod]",
        ),
        (
            "version: 1\nprojects:\n  down:\n    fallback_envs: [staging, '../prod']\n",
            "meshkit.yml: projects.down.fallback_envs: env name '../prod' is not allowed: use letters, digits, '_' "
            "and '-' (for example prod, staging, dev)",
        ),
        (
            "version: 1\nprojects:\n  up: [a/b]\n",
            "meshkit.yml: projects.up must be a mapping with consumers, upstreams and/or fallback_envs lists",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: up\n",
            "meshkit.yml: projects.down.upstreams must be a list of NAME, NAME@ENV or a mapping with upstream: "
            "NAME[@ENV] and include: [TABLE, ...]",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: ['up@../x']\n",
            "meshkit.yml: projects.down.upstreams: env name '../x' is not allowed: use letters, digits, '_' and '-' "
            "(for example prod, staging, dev)",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [7]\n",
            "meshkit.yml: projects.down.upstreams: 7 is not NAME, NAME@ENV or a mapping with upstream: NAME[@ENV] and "
            "include: [TABLE, ...]",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [{upstream: up, includes: [a]}]\n",
            "meshkit.yml: projects.down.upstreams: unknown key 'includes' in an upstream entry: "
            "expected upstream, include",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [{include: [a]}]\n",
            "meshkit.yml: projects.down.upstreams: an upstream entry needs upstream: NAME or NAME@ENV (found None)",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [{upstream: 'up@../x'}]\n",
            "meshkit.yml: projects.down.upstreams: env name '../x' is not allowed: use letters, digits, '_' and '-' "
            "(for example prod, staging, dev)",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [{upstream: up, include: a}]\n",
            "meshkit.yml: projects.down.upstreams: include of up must be a list of table names",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [{upstream: up, include: ['a b']}]\n",
            "meshkit.yml: projects.down.upstreams: include of up: 'a b' is not a table name: use letters, digits, '_' "
            "and '$', not starting with a digit (e.g. orders or customers_v2)",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [{upstream: up, include: [up.orders]}]\n",
            "meshkit.yml: projects.down.upstreams: include of up: 'up.orders' is not a table name: use letters, "
            "digits, '_' and '$', not starting with a digit (e.g. orders or customers_v2)",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [{upstream: up, include: [7]}]\n",
            "meshkit.yml: projects.down.upstreams: include of up: 7 is not a table name: use letters, digits, '_' "
            "and '$', not starting with a digit (e.g. orders or customers_v2)",
        ),
        (
            "version: 1\nprojects:\n  down:\n    upstreams: [up-stream]\n",
            "meshkit.yml: projects.down.upstreams: upstream name 'up-stream' is not allowed: use letters, digits and '_' "
            "(starting with a letter or '_'), as dbt project names do",
        ),
        (
            "version: 1\nprojects:\n  up:\n    consumers: a/b\n",
            "meshkit.yml: projects.up.consumers must be a list of OWNER/REPO or self",
        ),
        (
            "version: 1\nprojects:\n  up:\n    consumers: [a/b/c]\n",
            "meshkit.yml: consumer in projects.up.consumers 'a/b/c' is not a GitHub repository: "
            "use OWNER/REPO (letters, digits, '-', '.', '_')",
        ),
        (
            "version: 1\nprojects:\n  up:\n    consumers: [o/..]\n",
            "meshkit.yml: consumer in projects.up.consumers 'o/..' is not a GitHub repository: "
            "use OWNER/REPO (letters, digits, '-', '.', '_')",
        ),
        (
            "version: 1\nprojects:\n  up:\n    consumers: [7]\n",
            "meshkit.yml: consumer in projects.up.consumers 7 is not a GitHub repository: "
            "use OWNER/REPO (letters, digits, '-', '.', '_')",
        ),
        (
            "version: 1\nprojects:\n  ../up: {}\n",
            "meshkit.yml: project name '../up' is not allowed: use letters, digits and '_' "
            "(starting with a letter or '_'), as dbt project names do",
        ),
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
            "projects.elsewhere.upstreams"
        )


def test_upstream_entries_with_include_lists():
    config = parse_mesh_config(
        "version: 1\nprojects:\n  down:\n    upstreams:\n      - plain\n"
        "      - upstream: up@staging\n        include: [orders, customers_v2, orders]\n"
        "      - {upstream: bare}\n      - {upstream: empty, include: []}\n",
        PATH,
    )
    assert config.projects["down"] == ProjectConfig(
        upstreams=("plain", "up@staging", "bare", "empty"), include={"up": ("orders", "customers_v2")}
    )
    assert configured_upstreams(config, "down", "prod") == [
        UpstreamRef("plain", "prod"),
        UpstreamRef("up", "staging"),
        UpstreamRef("bare", "prod"),
        UpstreamRef("empty", "prod"),
    ]
    assert configured_includes(config, "down") == {"up": ("orders", "customers_v2")}
    assert configured_includes(config, "elsewhere") == {} and configured_includes(None, "down") == {}


def test_parse_includes():
    up, other = UpstreamRef("up", "prod"), UpstreamRef("other", "prod")
    assert parse_includes(["orders", "up.customers", "orders"], [up]) == {"up": ("orders", "customers")}
    assert parse_includes(["up.a", "other.b"], [up, other]) == {"up": ("a",), "other": ("b",)}
    assert parse_includes(["other.b", "a"], [up], [up, other]) == {"up": ("a",)}  # other skipped by --only
    assert parse_includes([], [up, other]) == {}
    with pytest.raises(InputError, match=r"^--include 'a' does not say which upstream it is for"):
        parse_includes(["a"], [up, other])
    with pytest.raises(InputError, match=r"^--include 'x.a' names upstream 'x', which this sync does not read"):
        parse_includes(["x.a"], [up], [up, other])
    with pytest.raises(InputError, match=r"^--include 'a-b': 'a-b' is not a table name"):
        check_includes(["ok", "a-b"])


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
    with pytest.raises(
        InputError, match=r"^cannot read config file .*: not a regular file \(a folder, FIFO or device\)$"
    ):
        load_mesh_config(tmp_path)


def test_fallback_envs_in_order_each_once():
    config = parse_mesh_config(
        "version: 1\nprojects:\n  down:\n    upstreams: [up]\n    fallback_envs: [staging, prod, staging]\n", PATH
    )
    assert configured_fallback(config, "down") == ("staging", "prod")
    assert configured_fallback(config, "other") == ()
    assert configured_fallback(None, "down") == ()
