"""Unit tests for meshkit.contract.diff: every change code and severity, from hand-made public model dicts."""

from __future__ import annotations

import copy

import pytest

from meshkit.contract.diff import BREAKING, INFO, PLANNED, WARNING, Change, normalise_type
from support.nodes import FUTURE, PAST, changed, codes, col, diff, model

# --- nothing changed --------------------------------------------------------------------------------


def test_identical_surfaces_have_no_changes():
    orders = model("orders")
    assert diff([orders], [copy.deepcopy(orders)]) == []
    assert diff([], []) == []


def test_severity_constants_and_breaking_property():
    assert (BREAKING, PLANNED, WARNING, INFO) == ("breaking", "planned-removal", "warning", "info")
    [change] = diff([model("orders")], [])
    assert change.breaking is True
    [planned] = diff([model("orders", deprecation_date=PAST)], [])
    assert planned.breaking is False


# --- removals -----------------------------------------------------------------------------------------


def test_model_removed_without_deprecation_is_breaking():
    [change] = diff([model("orders")], [])
    assert change == Change(
        "model-removed",
        BREAKING,
        "orders",
        "model.shop.orders",
        "orders was removed or renamed",
        None,
        "orders",
        None,
        (),
        None,
    )


def test_model_removed_before_its_deprecation_date_is_breaking():
    [change] = diff([model("orders", deprecation_date=FUTURE)], [])
    assert (change.code, change.severity) == ("model-removed", BREAKING)
    assert change.message == "orders was removed or renamed before its deprecation date 2025-06-30"


def test_model_removed_after_its_deprecation_date_is_a_planned_removal():
    [change] = diff([model("orders", deprecation_date=PAST)], [])
    assert (change.code, change.severity) == ("model-removed", PLANNED)
    assert change.message == "orders was removed or renamed (deprecated since 2025-01-01)"


def test_removal_on_the_deprecation_day_itself_is_planned():
    """One rule (meshkit.contract.model.is_deprecated): deprecated from the start of the day, as dbt warns."""
    [change] = diff([model("orders", deprecation_date="2025-01-15T00:00:00")], [])
    assert change.severity == PLANNED
    [change] = diff([model("orders", deprecation_date="2025-01-16T00:00:00")], [])
    assert change.severity == BREAKING


def test_unparseable_deprecation_date_counts_as_not_deprecated():
    [change] = diff([model("orders", deprecation_date="someday")], [])
    assert change.severity == BREAKING


def test_version_removed_before_and_after_deprecation():
    v1, v2 = model("customers", version=1, latest=2), model("customers", version=2, latest=2)
    [change] = diff([v1, v2], [v2])
    assert change == Change(
        "version-removed",
        BREAKING,
        "customers",
        "model.shop.customers.v1",
        "customers v1 was removed",
        "1",
        "customers v1",
        None,
        (),
        "models/schema.yml",
    )
    old_v1 = model("customers", version=1, latest=2, deprecation_date=PAST)
    [planned] = diff([old_v1, v2], [v2])
    assert (planned.code, planned.severity) == ("version-removed", PLANNED)
    assert planned.message == "customers v1 was removed (deprecated since 2025-01-01)"
    soon_v1 = model("customers", version=1, latest=2, deprecation_date=FUTURE)
    [early] = diff([soon_v1, v2], [v2])
    assert (early.code, early.severity) == ("version-removed", BREAKING)
    assert early.message == "customers v1 was removed before its deprecation date 2025-06-30"


def test_last_version_removed_is_a_model_removal():
    v1 = model("customers", version=1)
    [change] = diff([v1], [])
    assert (change.code, change.severity, change.version, change.before) == (
        "model-removed",
        BREAKING,
        "1",
        "customers v1",
    )


@pytest.mark.parametrize("access", ["protected", "private"])
def test_access_lowered_is_breaking(access):
    orders = model("orders")
    still_there = changed(orders, access=access, config={**orders["config"], "access": access})
    [change] = diff([orders], [], others=(still_there,))
    assert change == Change(
        "access-lowered",
        BREAKING,
        "orders",
        "model.shop.orders",
        f"orders is no longer public (access {access})",
        None,
        "public",
        access,
        (),
        "models/schema.yml",
    )


def test_access_lowered_after_deprecation_is_planned():
    orders = model("orders", deprecation_date=PAST)
    [change] = diff([orders], [], others=(changed(orders, access="protected"),))
    assert (change.code, change.severity) == ("access-lowered", PLANNED)


def test_access_lowered_reads_config_access_and_defaults_to_protected():
    orders = model("orders")
    via_config = changed(orders, access=None, config={"materialized": "table", "access": "private"})
    assert diff([orders], [], others=(via_config,))[0].after == "private"
    unset = changed(orders, access=None, config={"materialized": "table"})
    assert diff([orders], [], others=(unset,))[0].after == "protected"


# --- columns ------------------------------------------------------------------------------------------


def test_column_removed_is_breaking():
    orders = model("orders")
    [change] = diff([orders], [model("orders", columns=[col("id")])])
    assert change == Change(
        "column-removed",
        BREAKING,
        "orders",
        "model.shop.orders",
        "column email of orders was removed",
        None,
        "varchar",
        None,
        ("email",),
        "models/schema.yml",
    )


def test_column_names_compare_case_insensitively():
    assert diff([model("orders")], [model("orders", columns=[col("ID"), col("Email", "varchar")])]) == []


def test_column_added_is_info():
    [change] = diff(
        [model("orders")], [model("orders", columns=[col("id"), col("email", "varchar"), col("phone", "text")])]
    )
    assert (change.code, change.severity, change.columns, change.before, change.after) == (
        "column-added",
        INFO,
        ("phone",),
        None,
        "text",
    )


def test_type_changed_is_breaking():
    [change] = diff([model("orders")], [model("orders", columns=[col("id", "varchar"), col("email", "varchar")])])
    assert (change.code, change.severity, change.columns, change.before, change.after) == (
        "type-changed",
        BREAKING,
        ("id",),
        "integer",
        "varchar",
    )
    assert change.message == "column id of orders changed type integer → varchar"


@pytest.mark.parametrize(
    "before, after",
    [
        ("int", "integer"),
        ("INTEGER", "int4"),
        ("VARCHAR", "text"),
        ("varchar(256)", "character varying"),
        ("decimal(18,2)", "numeric(10,0)"),  # dbt ignores size, precision and scale
        ("NUMERIC(38, 0)", "decimal"),
        ("bool", "BOOLEAN"),
        ("timestamp without time zone", "timestamp"),
        ("timestamptz", "timestamp with time zone"),
        ("double precision", "float8"),
        ("bigint", "INT8"),
        ("string", "text"),
    ],
)
def test_type_respelled_is_info(before, after):
    [change] = diff([model("orders", columns=[col("x", before)])], [model("orders", columns=[col("x", after)])])
    assert (change.code, change.severity, change.before, change.after) == ("type-respelled", INFO, before, after)
    assert change.message == f"column x of orders type {before} → {after} (same type for dbt)"


def test_type_declared_where_none_was_is_info():
    [change] = diff([model("orders", columns=[col("x", None)])], [model("orders", columns=[col("x", "int")])])
    assert (change.code, change.severity) == ("type-respelled", INFO)


@pytest.mark.parametrize(
    "before, after",
    [
        ("integer", "bigint"),
        ("varchar", "integer"),
        ("timestamp", "timestamp with time zone"),
        ("date", "timestamp"),
        ("decimal(18,2)", "double"),
    ],
)
def test_real_type_changes_are_breaking(before, after):
    [change] = diff([model("orders", columns=[col("x", before)])], [model("orders", columns=[col("x", after)])])
    assert (change.code, change.severity) == ("type-changed", BREAKING)


def test_column_description_change_is_info():
    old = model("orders", columns=[col("id", description="the id")])
    new = model("orders", columns=[col("id", description="the order id")])
    assert codes(diff([old], [new])) == [("column-docs-changed", INFO)]


# --- constraints --------------------------------------------------------------------------------------


@pytest.mark.parametrize("materialized", ["table", "incremental"])
def test_enforced_column_constraint_removed_is_breaking(materialized):
    old = model("orders", materialized=materialized, columns=[col("id", "integer", "not_null", "primary_key")])
    new = model("orders", materialized=materialized, columns=[col("id", "integer", "not_null")])
    [change] = diff([old], [new], adapter="duckdb")
    assert (change.code, change.severity, change.columns, change.before) == (
        "constraint-removed",
        BREAKING,
        ("id",),
        "primary_key",
    )
    assert change.message == "enforced primary_key constraint on column id of orders was removed"


@pytest.mark.parametrize("materialized", ["view", "ephemeral", "materialized_view"])
def test_constraint_removed_from_a_non_enforcing_materialization_is_not_reported(materialized):
    old = model("orders", materialized=materialized, columns=[col("id", "integer", "not_null")])
    new = model("orders", materialized=materialized, columns=[col("id", "integer")])
    assert diff([old], [new]) == []


@pytest.mark.parametrize(
    "adapter, kind, breaking",
    [
        ("snowflake", "primary_key", False),  # snowflake does not enforce primary keys
        ("snowflake", "unique", False),
        ("snowflake", "not_null", True),
        ("bigquery", "foreign_key", False),
        ("redshift", "check", False),
        ("databricks", "check", True),
        ("postgres", "unique", True),
        ("duckdb", "check", True),
        ("some_new_adapter", "not_null", True),  # unknown adapters use dbt's default support table
        ("some_new_adapter", "primary_key", False),
    ],
)
def test_constraint_removal_counts_only_where_the_adapter_enforces_it(adapter, kind, breaking):
    old = model("orders", columns=[col("id", "integer", kind)])
    new = model("orders", columns=[col("id", "integer")])
    found = diff([old], [new], adapter=adapter)
    assert codes(found) == ([("constraint-removed", BREAKING)] if breaking else [])


def test_model_level_constraint_removed_is_breaking():
    pk = {"type": "primary_key", "columns": ["id"]}
    check = {"type": "check", "expression": "id > 0", "columns": ["id"]}
    old = model("orders", constraints=[pk, check])
    [change] = diff([old], [model("orders", constraints=[check])], adapter="postgres")
    assert (change.code, change.severity, change.columns, change.before) == (
        "constraint-removed",
        BREAKING,
        (),
        "primary_key on id",
    )
    assert change.message == "enforced model constraint primary_key on id of orders was removed"
    [expr] = diff([old], [model("orders", constraints=[pk])], adapter="postgres")
    assert expr.before == "check (id > 0) on id"
    assert diff([old], [model("orders", constraints=[check])], adapter="snowflake") == []


def test_constraint_kept_in_another_order_is_not_removed():
    old = model("orders", columns=[col("id", "integer", "not_null", "unique")])
    new = model("orders", columns=[col("id", "integer", "unique", "not_null")])
    assert diff([old], [new]) == []


def test_constraint_added_is_not_reported():
    assert (
        diff([model("orders")], [model("orders", columns=[col("id", "integer", "not_null"), col("email", "varchar")])])
        == []
    )


# --- contract, materialization, relation ---------------------------------------------------------------


def test_contract_disabled_is_breaking_and_enabled_is_info():
    [off] = diff([model("orders")], [model("orders", enforced=False)])
    assert (off.code, off.severity, off.before, off.after, off.message) == (
        "contract-disabled",
        BREAKING,
        "enforced",
        "not enforced",
        "orders no longer enforces its contract",
    )
    [on] = diff([model("orders", enforced=False)], [model("orders")])
    assert (on.code, on.severity) == ("contract-enforced", INFO)


def test_contract_read_from_config_when_the_node_has_none():
    old, new = model("orders"), model("orders", enforced=False)
    del old["contract"], new["contract"]
    assert codes(diff([old], [new])) == [("contract-disabled", BREAKING)]


def test_materialization_table_to_view_with_constraints_is_breaking():
    old = model("orders", columns=[col("id", "integer", "not_null")])
    new = model("orders", materialized="view", columns=[col("id", "integer", "not_null")])
    [change] = diff([old], [new])
    assert (change.code, change.severity, change.before, change.after) == (
        "materialization-changed",
        BREAKING,
        "table",
        "view",
    )
    assert change.message == "orders changed from table to view, which drops its enforced constraints"
    with_model_constraint = model("orders", constraints=[{"type": "primary_key", "columns": ["id"]}])
    moved = changed(with_model_constraint, config={"materialized": "view", "access": "public"})
    assert ("materialization-changed", BREAKING) in codes(diff([with_model_constraint], [moved]))


def test_materialization_changes_without_constraints_or_between_enforcing_kinds_are_not_reported():
    assert diff([model("orders")], [model("orders", materialized="view")]) == []
    constrained = model("orders", columns=[col("id", "integer", "not_null")])
    incremental = model("orders", materialized="incremental", columns=[col("id", "integer", "not_null")])
    assert diff([constrained], [incremental]) == []
    assert diff([model("orders", materialized="view", columns=[col("id", "integer", "not_null")])], [constrained]) == []


@pytest.mark.parametrize(
    "updates, after",
    [
        ({"schema": "marts"}, "warehouse.marts.orders"),
        ({"alias": "orders_final"}, "warehouse.analytics.orders_final"),
        ({"database": "other"}, "other.analytics.orders"),
    ],
)
def test_relation_moved_is_breaking(updates, after):
    old = model("orders")
    [change] = diff([old], [changed(old, **updates)])
    assert (change.code, change.severity, change.before, change.after) == (
        "relation-moved",
        BREAKING,
        "warehouse.analytics.orders",
        after,
    )
    assert change.message == f"orders moved from warehouse.analytics.orders to {after}"


# --- versions -----------------------------------------------------------------------------------------


def test_latest_version_moved_with_breaking_columns():
    v1 = model("customers", version=1, latest=1, columns=[col("id"), col("email", "varchar")])
    v2 = model("customers", version=2, latest=1, columns=[col("id")])
    moved_v1, moved_v2 = changed(v1, latest_version=2), changed(v2, latest_version=2)
    found = diff([v1, v2], [moved_v1, moved_v2])
    assert codes(found) == [("latest-version-moved", BREAKING)]
    [change] = found
    assert (change.model, change.unique_id, change.version, change.before, change.after, change.columns) == (
        "customers",
        "model.shop.customers.v1",
        "1",
        "v1",
        "v2",
        ("email",),
    )
    assert change.message == (
        "customers latest version moved v1 → v2, and unpinned refs now break: column email was removed"
    )


def test_latest_version_moved_with_compatible_columns_is_info():
    v1 = model("customers", version=1, latest=1, columns=[col("id")])
    v2 = model("customers", version=2, latest=2, columns=[col("id", "int"), col("email", "varchar")])
    found = diff([v1], [changed(v1, latest_version=2), v2])
    assert codes(found) == [("latest-version-moved", INFO), ("version-added", INFO)]  # v1's change sorts first
    assert found[0].message == "customers latest version moved v1 → v2 with compatible columns"
    assert found[1].message == "customers v2 is a new version"


def test_latest_version_moved_to_a_type_change_is_breaking():
    v1 = model("customers", version=1, latest=1, columns=[col("id", "integer")])
    v2 = model("customers", version=2, latest=2, columns=[col("id", "varchar")])
    found = diff([v1], [changed(v1, latest_version=2), v2])
    assert ("latest-version-moved", BREAKING) in codes(found)


def test_added_model_and_version_are_info():
    [added] = diff([], [model("orders")])
    assert added == Change(
        "model-added",
        INFO,
        "orders",
        "model.shop.orders",
        "orders is a new public model",
        None,
        None,
        "orders",
        (),
        "models/schema.yml",
    )
    v1 = model("customers", version=1, latest=1)
    v2 = model("customers", version=2, latest=1)
    [version] = diff([v1], [v1, v2])
    assert (version.code, version.severity, version.version, version.after) == (
        "version-added",
        INFO,
        "2",
        "customers v2",
    )


def test_first_version_of_a_new_model_is_a_model_addition():
    [added] = diff([], [model("customers", version=1)])
    assert (added.code, added.message) == ("model-added", "customers v1 is a new public model")


# --- deprecation and documentation ---------------------------------------------------------------------


def test_deprecation_added_changed_and_removed():
    plain, deprecated = model("orders"), model("orders", deprecation_date=FUTURE)
    [added] = diff([plain], [deprecated])
    assert (added.code, added.severity, added.before, added.after) == ("deprecation-added", WARNING, None, "2025-06-30")
    assert added.message == "orders is deprecated from 2025-06-30: consumers should migrate"
    [moved] = diff([deprecated], [model("orders", deprecation_date="2025-09-01T00:00:00")])
    assert (moved.code, moved.severity, moved.before, moved.after) == (
        "deprecation-changed",
        WARNING,
        "2025-06-30",
        "2025-09-01",
    )
    [removed] = diff([deprecated], [plain])
    assert (removed.code, removed.severity, removed.before, removed.after) == (
        "deprecation-removed",
        INFO,
        "2025-06-30",
        None,
    )
    assert removed.message == "orders is no longer deprecated"


@pytest.mark.parametrize("key, value", [("description", "new words"), ("tags", ["finance"]), ("meta", {"owner": "x"})])
def test_description_tags_and_meta_changes_are_info(key, value):
    old = model("orders")
    [change] = diff([old], [changed(old, **{key: value})])
    assert (change.code, change.severity, change.message) == (f"{key}-changed", INFO, f"orders {key} changed")


def test_empty_and_missing_docs_fields_are_the_same():
    old = model("orders")
    new = changed(old)
    for key in ("description", "tags", "meta"):
        del new[key]
    assert diff([old], [new]) == []


# --- ordering and files -------------------------------------------------------------------------------


def test_changes_sort_by_model_then_severity():
    old = [model("b_orders", deprecation_date=PAST), model("a_customers")]
    new_customers = model(
        "a_customers",
        columns=[col("id", "varchar"), col("email", "varchar"), col("new")],
        description="changed",
        deprecation_date=FUTURE,
    )
    found = diff(old, [new_customers])
    assert codes(found) == [
        ("type-changed", BREAKING),
        ("deprecation-added", WARNING),
        ("column-added", INFO),
        ("description-changed", INFO),
        ("model-removed", PLANNED),
    ]
    assert [c.model for c in found] == ["a_customers"] * 4 + ["b_orders"]


def test_file_is_the_yml_patch_or_the_sql_file():
    old = model("orders")
    assert diff([old], [model("orders", enforced=False)])[0].file == "models/schema.yml"
    no_patch = model("orders", enforced=False, patch_path=None)
    assert diff([old], [no_patch])[0].file == "models/orders.sql"


# --- normalise_type -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, None),
        ("", None),
        ("INT", "integer"),
        ("  Integer ", "integer"),
        ("varchar(255)", "varchar"),
        ("Character  Varying(10)", "varchar"),
        ("NUMERIC(38,0)", "decimal"),
        ("decimal", "decimal"),
        ("double precision", "double"),
        ("TIMESTAMPTZ", "timestamp with time zone"),
        ("timestamp without time zone", "timestamp"),
        ("bytea", "blob"),
        ("STRING", "varchar"),
        ("int8", "bigint"),
        ("date", "date"),
    ],
)
def test_normalise_type(raw, expected):
    assert normalise_type(raw) == expected


# --- regressions: bugs these tests found in meshkit/diff.py ---------------------------------------------


def test_normalise_type_keeps_what_follows_the_parameters():
    """normalise_type used to drop everything after the first "(", not just the parameters.

    Then `timestamp(6) with time zone` folds to `timestamp` and equals `timestamp without time zone`,
    a real breaking change classified as a harmless respelling; `varchar(10)[]` (an array) equals
    `varchar`. dbt strips only the size/precision/scale in parentheses.
    """
    assert normalise_type("timestamp(6) with time zone") == "timestamp with time zone", (
        "normalise_type drops the text after '(' (see docstring)"
    )
    assert normalise_type("varchar(10)[]") != normalise_type("varchar"), "an array type folds to its element type"


def test_tz_change_hidden_behind_a_precision_is_breaking():
    """The same bug seen from diff_surfaces: the column now holds a different type."""
    old = model("events", columns=[col("at", "timestamp(6) with time zone")])
    new = model("events", columns=[col("at", "timestamp(6) without time zone")])
    assert codes(diff([old], [new])) == [("type-changed", BREAKING)], (
        "a time-zone change is reported as type-respelled because normalise_type drops text after '('"
    )


def test_constraints_of_an_unenforced_contract_are_not_enforced():
    """dbt applies constraints only with an enforced contract; diff used to ignore that.

    Removing a constraint from (or changing the materialization of) a public model whose contract is
    not enforced changes nothing in the warehouse, yet it was reported as a breaking removal of an
    "enforced" constraint and failed the check. dbt's own same_contract returns early when the old
    contract was not enforced.
    """
    old = model("orders", enforced=False, columns=[col("id", "integer", "not_null")])
    assert diff([old], [model("orders", enforced=False, columns=[col("id", "integer")])]) == [], (
        "constraint-removed reported for a model whose contract is not enforced"
    )
    as_view = model("orders", enforced=False, materialized="view", columns=[col("id", "integer", "not_null")])
    assert diff([old], [as_view]) == [], "materialization-changed reported for a model whose contract is not enforced"


# --- an unversioned model that gains versions -------------------------------------------------------


def test_versioning_a_model_with_compatible_latest_is_not_breaking():
    """Unpinned refs follow latest_version, so `orders` -> `orders.v1` (latest) is judged as an edit."""
    old = model("orders")
    v1 = model("orders", version=1, latest=1, alias="orders")
    assert sorted(codes(diff([old], [v1]))) == [("model-versioned", INFO), ("version-added", INFO)]


def test_versioning_a_model_whose_latest_drops_a_column_or_moves_is_breaking():
    old = model("orders")
    v2 = model("orders", version=2, latest=2, columns=[col("id")])  # alias orders_v2 by default
    v1 = model("orders", version=1, latest=2)
    found = {(c.code, c.severity, c.unique_id) for c in diff([old], [v1, v2])}
    assert ("model-versioned", INFO, "model.shop.orders") in found
    assert ("column-removed", BREAKING, "model.shop.orders") in found
    assert ("relation-moved", BREAKING, "model.shop.orders") in found
    assert not any(code == "model-removed" for code, _, _ in found)
