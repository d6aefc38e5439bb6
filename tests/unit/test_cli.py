"""Unit tests for the `meshkit` command, run in-process: exit codes, help and one-line errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from meshkit import __version__
from meshkit.cli import main

DATA = Path(__file__).parents[1] / "data"
EXIT_CODES = (
    "exit codes:",
    "0  success",
    "1  the check found problems",
    "2  usage or input error",
    "3  internal error in meshkit",
)


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


def _down_project(tmp_path: Path, *tables: str) -> Path:
    down = tmp_path / "down"
    (down / "models").mkdir(parents=True)
    (down / "dbt_project.yml").write_text("name: down\n")
    for table in tables:
        (down / "models" / f"read_{table}.sql").write_text(f"select * from {{{{ source('shop', '{table}') }}}}\n")
    return down


def _shop_project(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\n")
    (project / "target" / "manifest.json").write_bytes((DATA / "manifest_shop.json").read_bytes())
    return project


@pytest.mark.parametrize("argv", [["--help"], ["publish", "--help"], ["sync", "--help"], ["validate", "--help"]])
def test_help_exits_0_and_lists_exit_codes(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    for text in EXIT_CODES:
        assert text in out
    assert out.startswith(f"usage: meshkit {argv[0] if argv[0] != '--help' else ''}".rstrip())


def test_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"meshkit {__version__}\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["sync", "--only"],  # --only needs NAME@ENV
        ["publish", "--no-such-flag"],
        ["validate", "--format", "html"],
        ["publish", "--format", "markdown"],
        ["validate", "--manifest", "x.json", "--today", "yesterday"],
        ["validate", "--all", "--deprecation-window-days", "soon"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "usage: meshkit" in err
    assert "Traceback" not in err


def test_validate_with_nothing_to_validate(capsys):
    assert main(["validate"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert _one_line(err) == (
        "meshkit validate: error: nothing to validate: pass --all, --project NAME or --manifest PATH"
    )


def test_publish_in_a_folder_that_is_not_a_dbt_project(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    registry = tmp_path / "reg"
    assert main(["publish", "--project-dir", str(empty), "--registry", str(registry)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert _one_line(err) == (
        f"meshkit publish: error: {empty} is not a dbt project (no dbt_project.yml): pass --project-dir"
    )
    assert not registry.exists()


def test_publish_dbt_project_yml_without_name(tmp_path, capsys):
    project = _shop_project(tmp_path)
    (project / "dbt_project.yml").write_text("version: '1.0'\n")
    assert main(["publish", "--project-dir", str(project), "--registry", str(tmp_path / "reg")]) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"meshkit publish: error: {project / 'dbt_project.yml'} has no project name: pass --project"
    )


def test_publish_unsafe_env(tmp_path, capsys):
    project = _shop_project(tmp_path)
    code = main(["publish", "--project-dir", str(project), "--registry", str(tmp_path / "reg"), "--env", "../prod"])
    assert code == 2
    assert _one_line(capsys.readouterr().err).startswith("meshkit publish: error: env name '../prod' is not allowed")
    assert not (tmp_path / "reg").exists()


def test_unsupported_registry_url(tmp_path, capsys):
    project = _shop_project(tmp_path)
    argv = ["publish", "--project-dir", str(project), "--registry", "ftp://bucket/x", "--git-commit", "abc1234"]
    assert main(argv) == 2
    assert _one_line(capsys.readouterr().err) == (
        "meshkit publish: error: unsupported registry URL 'ftp://bucket/x': use a folder path, s3://BUCKET/PREFIX, "
        "gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"
    )


def test_publish_sync_validate_round_trip(tmp_path, capsys):
    project = _shop_project(tmp_path)
    registry = str(tmp_path / "reg")
    base = ["--registry", registry]

    assert main(["publish", "--project-dir", str(project), *base, "--git-commit", "abc1234", "--format", "json"]) == 0
    published = orjson.loads(capsys.readouterr().out)
    assert (published["command"], published["status"], published["kind"]) == ("publish", "published", "contract")

    assert main(["publish", "--project-dir", str(project), *base, "--git-commit", "abc1234"]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"shop/prod: contract unchanged (sha256 {published['sha256'][:12]}), no new history entry; "
        "pass --force to republish\n"
    )

    down = _down_project(tmp_path, "orders")
    mesh_file = down / "models" / "_mesh_shop.yml"
    sync = ["sync", "--project-dir", str(down), "--upstream", "shop", *base]

    assert main([*sync, "--check"]) == 1
    assert capsys.readouterr().out == (
        f"shop/prod (sha256 {published['sha256'][:12]}): MISSING, run `meshkit sync` to generate: {mesh_file}\n"
    )
    assert not mesh_file.exists()
    assert main(sync) == 0
    assert capsys.readouterr().out == (
        f"shop/prod (sha256 {published['sha256'][:12]}): wrote 1 of 4 source tables (used by the project) "
        f"to {mesh_file}\n"
    )
    assert main([*sync, "--check", "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["upstreams"][0]["status"] == "up-to-date"

    manifest = tmp_path / "down_loom.json"
    manifest.write_bytes((DATA / "manifest_down_loom.json").read_bytes())
    validate = ["validate", "--manifest", str(manifest), *base, "--today", "2025-01-01"]
    assert main(validate) == 0
    out = capsys.readouterr().out
    assert out.endswith("OK: 1 cross-project dependency in 1 project, 0 errors, 0 warnings\n")
    assert main([*validate, "--env", "staging", "--format", "json"]) == 1
    document = orjson.loads(capsys.readouterr().out)
    assert (document["ok"], document["error_count"]) == (False, 1)
    assert document["projects"][0]["findings"][0]["code"] == "unknown-upstream"


def test_sync_reads_its_upstreams_from_meshkit_yml_and_only_syncs_a_dispatched_one(tmp_path, capsys):
    project = _shop_project(tmp_path)
    base = ["--registry", str(tmp_path / "reg")]
    assert main(["publish", "--project-dir", str(project), *base, "--git-commit", "abc1234"]) == 0
    capsys.readouterr()
    down = tmp_path / "down"
    down.mkdir()
    (down / "dbt_project.yml").write_text("name: down\n")
    config = tmp_path / "meshkit.yml"
    config.write_text("version: 1\nprojects:\n  down:\n    upstreams: [shop]\n")
    sync = ["sync", "--project-dir", str(down), "--config", str(config), *base, "--format", "json"]

    assert main([*sync, "--only", "shop@staging"]) == 0
    document = orjson.loads(capsys.readouterr().out)
    assert document["upstreams"] == [] and document["note"] == (
        "shop@staging is not an upstream of this project (it reads shop@prod): nothing to sync"
    )
    assert not (down / "models").exists()

    assert main([*sync, "--only", "shop@prod"]) == 0
    [outcome] = orjson.loads(capsys.readouterr().out)["upstreams"]
    assert (outcome["upstream"], outcome["env"], outcome["status"]) == ("shop", "prod", "written")

    config.write_text("version: 1\nprojects:\n  down: {}\n")
    assert main(sync) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"meshkit sync: error: no upstreams for down: pass --upstream NAME[@ENV] or list them in {config} under "
        "projects.down.upstreams"
    )


def test_sync_upstream_not_published(tmp_path, capsys):
    down = tmp_path / "down"
    down.mkdir()
    (down / "dbt_project.yml").write_text("name: down\n")
    code = main(["sync", "--project-dir", str(down), "--upstream", "shop@dev", "--registry", str(tmp_path / "reg")])
    assert code == 2
    assert _one_line(capsys.readouterr().err) == (
        f"meshkit sync: error: registry {(tmp_path / 'reg').resolve()} has no project 'shop' (it is empty): "
        "publish it first or fix the name"
    )


def test_validate_corrupt_manifest(tmp_path, capsys):
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(b'{"metadata": {')
    assert main(["validate", "--manifest", str(manifest), "--registry", str(tmp_path / "reg")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"meshkit validate: error: {manifest} is not valid JSON (")


def _published_shop(tmp_path: Path, capsys) -> list[str]:
    base = ["--registry", str(tmp_path / "reg")]
    assert main(["publish", "--project-dir", str(_shop_project(tmp_path)), *base, "--git-commit", "abc1234"]) == 0
    capsys.readouterr()
    return base


def _synced_tables(down: Path) -> list[str]:
    import yaml

    document = yaml.safe_load((down / "models" / "_mesh_shop.yml").read_bytes())
    return [t["name"] for source in document["sources"] for t in source["tables"]]


def test_sync_include_and_all(tmp_path, capsys):
    base = _published_shop(tmp_path, capsys)
    down = _down_project(tmp_path, "orders")
    sync = ["sync", "--project-dir", str(down), "--upstream", "shop", *base, "--format", "json"]
    assert main([*sync, "--include", "customers_v1", "--include", "shop.customers"]) == 0
    [outcome] = orjson.loads(capsys.readouterr().out)["upstreams"]
    assert (outcome["status"], outcome["tables"], outcome["published"], outcome["selection"]) == (
        "written",
        3,
        4,
        "used",
    )
    assert _synced_tables(down) == ["customers", "customers_v1", "orders"]
    assert main([*sync, "--all"]) == 0
    [outcome] = orjson.loads(capsys.readouterr().out)["upstreams"]
    assert (outcome["status"], outcome["tables"], outcome["selection"]) == ("written", 4, "all")
    assert main(sync) == 0
    assert orjson.loads(capsys.readouterr().out)["upstreams"][0]["tables"] == 1
    assert _synced_tables(down) == ["orders"]


@pytest.mark.parametrize(
    ("include", "upstreams", "expected"),
    [
        (
            "orders-v2",
            ["shop"],
            "--include 'orders-v2': 'orders-v2' is not a table name: use letters, digits, '_' and "
            "'$', not starting with a digit (e.g. orders or customers_v2)",
        ),
        (
            "shop.",
            ["shop"],
            "--include 'shop.': '' is not a table name: use letters, digits, '_' and '$', not starting "
            "with a digit (e.g. orders or customers_v2)",
        ),
        (
            "../x.orders",
            ["shop"],
            "--include '../x.orders': --include upstream name '../x' is not allowed: use letters, "
            "digits and '_' (starting with a letter or '_'), as dbt project names do; write TABLE or "
            "UPSTREAM.TABLE",
        ),
        (
            "billing.invoices",
            ["shop"],
            "--include 'billing.invoices' names upstream 'billing', which this sync does not read (it reads shop)",
        ),
        (
            "orders",
            ["shop", "billing"],
            "--include 'orders' does not say which upstream it is for: write UPSTREAM.TABLE "
            "(this sync reads shop, billing)",
        ),
    ],
)
def test_sync_bad_include_is_one_line_and_writes_nothing(tmp_path, capsys, include, upstreams, expected):
    base = _published_shop(tmp_path, capsys)
    down = _down_project(tmp_path, "orders")
    argv = ["sync", "--project-dir", str(down), *base, "--include", include]
    for upstream in upstreams:
        argv += ["--upstream", upstream]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and _one_line(err) == f"meshkit sync: error: {expected}"
    assert sorted(p.name for p in (down / "models").iterdir()) == ["read_orders.sql"]


def test_sync_includes_from_meshkit_yml(tmp_path, capsys):
    base = _published_shop(tmp_path, capsys)
    down = _down_project(tmp_path, "orders")
    config = tmp_path / "meshkit.yml"
    config.write_text(
        "version: 1\nprojects:\n  down:\n    upstreams:\n      - upstream: shop@prod\n        include: [customers_v2]\n"
    )
    from_config = ["sync", "--project-dir", str(down), "--config", str(config), *base, "--format", "json"]
    assert main(from_config) == 0
    assert orjson.loads(capsys.readouterr().out)["upstreams"][0]["tables"] == 2
    assert _synced_tables(down) == ["customers_v2", "orders"]
    # the same file whichever way the upstream is named: --upstream still applies meshkit.yml's include list
    assert main([*from_config, "--upstream", "shop", "--include", "customers"]) == 0
    assert _synced_tables(down) == ["customers", "customers_v2", "orders"]
    capsys.readouterr()
    assert main([*from_config, "--upstream", "shop", "--check"]) == 1
    assert main([*from_config, "--upstream", "shop"]) == 0
    assert _synced_tables(down) == ["customers_v2", "orders"]
    capsys.readouterr()
    assert main([*from_config, "--check"]) == 0
    assert orjson.loads(capsys.readouterr().out)["upstreams"][0]["status"] == "up-to-date"


def test_sync_help_documents_the_selection(capsys):
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in (
        "--include [UPSTREAM.]TABLE",
        "--all",
        "By default only the tables the project reads",
        "source('<upstream>', '<table>')",
        "without fetching the manifest",
    ):
        assert text in out, text
