"""Unit tests for meshkit.mesh.usage: the upstream tables a dbt project's files read through source()."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshkit.errors import InputError
from meshkit.mesh.usage import Uncertain, scan_usage


def _project(tmp_path: Path, files: dict[str, str | bytes], project_yml: str = "name: down\n") -> Path:
    root = tmp_path / "down"
    root.mkdir(parents=True)
    (root / "dbt_project.yml").write_text(project_yml)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def _scan(tmp_path: Path, text: str, name: str = "models/m.sql", **extra: str) -> tuple[dict, list[Uncertain]]:
    usage = scan_usage(_project(tmp_path, {name: text, **extra}))
    return {up: sorted(tables) for up, tables in usage.tables.items()}, usage.uncertain


@pytest.mark.parametrize(
    "sql",
    [
        "select * from {{ source('up', 't') }}",
        'select * from {{ source("up", "t") }}',
        "select * from {{ source( 'up' , \"t\" ) }}",
        "select * from {{source('up','t')}}",
        "select * from {{- source(\n    'up',\n    't'\n) -}}",
        "select * from {{ builtins.source('up', 't') }}",
        "select * from {{ source('u' ~ 'p', 't') }}",  # constant folding, as Jinja itself does
        "{% if target.name == 'prod' %}select * from {{ source('up', 't') }}{% else %}select 1{% endif %}",
        "{% for i in range(3) %}{{ source('up', 't') }}{% endfor %}",
        "{% set rel = source('up', 't') %}select * from {{ rel }}",
        "{% set q %}select * from {{ source('up', 't') }}{% endset %}{{ q }}",
        "{% call statement('x') %}select * from {{ source('up', 't') }}{% endcall %}",
        "{% do log(source('up', 't')) %}",
        "-- {{ source('up', 't') }} (a SQL comment is still Jinja: dbt resolves it)\nselect 1",
        "{{ config(materialized='table') }}\nselect * from {{ source('up', 't') | string }}",
    ],
)
def test_constant_calls_are_found(tmp_path, sql):
    assert _scan(tmp_path, sql) == ({"up": ["t"]}, [])


@pytest.mark.parametrize(
    "sql",
    [
        "{# select * from {{ source('up', 'x') }} #}select 1",
        "{# source('up','x') #}select 1",
        "{% raw %}{{ source('up', 'x') }}{% endraw %}",
        "select 'source(''up'', ''x'')' as text",  # SQL text, not Jinja
    ],
)
def test_comments_raw_blocks_and_plain_text_are_not_calls(tmp_path, sql):
    assert _scan(tmp_path, sql) == ({}, [])


def test_calls_in_macros_tests_snapshots_materializations_and_docs(tmp_path):
    files = {
        "macros/m.sql": (
            "{% macro pick(a: str, b: Dict[str, int] = none) %}{{ source('up', 'in_macro') }}{% endmacro %}"
        ),
        "macros/mat.sql": (
            "{% materialization mine, adapter='duckdb', supported_languages=['sql'] %}"
            "{{ source('up', 'in_materialization') }}{% endmaterialization %}"
        ),
        "macros/doc.sql": "{% docs d %}{{ source('up', 'in_docs') }}{% enddocs %}",
        "tests/generic/t.sql": "{% test positive(model, column_name) %}{{ source('up', 'in_test') }}{% endtest %}",
        "tests/generic/d.sql": "{% data_test big(model) %}{{ source('up', 'in_data_test') }}{% enddata_test %}",
        "tests/singular.sql": "select * from {{ source('up', 'in_singular_test') }}",
        "snapshots/s.sql": (
            "{% snapshot snap %}{{ config(strategy='check') }}"
            "select * from {{ source('up', 'in_snapshot') }}{% endsnapshot %}"
        ),
        "analyses/a.sql": "select * from {{ source('up', 'in_analysis') }}",
    }
    usage = scan_usage(_project(tmp_path, files))
    assert usage.uncertain == []
    assert sorted(usage.used("up")) == [
        "in_analysis",
        "in_data_test",
        "in_docs",
        "in_macro",
        "in_materialization",
        "in_singular_test",
        "in_snapshot",
        "in_test",
    ]
    assert usage.first_use[("up", "in_snapshot")] == "snapshots/s.sql:1"


def test_calls_name_every_upstream_they_read(tmp_path):
    tables, uncertain = _scan(tmp_path, "{{ source('up', 'a') }} {{ source('up', 'b') }}\n{{ source('raw', 'c') }}")
    assert (tables, uncertain) == ({"up": ["a", "b"], "raw": ["c"]}, [])


@pytest.mark.parametrize(
    ("sql", "upstream", "why"),
    [
        ("{{ source('up', var('table')) }}", "up", "calls source('up', ...) with a table name that is not a constant"),
        (
            "{% set t = 'x' %}{{ source('up', t) }}",
            "up",
            "calls source('up', ...) with a table name that is not a constant",
        ),
        ("{{ source('up') }}", "up", "calls source('up', ...) with a table name that is not a constant"),
        ("{{ source('up', 't', 'x') }}", "up", "calls source('up', ...) with a table name that is not a constant"),
        (
            "{{ source('up', table_name='t') }}",
            "up",
            "calls source('up', ...) with a table name that is not a constant",
        ),
        ("{{ source(var('up'), 't') }}", None, "calls source() with an upstream name that is not a constant"),
        ("{{ source(*args) }}", None, "calls source() with an upstream name that is not a constant"),
        ("{% set s = source %}{{ s('up', 't') }}", None, "uses source without calling it with constant names"),
    ],
)
def test_calls_with_names_that_are_not_constants_are_uncertain(tmp_path, sql, upstream, why):
    tables, uncertain = _scan(tmp_path, "select 1\n" + sql)
    assert tables == {}
    assert uncertain == [Uncertain("models/m.sql:2", why, upstream)]


def test_a_loop_variable_named_source_is_not_dbts_source(tmp_path):
    sql = "{% for source in graph.sources.values() %}{{ source.name }}{% endfor %}{{ source('up', 't') }}"
    assert _scan(tmp_path, sql) == ({"up": ["t"]}, [])


def test_uncertain_places_are_kept_per_upstream(tmp_path):
    usage = scan_usage(_project(tmp_path, {"models/m.sql": "{{ source('up', x) }}\n{{ source('other', 'y') }}"}))
    assert usage.uncertain_for("up") == [
        Uncertain("models/m.sql:1", "calls source('up', ...) with a table name that is not a constant", "up")
    ]
    assert usage.uncertain_for("other") == [] and usage.used("other") == {"y"}


@pytest.mark.parametrize(
    ("text", "where", "start"),
    [
        ("select 1\n{% if %}\n{{ source('up', 't') }}", "models/m.sql:2", "cannot be parsed as Jinja ("),
        ("{{ source('up', 't') }\n", "models/m.sql:1", "cannot be parsed as Jinja ("),
        ("{% macro m() %}{{ source('up', 't') }}", "models/m.sql:1", "cannot be parsed as Jinja ("),
        ("{% unknowntag %}{{ source('up', 't') }}", "models/m.sql:1", "cannot be parsed as Jinja ("),
    ],
)
def test_an_unparseable_file_is_uncertain_for_every_upstream(tmp_path, text, where, start):
    tables, [uncertain] = _scan(tmp_path, text)
    assert tables == {}
    assert (uncertain.where, uncertain.upstream) == (where, None) and uncertain.why.startswith(start)


def test_files_that_never_spell_source_are_not_parsed(tmp_path):
    assert _scan(tmp_path, "{% if %} broken, but it cannot call anything") == ({}, [])


def test_not_utf8_is_uncertain(tmp_path):
    usage = scan_usage(_project(tmp_path, {"models/m.sql": b"select '\xff' from {{ source('up', 't') }}"}))
    assert usage.uncertain == [Uncertain("models/m.sql", "is not UTF-8 text, so it cannot be parsed", None)]


def test_python_models(tmp_path):
    model = (
        "def model(dbt, session):\n"
        '    orders = dbt.source("up", "orders")\n'
        "    people = dbt.source('up', 'people')\n"
        "    other = something.source('up', 'not_dbt')\n"
        "    return orders.join(people)\n"
    )
    assert _scan(tmp_path, model, "models/py_model.py") == ({"up": ["orders", "people"]}, [])


@pytest.mark.parametrize(
    ("model", "why", "upstream"),
    [
        (
            "def model(dbt, s):\n    t = 'x'\n    return dbt.source('up', t)\n",
            "calls dbt.source('up', ...) with a table name that is not a constant",
            "up",
        ),
        (
            "def model(dbt, s):\n    u = 'up'\n    return dbt.source(u, 't')\n",
            "calls dbt.source() with an upstream name that is not a constant",
            None,
        ),
        (
            "def model(dbt, s):\n  x = 1\n   return dbt.source('up', 't')\n",
            "cannot be parsed as Python (IndentationError)",
            None,
        ),
    ],
)
def test_python_models_that_cannot_be_read(tmp_path, model, why, upstream):
    tables, [uncertain] = _scan(tmp_path, model, "models/py_model.py")
    assert tables == {} and (uncertain.where, uncertain.why, uncertain.upstream) == (
        "models/py_model.py:3",
        why,
        upstream,
    )


def test_python_files_outside_the_model_paths_are_not_models(tmp_path):
    assert _scan(tmp_path, "dbt.source(u, 't')\n", "macros/helper.py") == ({}, [])


def test_yaml_expressions_and_jinja_are_read_prose_is_not(tmp_path):
    schema = """
version: 2
models:
  - name: m
    description: "Reads source('up', 'prose') daily; see {{ doc('m') }}."
    columns:
      - name: id
        data_tests:
          - relationships:
              to: source('up', 'related')
              field: id
    config:
      post_hook: "grant select on {{ source('up', 'hooked') }} to role x"
exposures:
  - name: dash
    type: dashboard
    owner: {name: me}
    depends_on:
      - ref('m')
      - source("up", "exposed")
"""
    usage = scan_usage(_project(tmp_path, {"models/schema.yml": schema}))
    assert usage.uncertain == []
    assert sorted(usage.used("up")) == ["exposed", "hooked", "related"]
    assert usage.first_use[("up", "related")] == "models/schema.yml:10"


def test_dbt_project_yml_hooks_are_read(tmp_path):
    project_yml = "name: down\non-run-end:\n  - \"insert into log select * from {{ source('up', 'audit') }}\"\n"
    usage = scan_usage(_project(tmp_path, {}, project_yml))
    assert usage.used("up") == {"audit"} and usage.first_use[("up", "audit")] == "dbt_project.yml:3"


def test_bad_yaml_is_uncertain_and_generated_files_are_skipped(tmp_path):
    files = {
        "models/bad.yml": "models: [\n  source('up', 't')\n",
        "models/_mesh_up.yml": "# Generated by `meshkit sync` from the up/prod contract\n"
        "sources:\n- name: up\n  description: \"source('up', 'x' is prose)\"\n",
    }
    usage = scan_usage(_project(tmp_path, files))
    assert usage.tables == {}
    [uncertain] = usage.uncertain
    assert uncertain.where.startswith("models/bad.yml:") and (uncertain.why, uncertain.upstream) == (
        "cannot be parsed as YAML",
        None,
    )


def test_paths_come_from_dbt_project_yml(tmp_path):
    project_yml = (
        "name: down\nmodel-paths: [transform]\nmacro-paths: ['macros', 'shared']\ntest-paths: []\ntarget-path: build\n"
    )
    files = {
        "transform/a.sql": "{{ source('up', 'a') }}",
        "shared/b.sql": "{{ source('up', 'b') }}",
        "models/not_a_model_path.sql": "{{ source('up', 'ignored') }}",
        "tests/not_a_test_path.sql": "{{ source('up', 'ignored') }}",
        "transform/notes.md": "{{ source('up', 'ignored') }}",
        "build/compiled.sql": "{{ source('up', 'ignored') }}",
    }
    usage = scan_usage(_project(tmp_path, files, project_yml))
    assert (sorted(usage.used("up")), usage.uncertain) == (["a", "b"], [])


def test_target_and_dbt_packages_are_skipped_even_under_a_scanned_folder(tmp_path):
    files = {
        "a.sql": "{{ source('up', 'a') }}",
        "target/compiled/a.sql": "{{ source('up', 'compiled') }}",
        "dbt_packages/pkg/models/p.sql": "{{ source('up', 'from_a_package') }}",
        "models/target/deep.sql": "{{ source('up', 'deep') }}",  # a model folder that happens to be named target
    }
    usage = scan_usage(_project(tmp_path, files, "name: down\nmodel-paths: ['.']\n"))
    assert sorted(usage.used("up")) == ["a", "deep"]


def test_legacy_source_paths_and_jinja_in_paths(tmp_path):
    project = _project(tmp_path, {"src/a.sql": "{{ source('up', 'a') }}"}, "name: down\nsource-paths: [src]\n")
    usage = scan_usage(project)
    assert usage.used("up") == {"a"}
    usage = scan_usage(_project(tmp_path / "x", {}, "name: down\nmodel-paths: [\"{{ env_var('M') }}\"]\n"))
    assert usage.uncertain == [
        Uncertain("dbt_project.yml", "sets model-paths with Jinja, so some files may be unseen", None)
    ]


@pytest.mark.parametrize(
    ("project_yml", "expected"),
    [
        (
            "name: down\nmodel-paths: 7\n",
            "dbt_project.yml: model-paths must be a list of folders (found 7): fix the file",
        ),
        ("- a\n", "is not a dbt project file (not a mapping): fix the file"),
        ("name: [\n", "dbt_project.yml is not valid YAML (line 2): fix the file"),
    ],
)
def test_a_broken_dbt_project_yml_is_an_input_error(tmp_path, project_yml, expected):
    with pytest.raises(InputError) as caught:
        scan_usage(_project(tmp_path, {}, project_yml))
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_the_project_folder_as_a_model_path_scans_each_file_once(tmp_path):
    project_yml = "name: down\nmodel-paths: ['.']\non-run-start: \"{{ source('up', x) }}\"\n"
    usage = scan_usage(_project(tmp_path, {"m.sql": "{{ source('up', 't') }}"}, project_yml))
    assert usage.used("up") == {"t"}
    assert [u.where for u in usage.uncertain] == ["dbt_project.yml:3"]
